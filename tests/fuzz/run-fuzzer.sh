#!/usr/bin/env bash
# run-fuzzer.sh [--check] [--runs N] TARGET SECONDS
# Runs one libFuzzer target for a bounded time on a scratch copy of its seed
# corpus (tests/fuzz/corpus/TARGET), so new inputs never land in the repo.
# With --runs it stops after N executions (SECONDS stays the upper bound).
# With --check it prints only the summary and one TAP line (make check,
# bench/fuzz-campaign.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
check=0
runs_limit=()
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
if [ "${1:-}" = "--runs" ]; then runs_limit=(-runs="${2:?runs}"); shift 2; fi
target=${1:?target}
seconds=${2:?seconds}
BUILD=${BUILD:-build}
binary=$BUILD/fuzz/$target
[ -x "$binary" ] || { echo "run-fuzzer: no fuzz target $target (build it with make fuzzers)"; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -d "tests/fuzz/corpus/$target" ]; then
    cp -r "tests/fuzz/corpus/$target/." "$work/corpus/"
fi
artifacts=$BUILD/fuzz-artifacts/$target/
mkdir -p "$artifacts"

start=$SECONDS
"$binary" "${runs_limit[@]}" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts" \
    -rss_limit_mb=4096 "$work/corpus" >"$work/log" 2>&1
status=$?
elapsed=$((SECONDS - start))
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo 0)
speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo 0)
if [ "$check" -eq 0 ]; then
    cat "$work/log"
fi
echo "# $target: $runs executions in ${elapsed}s ($speed/s), exit $status"
if [ "$status" -eq 0 ]; then
    echo "ok - fuzz $target ran $runs executions without a crash"
else
    tail -n 40 "$work/log"
    echo "not ok - fuzz $target found a crash (artifact under $artifacts)"
fi
exit "$status"
