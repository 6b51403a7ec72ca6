#!/usr/bin/env bash
# End-to-end tests of build/kestrel (run by `make check`; TAP lines on stdout).
#
# Part 1, on this machine: every kind of bad input exits with status 2 and
# one line "kestrel: <problem>", quickly; on a PVM host a valid kernel is
# refused with one line and status 1; without /dev/kvm, status 1. If the
# Debian kernel cannot be fetched, that is a failure, but the checks that need
# only some kernel file still run against a synthetic bzImage
# (tests/e2e/make_bzimage.c).
#
# Part 2, where real guests can run: the guest session (tests/e2e/guest-session.sh)
# boots the Debian kernel with 1 and 2 vCPUs, the PVH vmlinux, a guest panic,
# a guest reboot, a triple fault and a SIGTERM to kestrel, then the disk, trace,
# API and keyboard checks, then the reboot checks. On a host whose /dev/kvm
# cannot boot stock kernels it runs inside the nested test host
# (tests/testhost/run-in-l1.sh) in three parts (boot, devices, reboot), each
# one level-1 session, so that L1's boot is paid three times but a stalled L1
# repeats only one part. Each part's time budget is a fixed part for L1 plus
# KESTREL_E2E_SECONDS_PER_BOOT for each guest boot it does. run-in-l1.sh
# retries a stalled L1 once: then "# retried: <why>" says so,
# build/test-logs/e2e-l1-PART/attempt-1.log keeps the first attempt whole, and
# a "not ok" of the first attempt still counts as a failure.
#
# Skips name a category of tests/expected-skips ("# SKIP not-root: ...").
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

KESTREL=${KESTREL:-$repo/build/kestrel}
QUICK_TIMEOUT=20
SECONDS_PER_BOOT=${KESTREL_E2E_SECONDS_PER_BOOT:-90}
L1_SECONDS=120
# The session prints a line at least once a boot, and a boot times out after 240 s (then the session
# reports it and goes on); silence longer than that plus a boot's set-up means L1 stalled.
IDLE_SECONDS=${KESTREL_E2E_IDLE_SECONDS:-480}
L1_LOG_DIR=$repo/build/test-logs/e2e-l1

work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
note() { sed 's/^/# /'; }

if [ ! -x "$KESTREL" ]; then
    not_ok "kestrel is built ($KESTREL)"
    exit 1
fi

# The real Debian kernel and the default guest initrd (cached by the script).
if bash tests/testhost/build-guest.sh >"$work/build-guest.log" 2>&1; then
    have_guest=1
    vmlinuz=$repo/build/guest/vmlinuz
    initrd=$repo/build/guest/initrd.img
    echo "# guest kernel package: $(bash tests/testhost/fetch-kernel.sh --describe)"
else
    have_guest=0
    note <"$work/build-guest.log"
    not_ok "the default guest builds (tests/testhost/build-guest.sh; fetching the kernel failed?)"
    vmlinuz=$work/synthetic-bzImage
    initrd=$work/synthetic-initrd
    echo "# the bad-input checks run against a synthetic bzImage"
    head -c 4096 /dev/zero >"$initrd"
fi
# Built every run, so the fallback cannot rot unseen.
if cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -Itests -o "$work/make_bzimage" tests/e2e/make_bzimage.c &&
   "$work/make_bzimage" "$work/synthetic-bzImage"; then
    ok "a synthetic bzImage is made (tests/e2e/make_bzimage.c)"
else
    not_ok "a synthetic bzImage is made (tests/e2e/make_bzimage.c)"
    [ "$have_guest" = 1 ] || exit 1
fi

# ---------------------------------------------------------------- bad input
# expect_failure NAME STATUS FRAGMENT KESTREL-ARGS...
# kestrel must exit with STATUS within QUICK_TIMEOUT, print nothing on
# stdout, and exactly one stderr line "kestrel: ..." containing FRAGMENT.
expect_failure() {
    local name=$1 expected=$2 fragment=$3
    shift 3
    # shellcheck disable=SC2086 # KESTREL_AS is a command prefix
    timeout "$QUICK_TIMEOUT" ${KESTREL_AS:-} "$KESTREL" "$@" </dev/null >"$work/stdout" 2>"$work/stderr"
    local status=$?
    local lines
    lines=$(wc -l <"$work/stderr")
    if [ "$status" -eq 124 ]; then
        not_ok "$name: kestrel hung (killed after ${QUICK_TIMEOUT}s)"
    elif [ "$status" -ne "$expected" ]; then
        not_ok "$name: exit status $status, expected $expected"
    elif [ "$lines" -ne 1 ]; then
        not_ok "$name: $lines lines on stderr, expected 1"
    elif ! grep -q '^kestrel: ' "$work/stderr"; then
        not_ok "$name: the error line does not start with 'kestrel: '"
    elif ! grep -qF -- "$fragment" "$work/stderr"; then
        not_ok "$name: the error does not mention '$fragment'"
    elif [ -s "$work/stdout" ]; then
        not_ok "$name: unexpected output on stdout"
    else
        ok "$name"
    fi
    note <"$work/stderr"
}

