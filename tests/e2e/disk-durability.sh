#!/usr/bin/env bash
# disk-durability.sh VMM WORK RUNS [BOOT_TIMEOUT]
# kill -9 durability of a virtio-blk disk, RUNS times, where guests can run
# (in the test host on a PVM machine). VMM is a kestrel binary or "qemu"
# (tests/e2e/disk-vmm.sh). Used by tests/e2e/disk-checks.sh (make check) and
# bench/disk-durability.sh (many runs).
#
# Each run boots the disk guest with a fresh 16 MiB image. The guest writes
# record N (a 4 KiB block naming N and the run's nonce) at block N with
# O_DIRECT, flushes (fsync on the block device: a FLUSH request), and prints
# "ACK N" only after both returned. The host waits for a random number (1-8)
# of ACKs plus a random 0-999 ms, kills the VMM with SIGKILL, and reads the
# image: every record up to the last ACK on the console must be there, at its
# offset, with the run's nonce.
#
# Prints one "DURABILITY-RUN ..." line per run and "DURABILITY-SUMMARY
# runs=R good=G lost=L" (good: at least one ACK and nothing lost; lost: the
# acknowledged records missing over all runs). Exit status 0 when every run
# is good.
# run-in-l1.sh runs scripts with sh: this one needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 VMM WORK RUNS [BOOT_TIMEOUT]" >&2
    exit 2
fi
vmm=$1 work=$2 runs=$3 boot_timeout=${4:-240}
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
disk_initrd=$repo/build/guest/initrd-disk.img
block=4096
mkdir -p "$work"

cat >"$work/writer.sh" <<'GUEST'
PATH=/usr/sbin:/usr/bin:/bin
nonce=$(sed -n 's/.*durability_nonce=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
echo "DURABILITY-WRITER $nonce"
n=1
# 4095 records fill the 16 MiB image (block 0 is left alone); the host kills the VMM long before.
while [ "$n" -le 4095 ]; do
    printf 'KESTREL-RECORD %08d %s\n' "$n" "$nonce" >/tmp/record
    if ! dd if=/tmp/record of=/dev/vda bs=4096 count=1 seek="$n" conv=sync,fsync oflag=direct 2>/dev/null; then
        echo "WRITE-FAILED $n"
        break
    fi
    echo "ACK $n"
    n=$((n + 1))
done
echo DURABILITY-WRITER-DONE
sleep 600
GUEST
if ! bash "$repo/tests/testhost/add-test-script.sh" "$disk_initrd" "$work/writer.sh" "$work/initrd-writer.img" \
        >"$work/initrd.log" 2>&1; then
    sed 's/^/# /' "$work/initrd.log"
    echo "DURABILITY-SUMMARY runs=$runs good=0 lost=0 (no initrd)"
    exit 1
fi

random_below() { echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1)); }
last_ack() { tr -d '\r' <"$1" | sed -n 's/^ACK \([0-9]*\)$/\1/p' | tail -n 1; }

good=0 lost_total=0
for run in $(seq 1 "$runs"); do
    image=$work/run-$run.img console=$work/run-$run.console
    rm -f "$image"
    truncate -s 16M "$image"
    nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    target=$((1 + $(random_below 8)))
    delay_ms=$(random_below 1000)
    # disk-vmm.sh execs the VMM, so $! is the VMM itself.
    bash "$repo/tests/e2e/disk-vmm.sh" "$vmm" "$vmlinuz" "$work/initrd-writer.img" 1 512M \
        "console=ttyS0 panic=-1 quiet durability_nonce=$nonce" "$image" </dev/null >"$console" 2>"$work/run-$run.stderr" &
    pid=$!
    start=$SECONDS why=
    while :; do
        acked=$(last_ack "$console")
        if [ "${acked:-0}" -ge "$target" ]; then
            sleep "0.$(printf %03d "$delay_ms")"
            kill -KILL "$pid" 2>/dev/null || why="the VMM had already exited"
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            why="the VMM exited before $target ACKs"
            break
        fi
        if [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
            why="no $target ACKs within ${boot_timeout}s"
            kill -KILL "$pid" 2>/dev/null
            break
        fi
        sleep 0.2
    done
    wait "$pid" 2>/dev/null
    status=$?
    acked=$(last_ack "$console")
    acked=${acked:-0}
    # Records found on the image at their own offset, with this run's nonce.
    present=$(grep -a -b -o "KESTREL-RECORD [0-9]\{8\} $nonce" "$image" |
        awk -F'[: ]' -v block="$block" '{ n = $3 + 0; if ($1 == n * block) print n }' | sort -n | uniq)
    lost=$(printf '%s\n' "$present" | awk -v acked="$acked" 'NF { have[$1] = 1 }
        END { missing = 0; for (n = 1; n <= acked; n++) if (!(n in have)) missing++; print missing }')
    beyond=$(printf '%s\n' "$present" | awk -v acked="$acked" 'NF && $1 > acked' | wc -l)
    lost_total=$((lost_total + lost))
    [ "$acked" -ge 1 ] && [ "$lost" = 0 ] && [ -z "$why" ] && good=$((good + 1))
    echo "DURABILITY-RUN $run acked=$acked lost=$lost beyond_last_ack=$beyond target=$target delay_ms=$delay_ms" \
        "status=$status${why:+ ($why)}"
    if [ -n "$why" ] || [ "$lost" != 0 ]; then
        tail -n 5 "$console" | tr -d '\r' | sed "s/^/# run $run console: /"
        tail -n 5 "$work/run-$run.stderr" | sed "s/^/# run $run stderr: /"
    fi
    rm -f "$image"
done
echo "DURABILITY-SUMMARY runs=$runs good=$good lost=$lost_total"
[ "$good" = "$runs" ]
