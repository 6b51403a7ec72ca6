#!/usr/bin/env bash
# Self-test of make check's counting (tests/tap-count.sh): runs tiny fake test
# programs through it and checks the passed/failed/skipped counts. TAP output.
set -uo pipefail
cd "$(dirname "$0")/.."

# The cases set CI themselves; make check under CI=true must not change them.
unset CI
work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-runner-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0

# fake NAME BODY: a test program that runs BODY with sh.
fake() {
    printf '%s\n' "$2" >"$work/$1"
}

# expect NAME EXPECTED(passed/failed/skipped) [TIMEOUT]: counts fake NAME alone.
expect() {
    local name=$1 expected=$2 limit=${3:-20} counts
    counts=$(
        TAP_LOGS=$work/logs TAP_EXPECTED_SKIPS=$work/expected-skips
        . tests/tap-count.sh
        tap_run_component "$name" "$limit" sh "$work/$name" >/dev/null
        echo "$tap_passed/$tap_failed/$tap_skipped"
    )
    if [ "$counts" = "$expected" ]; then
        echo "ok - $name counts $expected (passed/failed/skipped)"
    else
        echo "not ok - $name counts $counts, expected $expected (passed/failed/skipped)"
        sed 's/^/# /' "$work/logs/$name.log"
        failed=1
    fi
}

printf '%s\n' 'missing-here  true' 'present-here  false' >"$work/expected-skips"

fake all-pass 'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"'
fake plan-3-prints-2 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b"'
fake plan-2-fails-1 'echo 1..2; echo "ok 1 - a"; echo "not ok 2 - b"; exit 1'
fake two-plans 'echo 1..1; echo "ok 1 - a"; echo 1..2; echo "ok 1 - b"; echo "ok 2 - c"'
fake skip-with-reason 'echo "ok 1 - a"; echo "ok - b # SKIP missing-here: nothing to test with"'
fake skip-without-reason 'echo "ok 1 - a"; echo "ok 2 - b # SKIP"'
fake cmocka-skip 'echo 1..2; echo "not ok 1 # SKIP test_a"; echo "ok 2 - test_b"'
fake hangs 'echo "ok 1 - started"; sleep 600'
fake dies-quietly 'echo "ok 1 - a"; exit 3'
fake says-nothing 'echo "nothing here"'
fake retried 'echo "# retried: L1 stalled while booting"; echo "ok 1 - a"'

expect all-pass 2/0/0
expect plan-3-prints-2 2/1/0
expect plan-2-fails-1 1/1/0
expect two-plans 3/0/0
expect skip-with-reason 1/0/1
expect skip-without-reason 1/1/1
expect cmocka-skip 1/0/1
expect hangs 1/1/0 2
expect dies-quietly 1/1/0
expect says-nothing 0/1/0

# Under CI=true a skip stands only if its category is listed and its check succeeds.
fake ci-listed-missing 'echo "ok - a # SKIP missing-here: not on this machine"'
fake ci-listed-present 'echo "ok - a # SKIP present-here: the test could have run"'
fake ci-unlisted 'echo "ok - a # SKIP who-knows: some reason"'
fake ci-no-category 'echo "ok - a # SKIP some reason"'
CI=true expect ci-listed-missing 0/0/1
CI=true expect ci-listed-present 0/1/1
CI=true expect ci-unlisted 0/1/1
CI=true expect ci-no-category 0/1/1
CI= expect ci-unlisted 0/0/1

# The summary names the retry and ends with the counts.
summary=$(
    TAP_LOGS=$work/logs TAP_EXPECTED_SKIPS=$work/expected-skips
    . tests/tap-count.sh
    tap_run_component retried 20 sh "$work/retried" >/dev/null
    tap_run_component skip-with-reason 20 sh "$work/skip-with-reason" >/dev/null
    tap_print_summary
)
if printf '%s\n' "$summary" | grep -qx 'retried retried: L1 stalled while booting' &&
   printf '%s\n' "$summary" | grep -q '^skipped: skip-with-reason: .*missing-here: nothing to test with' &&
   [ "$(printf '%s\n' "$summary" | tail -n 1)" = "2 passed, 0 failed, 1 skipped" ]; then
    echo "ok - the summary names retries and skips and ends 'N passed, N failed, N skipped'"
else
    echo "not ok - the summary"
    printf '%s\n' "$summary" | sed 's/^/# /'
    failed=1
fi

# The guest session's result (tests/e2e/session-result.sh) after a retry.
# expect_session NAME EXPECTED-STATUS PATTERN-THAT-MUST-APPEAR LOG-LINES...
# (SESSION_STATUS: the session's exit status, 0 unless given; SESSION_NAME: session-result.sh's NAME, if given)
expect_session() {
    local name=$1 expected=$2 pattern=$3 output status
    shift 3
    printf '%s\n' "$@" >"$work/$name.session"
    output=$(bash tests/e2e/session-result.sh "$work/$name.session" "${SESSION_STATUS:-0}" build/test-logs/e2e-l1 \
        ${SESSION_NAME:+"$SESSION_NAME"})
    status=$?
    if [ "$status" = "$expected" ] && printf '%s\n' "$output" | grep -qE -- "$pattern"; then
        echo "ok - session $name: status $expected, says '$pattern'"
    else
        echo "not ok - session $name: status $status (expected $expected), '$pattern' wanted"
        printf '%s\n' "$output" | sed 's/^/# /'
        failed=1
    fi
}
expect_session first-attempt-failed 1 '^not ok - first attempt \(before the retry\): panic: exit status 1$' \
    E2E-SESSION-BEGIN 'ok - boot' 'not ok - panic: exit status 1' \
    'run-in-l1: retried: no end marker within 1020s (L1 or the script stalled)' \
    E2E-SESSION-BEGIN 'ok - boot' 'ok - panic: exit status 1' E2E-SESSION-END
expect_session stalled-then-passed 0 '^# retried: L1 exited \(QEMU status 0\) before the script finished; L1 kernel: Kernel panic' \
    E2E-SESSION-BEGIN 'ok - boot' \
    'run-in-l1: retried: L1 exited (QEMU status 0) before the script finished; L1 kernel: Kernel panic - not syncing' \
    E2E-SESSION-BEGIN 'ok - boot' 'ok - panic: exit status 1' E2E-SESSION-END
expect_session never-started 1 '^not ok - guest session started' 'run-in-l1: the test host failed twice; giving up'
SESSION_STATUS=1 expect_session all-ok-but-status-1 1 '^not ok - guest session exited with status 1$' \
    E2E-SESSION-BEGIN 'ok - boot' E2E-SESSION-END
expect_session cut-short 1 '^not ok - guest session finished' E2E-SESSION-BEGIN 'ok - boot'
# A part of the guest session names itself in its failures.
SESSION_NAME="guest session (reboot part)" SESSION_STATUS=124 expect_session named-part 1 \
    '^not ok - guest session \(reboot part\) finished \(status 124\)$' E2E-SESSION-BEGIN 'ok - boot'
exit $failed
