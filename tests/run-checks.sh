#!/usr/bin/env bash
# `make check`: runs every test program and prints "N passed, N failed" last.
#
# Each test program reports TAP-style lines ("ok ..." / "not ok ..."); cmocka
# does so with CMOCKA_MESSAGE_OUTPUT=TAP. A program that exits non-zero
# without reporting a failure (a sanitizer abort, a crash) counts as one
# failure, so nothing can pass by dying quietly.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-20}
mkdir -p "$LOGS"

passed=0
failed=0

# run_component NAME COMMAND...
run_component() {
    local name=$1; shift
    local log="$LOGS/$name.log"
    mkdir -p "$(dirname "$log")"
    local start=$SECONDS
    "$@" >"$log" 2>&1
    local status=$?
    local ok bad
    ok=$(grep -cE '^ok( |$)' "$log")
    bad=$(grep -cE '^not ok( |$)' "$log")
    if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
        echo "not ok - $name exited with status $status" >>"$log"
    fi
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
        # A program that reported nothing has proved nothing.
        bad=1
        echo "not ok - $name reported no test" >>"$log"
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    printf '%-40s %4d passed %4d failed  (%ds)\n' "$name" "$ok" "$bad" $((SECONDS - start))
    if [ "$bad" -ne 0 ]; then
        grep -E '^not ok' "$log" | head -20 | sed 's/^/    /'
        echo "    log: $log (last lines follow)"
        tail -n 15 "$log" | sed 's/^/    | /'
    fi
}

export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}

echo "== unit tests (ASan + UBSan)"
for test in "$BUILD"/tests/test_*; do
    [ -x "$test" ] || continue
    run_component "unit/$(basename "$test")" "$test"
done

echo "== unit tests (TSan)"
for test in "$BUILD"/tests-tsan/test_*; do
    [ -x "$test" ] || continue
    # TSan is ~10x slower; the stress tests read this to scale down.
    run_component "tsan/$(basename "$test")" env KESTREL_STRESS_SCALE=tsan "$test"
done

echo "== fuzz targets (${FUZZ_CHECK_SECONDS}s each)"
for fuzzer in "$BUILD"/fuzz/fuzz_*; do
    [ -x "$fuzzer" ] || continue
    run_component "fuzz/$(basename "$fuzzer")" bash tests/fuzz/run-fuzzer.sh --check "$(basename "$fuzzer")" "$FUZZ_CHECK_SECONDS"
done

echo "== end-to-end tests"
if [ -f tests/e2e/run.sh ]; then
    run_component "e2e" bash tests/e2e/run.sh
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
