#!/usr/bin/env bash
# bench/fuzz-campaign.sh [RUNS] [TARGET...]
# Runs each libFuzzer target for RUNS executions (default 10^7), for at most
# FUZZ_CAMPAIGN_SECONDS each (default two hours), through tests/fuzz/run-fuzzer.sh, and prints a markdown table of
# executions, executions per second, wall time and outcome, for
# docs/benchmarks.md.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
runs=${1:-10000000}
seconds=${FUZZ_CAMPAIGN_SECONDS:-7200}
shift || true
make -s fuzzers >/dev/null || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for binary in "$BUILD"/fuzz/fuzz_*; do targets+=("$(basename "$binary")"); done
fi

echo "commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M') UTC, runs $runs, at most ${seconds}s each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| target | executions | exec/s | wall time | result |"
echo "|---|---:|---:|---:|---|"
status=0
for target in "${targets[@]}"; do
    log=$(mktemp)
    bash tests/fuzz/run-fuzzer.sh --check --runs "$runs" "$target" "$seconds" >"$log" 2>&1
    result=$?
    # "# TARGET: N executions in Ws (S/s), exit E"
    read -r executed elapsed speed < <(sed -nE 's/^# [^:]+: ([0-9]+) executions in ([0-9]+)s \(([0-9]+)\/s\).*/\1 \2 \3/p' "$log")
    outcome="no crash"
    if [ "$result" -ne 0 ]; then outcome="FAILED (exit $result)"; status=1; cat "$log" >&2; fi
    echo "| $target | ${executed:-?} | ${speed:-?} | ${elapsed:-?} s | $outcome |"
    rm -f "$log"
done
exit $status
