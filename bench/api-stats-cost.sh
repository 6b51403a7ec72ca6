#!/usr/bin/env bash
# The cost of one GET /stats (and GET /metrics) while a VM runs (issue 14):
# starts kestrel natively with --name and a virtio disk (on a PVM host with
# KESTREL_ALLOW_PVM=1, where the guest's kernel never gets far but the vCPU
# runs and exits), then makes N requests of each through curl --unix-socket
# and reports the client-side latency (median, p99) and the CPU time per
# request of kestrel's API thread (libmicrohttpd's "MHD-single", which also
# renders the statistics: utime + stime from /proc/PID/task/TID/stat, before
# and after; the whole process's would count the vCPU, busy the whole time).
# Usage: bash bench/api-stats-cost.sh [N]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
kestrel=${KESTREL:-build/kestrel}
kernel=${KESTREL_BENCH_KERNEL:-build/guest/vmlinuz}
work=$(mktemp -d)
export XDG_RUNTIME_DIR=$work
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
truncate -s 64M "$work/disk.img"
KESTREL_ALLOW_PVM=1 "$kestrel" run --kernel "$kernel" --kernel-entry bzimage --console none \
    --disk "$work/disk.img" --name bench </dev/null >/dev/null 2>"$work/stderr" &
pid=$!
socket=$work/kestrel/bench.sock
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "kestrel did not serve its API:" >&2; cat "$work/stderr" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
api_task=
for task in /proc/$pid/task/*; do [ "$(cat "$task/comm")" = MHD-single ] && api_task=$task; done
[ -n "$api_task" ] || { echo "no API thread (MHD-single) in kestrel $pid" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "$api_task/stat"; }
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1 /proc/loadavg) N=$count"
for path in /stats /metrics; do
    before=$(cpu_ticks)
    for _ in $(seq "$count"); do
        curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$socket" "http://localhost$path"
    done >"$work/times"
    after=$(cpu_ticks)
    bytes=$(curl -s --unix-socket "$socket" "http://localhost$path" | wc -c)
    sort -n "$work/times" | awk -v path="$path" -v n="$count" -v cpu=$((after - before)) -v hz="$ticks" \
        -v bytes="$bytes" '{ t[NR] = $1 } END {
            printf "GET %-8s %d requests, %d bytes each: latency median %.0f us, p99 %.0f us; API thread CPU %.1f us per request\n",
                path, n, bytes, t[int(n * 0.5)] * 1e6, t[int(n * 0.99)] * 1e6, cpu / hz / n * 1e6 }'
done
