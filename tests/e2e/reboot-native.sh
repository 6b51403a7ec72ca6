#!/usr/bin/env bash
# reboot-native.sh KESTREL WORK REBOOTS: runs the tiny guest of tests/e2e/make_bzimage.c --reboot under KESTREL
# (natively: on a PVM host with KESTREL_ALLOW_PVM=1, which runs such code) for REBOOTS guest reboots, and
# prints what it measured, one "key value" a line:
#   boot1 FDS THREADS RSS_KIB     kestrel's open fds, threads and RSS while boot 1 waits for its go-ahead
#   boot2 ...                     the same in boot 2 (after the first reset)
#   bootN ...                     the same in the last boot (N = REBOOTS + 1)
#   status S                      kestrel's exit status after SIGTERM (1 expected)
# The guest's second vCPU never leaves its wait for INIT/SIPI. Leaves kestrel's stderr (with --stats) in WORK/reboot-native.err. Each boot writes "B" to the console
# and waits for one byte on it before it reboots, so every sample is taken with one whole boot up.
# Exits 1 when kestrel dies or a boot does not come within 10 s.
set -uo pipefail
kestrel=$1 work=$2 reboots=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$repo/src" -I"$repo/tests" -o "$work/make_bzimage" \
    "$repo/tests/e2e/make_bzimage.c" || exit 1
"$work/make_bzimage" "$work/reboot-bzImage" --reboot || exit 1
rm -f "$work/reboot-console" "$work/reboot-native.out"
mkfifo "$work/reboot-console" || exit 1
truncate -s 16M "$work/reboot-disk.img" || exit 1
# A disk with two queues and a user-mode NIC: their devices, I/O threads and eventfds are made and unmade every boot.
KESTREL_ALLOW_PVM=1 "$kestrel" run --kernel "$work/reboot-bzImage" --kernel-entry bzimage --memory 256M --stats \
    --cpus 2 --disk "$work/reboot-disk.img,queues=2" --net user \
    <"$work/reboot-console" >"$work/reboot-native.out" 2>"$work/reboot-native.err" &
pid=$!
exec 3>"$work/reboot-console"

boots_seen() { tr -cd B <"$work/reboot-native.out" | wc -c; }
wait_for_boot() { # wait_for_boot N: until the console shows N boots
    local tries=0
    while [ "$(boots_seen)" -lt "$1" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "kestrel died before boot $1" >&2; return 1; }
        tries=$((tries + 1))
        [ "$tries" -le 1000 ] || { echo "boot $1 did not come within 10 s" >&2; return 1; }
        sleep 0.01
    done
}
sample() { # sample LABEL
    local fds threads rss
    fds=$(ls "/proc/$pid/fd" | wc -l)
    threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    echo "$1 $fds $threads $rss"
}

result=0
last=$((reboots + 1))
for boot in $(seq 1 "$last"); do
    wait_for_boot "$boot" || { result=1; break; }
    case $boot in 1 | 2 | "$last") sample "boot$boot" ;; esac
    [ "$boot" -eq "$last" ] || printf g >&3
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
echo "status $?"
exec 3>&-
exit "$result"
