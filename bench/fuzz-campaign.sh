#!/usr/bin/env bash
# bench/fuzz-campaign.sh [RUNS] [TARGET...]
# Runs each libFuzzer target for RUNS executions (default 10^7) on a scratch
# copy of its seed corpus, and prints a markdown table of executions,
# executions per second, wall time and outcome, for docs/benchmarks.md.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
runs=${1:-10000000}
shift || true
make -s fuzzers >/dev/null || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for binary in "$BUILD"/fuzz/fuzz_*; do targets+=("$(basename "$binary")"); done
fi

echo "| target | executions | exec/s | wall time | result |"
echo "|---|---:|---:|---:|---|"
status=0
for target in "${targets[@]}"; do
    work=$(mktemp -d)
    mkdir -p "$work/corpus" "$BUILD/fuzz-artifacts/$target"
    [ -d "tests/fuzz/corpus/$target" ] && cp -r "tests/fuzz/corpus/$target/." "$work/corpus/"
    start=$(date +%s)
    "$BUILD/fuzz/$target" -runs="$runs" -print_final_stats=1 -rss_limit_mb=4096 \
        -artifact_prefix="$BUILD/fuzz-artifacts/$target/" "$work/corpus" >"$work/log" 2>&1
    result=$?
    elapsed=$(( $(date +%s) - start ))
    executed=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
    speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
    outcome="no crash"
    if [ "$result" -ne 0 ]; then outcome="FAILED (exit $result)"; status=1; tail -30 "$work/log" >&2; fi
    echo "| $target | ${executed:-?} | ${speed:-?} | ${elapsed} s | $outcome |"
    rm -rf "$work"
done
exit $status
