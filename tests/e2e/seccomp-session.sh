#!/bin/sh
# sh seccomp-session.sh BUILD_DIR
# The seccomp checks that need a real guest's drivers (docs/seccomp.md), for the nested test host:
#   flock /work/l1.lock tests/testhost/run-in-l1.sh tests/e2e/seccomp-session.sh build
# A guest reads and writes its disk and pings through user networking under the default filters (release
# and ASan builds); then the ASan build's test seam makes the block-io and the net I/O thread (started only
# once a guest driver sets DRIVER_OK) call outside their lists: kestrel must die with the line, status 1.
# TAP lines between E2E-SESSION-BEGIN and E2E-SESSION-END.
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-seccomp-session.XXXXXX)
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
check() { label=$1; shift; if "$@"; then ok "$label"; else not_ok "$label"; fi; }
marker() { tr -d '\r' <"$out/$1.console" | grep -q "^$2"; }
status_is() { [ "$(cat "$out/$1.status")" = "$2" ]; }

echo E2E-SESSION-BEGIN
cat >"$out/guest.sh" <<'GUEST'
PATH=/usr/sbin:/usr/bin:/bin:/sbin
if [ -b /dev/vda ]; then
    dd if=/dev/vda of=/dev/null bs=4096 count=2048 2>/dev/null &&
        dd if=/dev/urandom of=/dev/vda bs=4096 count=256 seek=4096 conv=fsync 2>/dev/null &&
        echo E2E-SECCOMP-DISK-DONE
fi
if [ -d /sys/class/net/eth0 ]; then
    ping -c 3 -W 5 10.0.2.2 >/dev/null 2>&1 && echo E2E-SECCOMP-PING-DONE
fi
GUEST
for base in disk net; do
    bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-$base.img" "$out/guest.sh" \
        "$out/initrd-$base.img" >"$out/initrd-$base.log" 2>&1 || { sed 's/^/# /' "$out/initrd-$base.log"; not_ok "the $base guest's initrd builds"; }
done
truncate -s 256M "$out/disk.img"

boot() { # boot RUN BINARY INITRD [ARGS...]: status in $out/RUN.status
    run=$1 binary=$2 initrd=$3
    shift 3
    echo "# $run: booting at $(date -u +%H:%M:%S)"
    ASAN_OPTIONS=detect_leaks=1:exitcode=66 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout -k 10 240 "$binary" run --kernel "$vmlinuz" --initrd "$initrd" --memory 512M \
        --cmdline "console=ttyS0 panic=-1 quiet" "$@" </dev/null >"$out/$run.console" 2>"$out/$run.stderr"
    echo $? >"$out/$run.status"
    echo "# $run: status $(cat "$out/$run.status")"
    sed "s/^/# $run: /" "$out/$run.stderr" | tail -n 5
}

for flavour in release asan; do
    binary=$build/kestrel
    [ "$flavour" = asan ] && binary=$build/kestrel-asan
    boot "disk-$flavour" "$binary" "$out/initrd-disk.img" --cpus 2 --disk "$out/disk.img"
    check "seccomp on ($flavour): a guest reads and writes its disk, status 0" \
        sh -c "[ \$(cat '$out/disk-$flavour.status') = 0 ] && tr -d '\r' <'$out/disk-$flavour.console' | grep -q E2E-SECCOMP-DISK-DONE"
    boot "net-$flavour" "$binary" "$out/initrd-net.img" --net user
    check "seccomp on ($flavour): a guest pings through user networking, status 0" \
        sh -c "[ \$(cat '$out/net-$flavour.status') = 0 ] && tr -d '\r' <'$out/net-$flavour.console' | grep -q E2E-SECCOMP-PING-DONE"
done

for kind in block-io net; do
    if [ "$kind" = block-io ]; then
        set -- "$out/initrd-disk.img" --disk "$out/disk.img"
    else
        set -- "$out/initrd-net.img" --net user
    fi
    export KESTREL_TEST_SECCOMP_VIOLATE=$kind
    boot "seam-$kind" "$build/kestrel-asan" "$@"
    unset KESTREL_TEST_SECCOMP_VIOLATE
    check "seccomp: a $kind thread's forbidden call kills kestrel with one line, status 1" \
        sh -c "[ \$(cat '$out/seam-$kind.status') = 1 ] &&
               grep -qx 'kestrel: seccomp: $kind thread made a forbidden system call: acct (163)' '$out/seam-$kind.stderr'"
done
rm -rf "$out"
echo E2E-SESSION-END
exit "$failed"