# Inputs made from the kernel and from nothing. Half the file ends inside the
# protected-mode code of both kernels (a bzImage may carry padding past it).
head -c $(($(stat -c %s "$vmlinuz") / 2)) "$vmlinuz" >"$work/truncated-bzImage"
head -c 1048576 /dev/urandom >"$work/random-bytes"
# An ELF for AArch64: a host ELF with e_machine (offset 18) patched to 183.
cp "$(type -P true)" "$work/aarch64.elf"
printf '\267\000' | dd of="$work/aarch64.elf" bs=1 seek=18 conv=notrunc status=none
truncate -s 200M "$work/sparse-200M-initrd"
long_cmdline=$(head -c 5000 /dev/zero | tr '\0' 'x')

expect_failure "usage: kernel missing" 2 "/nonexistent/bzImage" run --kernel /nonexistent/bzImage
expect_failure "usage: kernel unreadable (a directory)" 2 "$work" run --kernel "$work"
# Root reads any file, so the unreadable kernel is tried as user nobody, with
# a copy of kestrel that nobody can run wherever the build tree is.
if [ "$(id -u)" -eq 0 ]; then
    mkdir -m 755 "$work/public"
    chmod 711 "$work"
    cp "$KESTREL" "$work/public/kestrel"
    cp "$vmlinuz" "$work/public/unreadable-bzImage"
    chmod 000 "$work/public/unreadable-bzImage"
    KESTREL_AS="setpriv --reuid=65534 --regid=65534 --clear-groups" KESTREL=$work/public/kestrel expect_failure \
        "usage: kernel unreadable (no read permission)" 2 "Permission denied" run --kernel "$work/public/unreadable-bzImage"
else
    ok "usage: kernel unreadable (no read permission) # SKIP not-root: root reads any file, so this runs as root (as user nobody)"
fi
expect_failure "usage: kernel of random bytes" 2 "not a Linux kernel" run --kernel "$work/random-bytes"
expect_failure "usage: truncated bzImage" 2 "truncated" run --kernel "$work/truncated-bzImage"
expect_failure "usage: ELF for another architecture" 2 "not x86-64" run --kernel "$work/aarch64.elf"
expect_failure "usage: initrd missing" 2 "/nonexistent/initrd" run --kernel "$vmlinuz" --initrd /nonexistent/initrd
expect_failure "usage: 200M initrd with --memory 128M" 2 "does not fit" \
    run --kernel "$vmlinuz" --initrd "$work/sparse-200M-initrd" --memory 128M
expect_failure "usage: --memory 0" 2 "--memory must be greater than 0" run --kernel "$vmlinuz" --memory 0
. tests/e2e/memory-checks.sh
. tests/e2e/reboot-checks.sh
. tests/e2e/seccomp-checks.sh
expect_failure "usage: malformed size" 2 "--memory: '12X' is not a size" run --kernel "$vmlinuz" --memory 12X
expect_failure "usage: --cpus 0" 2 "--cpus must be at least 1" run --kernel "$vmlinuz" --cpus 0
expect_failure "usage: --cpus above kestrel's limit" 2 "more than kestrel supports" run --kernel "$vmlinuz" --cpus 300
if [ -e /dev/kvm ]; then
    expect_failure "usage: --cpus above KVM_CAP_MAX_VCPUS" 2 "more than this host's KVM allows" \
        run --kernel "$vmlinuz" --cpus 100000
else
    ok "usage: --cpus above KVM_CAP_MAX_VCPUS # SKIP no-kvm: no /dev/kvm here (checked in the guest session)"
fi
expect_failure "usage: command line longer than cmdline_size" 2 "cmdline_size" \
    run --kernel "$vmlinuz" --cmdline "$long_cmdline"
expect_failure "usage: unknown option" 2 "unknown option '--frobnicate'" run --kernel "$vmlinuz" --frobnicate
expect_failure "usage: unknown command" 2 "unknown command 'start'" start
expect_failure "usage: missing --kernel" 2 "--kernel" run --memory 256M
expect_failure "usage: option without its value" 2 "--cpus needs a value" run --kernel "$vmlinuz" --cpus
expect_failure "usage: bad console" 2 "serial9" run --kernel "$vmlinuz" --console serial9
expect_failure "usage: console file in a missing directory" 2 "/nonexistent/dir/console.log" \
    run --kernel "$vmlinuz" --console file:/nonexistent/dir/console.log
