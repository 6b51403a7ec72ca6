#!/usr/bin/env bash
# The cost of --disk ...,trace=PATH natively (issue 14; target < 5%): 4 KiB
# random reads at QD32 through the whole virtio-blk device path (the harness
# driver, the I/O thread, io_uring, O_DIRECT when the file system allows) with
# tracing off and on, alternating rounds on one image, median of 11 each
# (bench/bench_disk.c --trace-overhead). Also writes the sample trace and the
# README's picture (docs/images/trace-plot.png) from a known pattern.
#
# Usage: bench/trace-overhead.sh [DIRECTORY]   (default /var/tmp; files created there are removed)
# The log goes to docs/bench-logs/trace-overhead-<UTC time>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
directory=${1:-/var/tmp}
make -j2 all build/bench/bench_disk >/dev/null
log=docs/bench-logs/trace-overhead-$(date -u +%Y-%m-%dT%H%MZ).log
{
    echo "# bench/trace-overhead.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
    echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
    build/bench/bench_disk --trace-overhead "$directory"
    sample=$(mktemp "${TMPDIR:-/tmp}/kestrel-sample-XXXXXX.trace")
    build/bench/bench_disk --trace-sample "$sample" "$directory"
    build/kestrel trace-plot --summary "$sample"
    build/kestrel trace-plot "$sample" -o docs/images/trace-plot.png
    rm -f "$sample"
} 2>&1 | tee "$log"
