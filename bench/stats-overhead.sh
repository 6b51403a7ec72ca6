#!/usr/bin/env bash
# The cost of the per-virtqueue counters (docs/stats.md), natively: the same
# benchmarks built twice, with the counters (build/) and with them compiled out
# (-DKESTREL_NO_QUEUE_STATS, build/nostats/), run alternately in one session.
#   1. bench_disk's device path, 4 KiB random reads at QD32 (a split virtqueue,
#      virtio-blk, its I/O thread and io_uring) on a file in DIRECTORY: reads/s.
#      On tmpfs (the default, /dev/shm) the reads come from memory, so the
#      device path's CPU cost is what limits it and the counters show most.
#   2. bench_virtq's device side alone (pop + push, ns per request): the
#      counters' cost per request without any I/O around it.
# Usage: bench/stats-overhead.sh [PAIRS] [DIRECTORY]   (default 5 pairs, /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
directory=${2:-/dev/shm}
make -s -j2 build/bench/bench_disk build/bench/bench_virtq >&2
make -s -j2 BUILD=build/nostats CFLAGS="-O2 -DKESTREL_NO_QUEUE_STATS" \
    build/nostats/bench/bench_disk build/nostats/bench/bench_virtq >&2

# The device path's QD32 reads/s of one bench_disk run (4th column of the "| 32 |" row).
qd32() { "$1" "$directory" | awk -F'|' '$2 ~ /^ *32 *$/ { split($5, a, " "); print a[1] }'; }
# bench_virtq's split-ring ns per block-shaped request.
device_ns() { "$1" --quick | awk -F'|' '/3 descriptors/ { gsub(/ /, "", $3); print $3; exit }'; }

on_disk=() off_disk=() on_ns=() off_ns=()
for ((i = 0; i < pairs; i++)); do
    # Alternate which goes first, so a drift in the shared host's load hits both alike.
    if ((i % 2 == 0)); then
        on_disk+=("$(qd32 build/bench/bench_disk)"); off_disk+=("$(qd32 build/nostats/bench/bench_disk)")
    else
        off_disk+=("$(qd32 build/nostats/bench/bench_disk)"); on_disk+=("$(qd32 build/bench/bench_disk)")
    fi
    on_ns+=("$(device_ns build/bench/bench_virtq)"); off_ns+=("$(device_ns build/nostats/bench/bench_virtq)")
    echo "pair $((i + 1)): QD32 reads/s on ${on_disk[-1]} off ${off_disk[-1]}; pop+push ns on ${on_ns[-1]} off ${off_ns[-1]}" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mon=$(median "${on_disk[@]}") moff=$(median "${off_disk[@]}")
non=$(median "${on_ns[@]}") noff=$(median "${off_ns[@]}")
echo "Per-virtqueue counters, on vs compiled out ($(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git rev-parse --short HEAD), $pairs alternating pairs, medians)"
echo
echo "| measure | counters on | compiled out | cost |"
echo "|---|---:|---:|---:|"
awk -v on="$mon" -v off="$moff" 'BEGIN { printf "| device path, 4K randread QD32, reads/s (%s) | %.0f | %.0f | %+.2f%% |\n", "'"$directory"'", on, off, (off - on) / off * 100 }'
awk -v on="$non" -v off="$noff" 'BEGIN { printf "| device side pop + push, ns per block-shaped request | %.1f | %.1f | %+.1f ns |\n", on, off, on - off }'
echo
echo "runs: on ${on_disk[*]} / off ${off_disk[*]} reads/s; on ${on_ns[*]} / off ${off_ns[*]} ns"