expect_failure "usage: bad --kernel-entry" 2 "--kernel-entry: 'bogus' is not auto, bzimage or pvh" \
    run --kernel "$vmlinuz" --kernel-entry bogus

# --------------------------------------------------------- bad --disk input
# Each case: status 2, one line naming the problem, and the image unchanged.
# --kernel-entry bzimage: the kernel loads without decompressing, so each run is quick.
disks=$work/disks
mkdir -m 755 "$disks"
head -c 1048576 /dev/urandom >"$disks/data.img"
: >"$disks/empty.img"
mkdir "$disks/directory.img"
cp "$disks/data.img" "$disks/readonly.img"
cp "$disks/data.img" "$disks/unreadable.img"
disk_kernel=(run --kernel "$vmlinuz" --kernel-entry bzimage --console none)
# expect_disk_failure NAME FRAGMENT IMAGE KESTREL-ARGS...: expect_failure, then IMAGE's SHA-256 unchanged.
expect_disk_failure() {
    local name=$1 fragment=$2 image=$3
    shift 3
    local before
    before=$(sha256sum <"$image")
    expect_failure "$name" 2 "$fragment" "$@"
    if [ "$(sha256sum <"$image")" = "$before" ]; then
        ok "$name: the image is unchanged"
    else
        not_ok "$name: the image changed"
    fi
}
expect_failure "disk: missing image" 2 "disk image $disks/missing.img does not exist" \
    "${disk_kernel[@]}" --disk "$disks/missing.img"
if [ -e "$disks/missing.img" ]; then not_ok "disk: a missing image is not created"; else ok "disk: a missing image is not created"; fi
expect_failure "disk: a directory" 2 "disk image $disks/directory.img is a directory" \
    "${disk_kernel[@]}" --disk "$disks/directory.img"
expect_disk_failure "disk: zero-length image" "disk image $disks/empty.img is empty (zero length)" "$disks/empty.img" \
    "${disk_kernel[@]}" --disk "$disks/empty.img"
# Root opens any file, so the permission cases run as user nobody, with copies nobody may run and read.
chmod 444 "$disks/readonly.img"
chmod 000 "$disks/unreadable.img"
if [ "$(id -u)" -eq 0 ]; then
    chmod 711 "$work"
    cp "$KESTREL" "$disks/kestrel"
    cp "$vmlinuz" "$disks/bzImage"
    chmod 755 "$disks/kestrel"
    chmod 644 "$disks/bzImage"
    user_as="setpriv --reuid=65534 --regid=65534 --clear-groups"
    user_kestrel=$disks/kestrel
    user_kernel=(run --kernel "$disks/bzImage" --kernel-entry bzimage --console none)
else
    user_as=${KESTREL_AS:-}
    user_kestrel=$KESTREL
    user_kernel=("${disk_kernel[@]}")
fi
KESTREL_AS=$user_as KESTREL=$user_kestrel expect_disk_failure "disk: unreadable image" \
    "cannot open disk image $disks/unreadable.img: Permission denied" \
    "$disks/unreadable.img" "${user_kernel[@]}" --disk "$disks/unreadable.img"
KESTREL_AS=$user_as KESTREL=$user_kestrel expect_disk_failure "disk: read-only file without readonly=on" \
    "disk image $disks/readonly.img is read-only; add readonly=on to use it" \
    "$disks/readonly.img" "${user_kernel[@]}" --disk "$disks/readonly.img"

# Another process holds the image's lock (tests/e2e/hold_lock.c), as a running kestrel would.
if cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$work/hold_lock" tests/e2e/hold_lock.c; then
    "$work/hold_lock" "$disks/data.img" >"$work/lock.ready" &
    holder=$!
    for _ in $(seq 100); do
        grep -q locked "$work/lock.ready" && break
        sleep 0.05
    done
    if grep -q locked "$work/lock.ready"; then
        expect_disk_failure "disk: image locked by another process" \
            "disk image $disks/data.img is locked by another process" "$disks/data.img" \
            "${disk_kernel[@]}" --disk "$disks/data.img"
        expect_disk_failure "disk: readonly=on image locked for writing by another process" \
            "disk image $disks/data.img is locked by another process" "$disks/data.img" \
            "${disk_kernel[@]}" --disk "$disks/data.img,readonly=on"
    else
        not_ok "disk: hold_lock took the image's lock within 5 s"
    fi
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
else
    not_ok "disk: tests/e2e/hold_lock.c builds"
fi

# The same image twice, spelt two ways: named as such, not as a lock held by "another process".
expect_disk_failure "disk: one image given twice" "disk image $disks/../disks/data.img is given twice" \
    "$disks/data.img" "${disk_kernel[@]}" --disk "$disks/data.img" --disk "$disks/../disks/data.img,readonly=on"

