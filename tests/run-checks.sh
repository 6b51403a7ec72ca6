#!/usr/bin/env bash
# `make check`: runs every test program; the last line is
# "N passed, N failed, N skipped". How results, plans, timeouts and skips are
# counted: tests/tap-count.sh. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-20}
# Per program; the slowest (the virtqueue stress test under TSan) takes about a minute.
UNIT_TIMEOUT=${KESTREL_UNIT_TIMEOUT:-600}
# The end-to-end test bounds its own test-host session (a budget per boot); this only catches a runaway.
E2E_TIMEOUT=${KESTREL_E2E_TIMEOUT:-3600}
export TAP_LOGS=$BUILD/test-logs
export TAP_EXPECTED_SKIPS=tests/expected-skips
# shellcheck source=tests/tap-count.sh
. tests/tap-count.sh
mkdir -p "$TAP_LOGS"

export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}

echo "== the test runner itself"
tap_run_component "runner-selftest" 120 bash tests/runner-selftest.sh

# bench/report.sh's table, chart and doc section from committed logs (no test host; ~15 s).
echo "== the guest-versus-host report, on sample logs"
tap_run_component "bench-report" 300 bash tests/bench-report-test.sh
# bench/soak.sh's arguments and bench/soak-report.sh's figures, leak checks and chart, on sample logs (~5 s).
echo "== the soak bench's report, on sample logs"
tap_run_component "soak-report" 120 bash tests/soak-test.sh

# The loader tests and the end-to-end tests use the default guest's Debian kernel.
echo "== guest kernel"
tap_run_component "guest-kernel" 900 bash tests/testhost/guest-kernel.sh "$BUILD"
sed -n 's/^# guest kernel: /guest kernel: /p' "$TAP_LOGS/guest-kernel.log"
if [ -s "$BUILD/guest/vmlinux" ] && grep -q '^ok - .*vmlinux' "$TAP_LOGS/guest-kernel.log"; then
    export KESTREL_TEST_VMLINUX=$PWD/$BUILD/guest/vmlinux
fi
if grep -q '^ok - the default guest builds' "$TAP_LOGS/guest-kernel.log"; then
    export KESTREL_TEST_BZIMAGE=$PWD/$BUILD/guest/vmlinuz
fi

echo "== unit tests (ASan + UBSan)"
for test in "$BUILD"/tests/test_*; do
    [ -x "$test" ] || continue
    tap_run_component "unit/$(basename "$test")" "$UNIT_TIMEOUT" "$test"
done

echo "== unit tests (TSan)"
for test in "$BUILD"/tests-tsan/test_*; do
    [ -x "$test" ] || continue
    # TSan is ~10x slower; the stress tests read this to scale down.
    tap_run_component "tsan/$(basename "$test")" "$UNIT_TIMEOUT" env KESTREL_STRESS_SCALE=tsan "$test"
done

echo "== fuzz targets (${FUZZ_CHECK_SECONDS}s each)"
for fuzzer in "$BUILD"/fuzz/fuzz_*; do
    [ -x "$fuzzer" ] || continue
    tap_run_component "fuzz/$(basename "$fuzzer")" $((FUZZ_CHECK_SECONDS + 120)) \
        bash tests/fuzz/run-fuzzer.sh --check "$(basename "$fuzzer")" "$FUZZ_CHECK_SECONDS"
done

echo "== end-to-end tests"
tap_run_component "e2e" "$E2E_TIMEOUT" bash tests/e2e/run.sh

tap_print_summary
[ "$tap_failed" -eq 0 ]
