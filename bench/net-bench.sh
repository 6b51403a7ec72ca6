#!/usr/bin/env bash
# `bash bench/net-bench.sh`: the virtio-net table of issue 13, in ONE session of
# the nested test host (level 1 with 2 CPUs): iperf3 guest->host and
# host->guest with 1 and 4 streams, and the median and p99 of 1,000 TCP
# round trips of 64 bytes (bench/net_rtt.c), for kestrel's user, tap and
# tap+vhost against QEMU's, with the same guest (build/guest/initrd-net.img,
# 2 vCPUs, 1G; 2 queue pairs on a tap). bench/net-bench-in-l1.sh measures;
# this script makes the table. The session log and the table go to
# docs/bench-logs/net-bench-<time>.log.
#
# Serialize with other users of the test host: flock /work/l1.lock bash bench/net-bench.sh
#
# Environment: KESTREL_BENCH_NET_SECONDS (iperf3's seconds per run, 10),
# KESTREL_BENCH_NET_COLUMNS (default "kestrel-user kestrel-tap kestrel-vhost
# qemu-user qemu-tap qemu-vhost"; the kestrel columns are left out, with a
# note, when `kestrel run --help` has no --net), KESTREL_BENCH_L1_SMP (2).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${KESTREL_BENCH_NET_SECONDS:-10}
l1_smp=${KESTREL_BENCH_L1_SMP:-2}
for number in "$seconds" "$l1_smp"; do
    case $number in
        ''|*[!0-9]*|0) echo "kestrel: bench-net: '$number' is not a positive number" >&2; exit 2 ;;
    esac
done
columns=()
for column in ${KESTREL_BENCH_NET_COLUMNS:-kestrel-user kestrel-tap kestrel-vhost qemu-user qemu-tap qemu-vhost}; do
    case $column in
        qemu-user|qemu-tap|qemu-vhost) columns+=("qemu:${column#qemu-}") ;;
        kestrel-user|kestrel-tap|kestrel-vhost)
            if [ -x build/kestrel ] && build/kestrel run --help 2>&1 | grep -q -- '--net'; then
                columns+=("$repo/build/kestrel:${column#kestrel-}")
            else
                echo "# $column column left out: build/kestrel has no --net yet" >&2
            fi ;;
        *) echo "kestrel: bench-net: unknown column '$column' ({kestrel,qemu}-{user,tap,vhost})" >&2; exit 2 ;;
    esac
done
[ ${#columns[@]} -gt 0 ] || { echo "kestrel: bench-net: no column to measure" >&2; exit 2; }

bash tests/testhost/build-guest-net.sh >/dev/null
stamp=$(date -u +%Y-%m-%dT%H%MZ)
log=docs/bench-logs/net-bench-$stamp.log
work=$repo/build/bench-net
mkdir -p "$work" docs/bench-logs
session=$work/session.log
{
    echo "# bench-net: $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "# host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# one nested test-host session, level 1 with $l1_smp CPUs; iperf3 ${seconds}s per run"
} >"$log"
# Per column: a guest boot (up to a few minutes under load), 4 iperf3 runs, the round trips.
budget=$((300 + ${#columns[@]} * (4 * (seconds + 30) + 300)))
status=0
tests/testhost/run-in-l1.sh --smp "$l1_smp" --timeout "$budget" --log-dir "$work/l1-logs" \
    bench/net-bench-in-l1.sh /tmp/kestrel-bench-net "$seconds" "${columns[@]}" >"$session" 2>&1 || status=$?
cat "$session" >>"$log"
echo "# session exit status $status" >>"$log"

# The table: one column per NAME in the order measured, one row per measurement.
awk '
    $1 == "NET-COLUMN" { if (!($2 in seen)) { seen[$2] = 1; order[++count] = $2 } }
    $1 == "NET-IPERF" { value[$2, "iperf " $3 " " $4] = $5 }
    $1 == "NET-RTT" {
        for (i = 3; i <= NF; i++) {
            split($i, pair, "=")
            if (pair[1] == "median_us") value[$2, "median"] = pair[2]
            if (pair[1] == "p99_us") value[$2, "p99"] = pair[2]
        }
    }
    END {
        rows = "iperf guest-to-host 1|iperf guest-to-host 4|iperf host-to-guest 1|iperf host-to-guest 4|median|p99"
        split(rows, row, "|")
        split("iperf3 guest->host, 1 stream (Mbit/s)|iperf3 guest->host, 4 streams (Mbit/s)|" \
              "iperf3 host->guest, 1 stream (Mbit/s)|iperf3 host->guest, 4 streams (Mbit/s)|" \
              "TCP round trip, 64 B, median (us)|TCP round trip, 64 B, p99 (us)", label, "|")
        line = "| |"; rule = "|---|"
        for (c = 1; c <= count; c++) { line = line " " order[c] " |"; rule = rule "---:|" }
        print line; print rule
        for (r = 1; r <= 6; r++) {
            line = "| " label[r] " |"
            for (c = 1; c <= count; c++) {
                v = value[order[c], row[r]]
                line = line " " (v == "" ? "-" : v) " |"
            }
            print line
        }
    }' "$session" | tee -a "$log"
echo "bench-net: log in $log"
exit "$status"