# Malformed --disk strings and values: the parser's errors reach the user as one line.
data=$disks/data.img
while IFS='|' read -r name fragment cpus disk; do
    expect_disk_failure "disk: $name" "$fragment" "$data" "${disk_kernel[@]}" --cpus "$cpus" --disk "$disk"
done <<CASES
unknown key|--disk $data: unknown key 'bogus'|1|$data,bogus=1
queues=0|--disk $data: queues must be at least 1|1|$data,queues=0
queues beyond the vCPUs|--disk $data: queues=4 is more than the 2 vCPUs|2|$data,queues=4
queues beyond the device limit (65)|queues=65 is more than a virtio-blk device's queue limit (64)|2|$data,queues=65
iothreads beyond the queues|iothreads=3 is more than its 2 queues|2|$data,iothreads=3
key without a value|--disk $data: 'readonly' is not key=value|1|$data,readonly
bad on/off|readonly='yes' is not on or off|1|$data,readonly=yes
bad cache mode|cache='unsafe' is not none or writeback|1|$data,cache=unsafe
non-numeric queues|queues='two' is not a number|1|$data,queues=two
key given twice|key 'cache' is given twice|1|$data,cache=none,cache=writeback
comma in a serial|commas separate keys, so a serial cannot contain one|1|$data,serial=ab,cd
serial too long|is longer than 20 bytes|1|$data,serial=123456789012345678901
empty path|--disk needs a path|1|,readonly=on
stray comma|an empty key=value|1|$data,
CASES

# --disk ...,trace=PATH (src/vm_traces.c): refused in one line, the image unchanged, and no trace or temporary
# file left in the trace's directory.
traces=$work/traces
mkdir -m 755 "$traces"
# expect_trace_failure NAME FRAGMENT KESTREL-ARGS...: expect_disk_failure, then nothing new in $traces.
expect_trace_failure() {
    local name=$1 fragment=$2
    shift 2
    local before
    before=$(ls -A "$traces")
    expect_disk_failure "$name" "$fragment" "$data" "$@"
    if [ "$(ls -A "$traces")" = "$before" ]; then ok "$name: nothing left on disk"; else not_ok "$name: files left in $traces: $(ls -A "$traces")"; fi
}
expect_trace_failure "disk trace: a missing directory" "--disk $data: trace file $traces/missing/a.trace: directory $traces/missing does not exist" \
    "${disk_kernel[@]}" --disk "$data,trace=$traces/missing/a.trace"
expect_trace_failure "disk trace: the disk image itself" "--disk $data: trace=$data is the disk image of --disk $data" \
    "${disk_kernel[@]}" --disk "$data,trace=$data"
expect_trace_failure "disk trace: the kernel file" "--disk $data: trace=$vmlinuz is the --kernel file" \
    "${disk_kernel[@]}" --disk "$data,trace=$vmlinuz"
expect_trace_failure "disk trace: a directory" "trace file $traces is a directory" \
    "${disk_kernel[@]}" --disk "$data,trace=$traces"
expect_trace_failure "disk trace: two disks, one trace" "trace=$traces/./one.trace is also the trace of --disk $data" \
    "${disk_kernel[@]}" --disk "$data,trace=$traces/one.trace" --disk "$disks/readonly.img,readonly=on,trace=$traces/./one.trace"
expect_trace_failure "disk trace: empty" "--disk $data: trace= is empty" "${disk_kernel[@]}" --disk "$data,trace="
# Unwritable: a directory only root may write, as user nobody (root writes anywhere).
if [ -n "$user_as" ]; then
    mkdir -m 755 "$traces/root-only"
    KESTREL_AS=$user_as KESTREL=$user_kestrel expect_trace_failure "disk trace: a directory kestrel may not write" \
        "cannot create trace file $traces/root-only/a.trace: Permission denied" \
        "${user_kernel[@]}" --disk "$data,readonly=on,trace=$traces/root-only/a.trace"
    : >"$traces/root-only/old.trace"
    chmod 644 "$traces/root-only/old.trace"
    chmod 777 "$traces/root-only"
    KESTREL_AS=$user_as KESTREL=$user_kestrel expect_trace_failure "disk trace: a file kestrel may not write" \
        "trace file $traces/root-only/old.trace is not writable: Permission denied" \
        "${user_kernel[@]}" --disk "$data,readonly=on,trace=$traces/root-only/old.trace"
    rm -rf "$traces/root-only"
else
    ok "disk trace: unwritable paths # SKIP not-root: no other user to be"
fi
# A good trace path passes this stage, and a VM that never ran leaves no trace behind.
if [ -d /sys/module/kvm_pvm ]; then
    expect_failure "disk trace: a good trace= reaches the next stage (PVM refusal)" 1 "PVM" "${disk_kernel[@]}" \
        --disk "$data,trace=$traces/good.trace"
    if [ -e "$traces/good.trace" ] || [ -n "$(ls -A "$traces")" ]; then not_ok "disk trace: no trace of a VM that never ran"; else ok "disk trace: no trace of a VM that never ran"; fi
else
    ok "disk trace: a good trace= reaches the next stage # SKIP not-pvm: /dev/kvm here is not PVM, and a real KVM would boot the guest"
fi
# kestrel trace-plot on files that are not traces: one line, status 2.
head -c 100 /dev/urandom >"$traces/random.trace"
printf 'KESTRLBT' >"$traces/short.trace"
expect_failure "trace-plot: not a trace" 2 "trace $traces/random.trace: not a kestrel block trace (bad magic)" \
    trace-plot --summary "$traces/random.trace"
expect_failure "trace-plot: a truncated header" 2 "trace $traces/short.trace: truncated header (8 bytes, 64 needed)" \
    trace-plot "$traces/short.trace" -o "$traces/plot.svg"
expect_failure "trace-plot: a missing trace" 2 "trace $traces/none.trace: does not exist" trace-plot --summary "$traces/none.trace"
expect_failure "trace-plot: no trace named" 2 "trace-plot needs a trace file" trace-plot --summary
if [ -e "$traces/plot.svg" ]; then not_ok "trace-plot: no plot of a bad trace"; else ok "trace-plot: no plot of a bad trace"; fi

# A good disk passes this stage: on a PVM host kestrel then stops at the PVM refusal (status 1), not at the disk.
if [ -d /sys/module/kvm_pvm ]; then
    expect_failure "disk: good --disk options reach the next stage (PVM refusal)" 1 "PVM" "${disk_kernel[@]}" --cpus 2 \
        --disk "$data,cache=writeback,queues=2,iothreads=1,serial=kestrel-0,packed=off,poll_us=32" \
        --disk "$disks/readonly.img,readonly=on"
else
    ok "disk: good --disk options reach the next stage # SKIP not-pvm: /dev/kvm here is not PVM, and a real KVM would boot the guest"
fi

# --------------------------------------------------------- bad --net input
# Malformed --net values (src/cli_net.c): status 2, one line naming the problem, before any host work.
# The host-dependent cases (tap permission, a host port in use, vhost=on unavailable) are the backends'.
while IFS='|' read -r name fragment net; do
    expect_failure "net: $name" 2 "$fragment" "${disk_kernel[@]}" --net "$net"
done <<'CASES'
no backend|--net: no backend given|
unknown backend|--net: unknown backend 'bridge' (user or tap)|bridge
bad MAC|--net tap: mac=52:54:00:12:34:5g: not six two-digit hex octets|tap,mac=52:54:00:12:34:5g
multicast MAC|--net user: mac=01:00:5e:00:00:01: a multicast address|user,mac=01:00:5e:00:00:01
all-zero MAC|--net tap: mac=00:00:00:00:00:00: all zero|tap,mac=00:00:00:00:00:00
unknown key|--net tap: unknown key 'bogus'|tap,bogus=1
key of the other backend (hostfwd on tap)|--net tap: hostfwd= is for --net user only|tap,hostfwd=tcp::2222-:22
key of the other backend (queues on user)|--net user: queues= is for --net tap only|user,queues=2
queues=0|--net tap: queues=0: must be at least 1|tap,queues=0
queues above the device limit|--net tap: queues=17: more than 16 queue pairs|tap,queues=17
iothreads=0|--net tap: iothreads must be at least 1|tap,iothreads=0
iothreads not a number|--net tap: iothreads='x' is not a number|tap,iothreads=x
iothreads above queues|--net tap: iothreads=3 is more than queues=2|tap,queues=2,iothreads=3
iothreads above user's one pair|--net user: iothreads=2 is more than its 1 queue pair|user,iothreads=2
bad vhost|--net tap: vhost=maybe: not on or off|tap,vhost=maybe
empty value|--net tap: ifname= is empty|tap,ifname=
key given twice|--net tap: key 'vhost' is given twice|tap,vhost=on,vhost=off
too-long ifname|--net tap: ifname=kestrel-tap-0123: longer than 15 bytes|tap,ifname=kestrel-tap-0123
ifname with a slash|--net tap: ifname= holds byte 0x2f|tap,ifname=a/b
bad hostfwd (no guest side)|--net user: hostfwd=tcp::2222: not [tcp|user,hostfwd=tcp::2222
hostfwd port 0|--net user: hostfwd=tcp::0-:22: host port '0' is not 1..65535|user,hostfwd=tcp::0-:22
hostfwd port above 65535|guest port '65536' is not 1..65535|user,hostfwd=tcp::2222-:65536
hostfwd bad address|host address '127.0.0.256' is not a dotted IPv4 address|user,hostfwd=tcp:127.0.0.256:2222-:22
hostfwd guest outside the user network|guest address 10.0.3.15 is not a guest address in the user network|user,hostfwd=tcp::2222-10.0.3.15:22
hostfwd host port twice|tcp host port 2222 is forwarded twice|user,hostfwd=tcp::2222-:22,hostfwd=tcp:0.0.0.0:2222-:23
CASES
expect_failure "net: one MAC on two NICs" 2 "--net: mac=52:54:00:12:34:56 is given to two NICs (--net 1 and 2)" \
    "${disk_kernel[@]}" --net tap,mac=52:54:00:12:34:56 --net user,mac=52-54-00-12-34-56
expect_failure "net: one ifname on two NICs" 2 "--net: ifname=kestrel0 is given to two NICs (--net 1 and 2)" \
    "${disk_kernel[@]}" --net tap,ifname=kestrel0 --net tap,ifname=kestrel0,vhost=off
expect_failure "net: iothreads above the pairs --cpus gives" 2 \
    "--net tap: iothreads=3 is more than its 2 queue pairs (one per vCPU unless queues= says)" \
    "${disk_kernel[@]}" --net tap,iothreads=3 --cpus 2
expect_failure "net: more than 8 NICs" 2 "--net: at most 8 NICs" "${disk_kernel[@]}" \
    --net user --net user --net user --net user --net user --net user --net user --net user --net user
# Good --net values pass the parser: on a PVM host kestrel then stops at the PVM refusal (status 1).
# Only user mode: it needs no privilege and no host port, whichever stage opens the backend.
if [ -d /sys/module/kvm_pvm ]; then
    expect_failure "net: good --net options reach the next stage (PVM refusal)" 1 "PVM" "${disk_kernel[@]}" \
        --net user,mac=52:54:00:12:34:56 --net user
else
    ok "net: good --net options reach the next stage # SKIP not-pvm: /dev/kvm here is not PVM, and a real KVM would boot the guest"
fi

# ------------------------------------------------- bad control-API input
# --api-sock / --name and the client commands (src/api/, src/control.c): status 2, one line. The runtime
# directory is a scratch one, so no real VM's socket is touched.
saved_runtime_dir=${XDG_RUNTIME_DIR-}
export XDG_RUNTIME_DIR=$work/xdg
mkdir -p "$XDG_RUNTIME_DIR/kestrel" && chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/kestrel"
long_socket=$work/$(printf 's%.0s' $(seq 120)).sock
expect_failure "api: socket path too long" 2 "longer than a socket allows (107)" "${disk_kernel[@]}" --api-sock "$long_socket"
expect_failure "api: socket in a missing directory" 2 "the directory does not exist" "${disk_kernel[@]}" \
    --api-sock "$work/no-such-dir/vm.sock"
expect_failure "api: empty name" 2 "--name: the name is empty" "${disk_kernel[@]}" --name ''
expect_failure "api: name with a slash" 2 "holds byte 0x2f" "${disk_kernel[@]}" --name a/b
expect_failure "api: name too long" 2 "longer than 64 bytes" "${disk_kernel[@]}" --name "$(printf 'n%.0s' $(seq 65))"
expect_failure "api: pause of an unknown VM" 2 "pause: no VM named 'nosuch'" pause nosuch
expect_failure "api: stop without a name" 2 "stop needs one VM name" stop
expect_failure "api: ctrl-alt-del of an unknown VM" 2 "ctrl-alt-del: no VM named 'nosuch'" ctrl-alt-del nosuch
expect_failure "api: stat of an unknown VM" 2 "stat: no VM named 'nosuch'" stat nosuch
expect_failure "api: stat with an unknown option" 2 "stat: unexpected '--bogus'" stat nosuch --bogus
# A name in use: something answers on its socket (a live kestrel would; socat stands in on every host).
socat -u UNIX-LISTEN:"$XDG_RUNTIME_DIR/kestrel/busy.sock",fork OPEN:/dev/null </dev/null >/dev/null 2>&1 &
busy_pid=$!
for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/kestrel/busy.sock" ] && break; sleep 0.1; done
expect_failure "api: a name already in use" 2 "--name busy: in use by a running kestrel" "${disk_kernel[@]}" --name busy
expect_failure "api: a socket path already in use" 2 "in use by a running kestrel" "${disk_kernel[@]}" \
    --api-sock "$XDG_RUNTIME_DIR/kestrel/busy.sock"
kill "$busy_pid" 2>/dev/null; wait "$busy_pid" 2>/dev/null
# A stale socket, as a killed kestrel leaves it: bound, then its process gone.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$XDG_RUNTIME_DIR/kestrel/stale.sock"
expect_failure "api: a client command on a stale socket" 2 "VM 'stale' is gone (a stale socket" pause stale
timeout "$QUICK_TIMEOUT" "$KESTREL" "${disk_kernel[@]}" --name stale </dev/null >/dev/null 2>"$work/stderr"
if grep -q "^kestrel: --name stale: removed a stale socket left by a kestrel that is gone$" "$work/stderr" &&
    [ ! -e "$XDG_RUNTIME_DIR/kestrel/stale.sock" ]; then
    ok "api: a stale socket is removed, in one line, and kestrel goes on"
else
    not_ok "api: a stale socket is removed, in one line, and kestrel goes on"
fi
note <"$work/stderr"
# Two live kestrels with one name: only where kestrel can run without a guest (KESTREL_ALLOW_PVM on PVM).
if [ -d /sys/module/kvm_pvm ]; then
    KESTREL_ALLOW_PVM=1 timeout 60 "$KESTREL" "${disk_kernel[@]}" --name twin </dev/null >/dev/null 2>&1 &
    twin_pid=$!
    for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/kestrel/twin.sock" ] && break; sleep 0.1; done
    expect_failure "api: two VMs with the same name" 2 "--name twin: in use by a running kestrel" \
        "${disk_kernel[@]}" --name twin
    if "$KESTREL" list | grep -q '^twin .* Running '; then ok "api: kestrel list shows the live VM"
    else not_ok "api: kestrel list shows the live VM"; fi
    if "$KESTREL" stat twin --once --json >"$work/stat.json" 2>"$work/stderr" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["interval_s"] > 0 and len(d["vcpus"]) == 1' \
            "$work/stat.json"; then ok "api: kestrel stat --once --json reads the live VM"
    else not_ok "api: kestrel stat --once --json reads the live VM"; note <"$work/stderr"; fi
    if "$KESTREL" pause twin && "$KESTREL" list | grep -q '^twin .* Paused ' && "$KESTREL" resume twin &&
        "$KESTREL" list | grep -q '^twin .* Running '; then ok "api: pause and resume a live VM"
    else not_ok "api: pause and resume a live VM"; fi
    # On PVM the guest never runs its keyboard driver: SendCtrlAltDel is refused (409), one line, status 1.
    expect_failure "api: ctrl-alt-del with no keyboard driver in the guest" 1 "no keyboard enabled" ctrl-alt-del twin
    kill -TERM "$twin_pid" 2>/dev/null; wait "$twin_pid" 2>/dev/null
    if [ ! -e "$XDG_RUNTIME_DIR/kestrel/twin.sock" ]; then ok "api: the socket goes with its kestrel"
    else not_ok "api: the socket goes with its kestrel"; fi
else
    ok "api: two VMs with the same name # SKIP not-pvm: a real KVM would boot the guest"
fi
if [ -n "$saved_runtime_dir" ]; then export XDG_RUNTIME_DIR=$saved_runtime_dir; else unset XDG_RUNTIME_DIR; fi

# --net input that only the host can refuse (src/vmm_net.c opens the backends with the input, before the VM):
# status 2, one line, and no tap left behind.
net_port=17931
socat -u TCP-LISTEN:$net_port,bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 &
net_holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
    (exec 3<>/dev/tcp/127.0.0.1/$net_port) 2>/dev/null && break
    sleep 0.2
done
expect_failure "net: hostfwd to a host port already in use" 2 "address already in use" "${disk_kernel[@]}" \
    --net user,hostfwd=tcp:127.0.0.1:$net_port-:22
kill "$net_holder" 2>/dev/null
wait "$net_holder" 2>/dev/null
if [ "$(id -u)" -ne 0 ]; then
    ok "net: a tap without permission # SKIP not-root: only root can take the permission away (as user nobody)"
elif [ ! -c /dev/net/tun ]; then
    ok "net: a tap without permission # SKIP no-tun: no /dev/net/tun here"
else
    KESTREL_AS="setpriv --reuid=65534 --regid=65534 --clear-groups" KESTREL=$work/public/kestrel expect_failure \
        "net: a tap without permission" 2 "permission denied" "${disk_kernel[@]}" --net tap,ifname=kestrelnp0
    if ip link show kestrelnp0 >/dev/null 2>&1; then
        not_ok "net: a refused tap leaves no interface behind (kestrelnp0 exists)"
    else
        ok "net: a refused tap leaves no interface behind"
    fi
fi
if [ -c /dev/vhost-net ]; then
    ok "net: vhost=on without /dev/vhost-net # SKIP vhost-net-present: checked where /dev/vhost-net is missing; here it exists"
elif [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    ok "net: vhost=on without /dev/vhost-net # SKIP not-root: a tap needs root here"
else
    expect_failure "net: vhost=on without /dev/vhost-net" 2 "vhost=on" "${disk_kernel[@]}" \
        --net tap,ifname=kestrelvh0,vhost=on
    if ip link show kestrelvh0 >/dev/null 2>&1; then
        not_ok "net: a tap refused for vhost=on is not left behind (kestrelvh0 exists)"
    else
        ok "net: a tap refused for vhost=on is not left behind"
    fi
fi

# Help and version go to stdout with status 0.
if "$KESTREL" --help | grep -q 'kestrel run' && "$KESTREL" run --help | grep -q -- '--cpus N' &&
   "$KESTREL" run --help | grep -q -- '--net tap\[,ifname=NAME\]' &&
   "$KESTREL" --version | grep -qE '^kestrel [0-9]'; then
    ok "--help, run --help and --version"
else
    not_ok "--help, run --help and --version"
fi

# A host without /dev/kvm: a private mount namespace with an empty /dev.
if [ "$(id -u)" -ne 0 ]; then
    ok "no /dev/kvm: one line, status 1 # SKIP not-root: needs root for a mount namespace"
elif ! unshare -m true 2>/dev/null; then
    ok "no /dev/kvm: one line, status 1 # SKIP no-mount-namespace: unshare -m fails here"
else
    timeout "$QUICK_TIMEOUT" unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh \
        "$KESTREL" run --kernel "$vmlinuz" --console none </dev/null >"$work/stdout" 2>"$work/stderr"
    status=$?
    if [ "$status" -eq 1 ] && [ "$(wc -l <"$work/stderr")" -eq 1 ] && grep -q '/dev/kvm' "$work/stderr"; then
        ok "no /dev/kvm: one line, status 1"
    else
        not_ok "no /dev/kvm: status $status"
    fi
    note <"$work/stderr"
fi

# A PVM host refuses a valid kernel, quickly, before running any vCPU.
if [ -d /sys/module/kvm_pvm ]; then
    start=$(date +%s%N)
    expect_failure "PVM host: a valid kernel is refused with one line" 1 "PVM" \
        run --kernel "$vmlinuz" --initrd "$initrd" --console none
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    if [ "$elapsed_ms" -lt 5000 ]; then
        ok "PVM host: the refusal comes within 5 s"
    else
        not_ok "PVM host: the refusal took ${elapsed_ms} ms"
    fi
    # The developer override: a warning instead of the refusal; SIGTERM still prints --stats.
    # It runs the guest (emulated ring 0) until SIGTERM, so it wants the real kernel.
    if [ "$have_guest" = 0 ]; then
        ok "PVM host with KESTREL_ALLOW_PVM=1 # SKIP no-guest-kernel: the Debian kernel could not be fetched"
    else
        KESTREL_ALLOW_PVM=1 KESTREL_EXEC_TIME_NS=1 timeout --preserve-status -s TERM 1 "$KESTREL" run --kernel "$vmlinuz" \
            --initrd "$initrd" --console none --stats </dev/null >"$work/stdout" 2>"$work/stderr"
        status=$?
        if [ "$status" -eq 1 ] && grep -q "^kestrel: KESTREL_ALLOW_PVM=1: .*will not boot; for measurements only" \
                "$work/stderr" && grep -q '^kestrel: stopping the guest on signal' "$work/stderr"; then
            ok "PVM host with KESTREL_ALLOW_PVM=1: one warning, runs until SIGTERM (status 1)"
        else
            not_ok "PVM host with KESTREL_ALLOW_PVM=1: status $status"
        fi
        if grep -qE '^startup: first KVM_RUN [0-9]+\.[0-9]{3} ms after exec$' "$work/stderr" &&
           grep -qE '^memory: RSS [0-9]+ KiB = guest RAM touched [1-9][0-9]* KiB \+ VMM overhead [1-9][0-9]* KiB$' \
                "$work/stderr"; then
            ok "--stats on SIGTERM: startup (from KESTREL_EXEC_TIME_NS) and memory lines"
        else
            not_ok "--stats on SIGTERM: startup and memory lines"
        fi
        note <"$work/stderr"
    fi
else
    ok "PVM host refusal # SKIP not-pvm: /dev/kvm here is not PVM"
fi
. tests/e2e/landlock-checks.sh
KESTREL_AS="env KESTREL_EXEC_TIME_NS=12x" expect_failure "usage: KESTREL_EXEC_TIME_NS not a number" 2 \
    "KESTREL_EXEC_TIME_NS" run --kernel "$vmlinuz" --stats
KESTREL_AS="env KESTREL_EXEC_TIME_NS=18446744073709551615" expect_failure \
    "usage: KESTREL_EXEC_TIME_NS later than kestrel's start" 2 "later than" run --kernel "$vmlinuz" --stats

# ------------------------------------------------------------ real guests
. tests/e2e/testhost-sessions.sh
