#!/usr/bin/env bash
# session-result.sh SESSION-LOG STATUS ATTEMPT-LOG-DIR [NAME]
# Turns the guest session's output (tests/e2e/guest-session.sh, run through
# run-in-l1.sh) into TAP lines for run.sh; exits 1 if anything failed.
#
# run-in-l1.sh retries a stalled or dead L1 once. The retry is reported
# ("# retried: <why>", pointing at ATTEMPT-LOG-DIR/attempt-1.log), and the
# first attempt's results still count: a stall prints no "not ok" of its own,
# so a "not ok" there is a real result that a passing retry must not hide.
# The last attempt's lines are the session's results.
set -uo pipefail
log=$1 status=$2 attempt_logs=$3 name=${4:-guest session}
failed=0
note() { sed 's/^/# /'; }

grep -E '^run-in-l1: ' "$log" | note
sed -n "s|^run-in-l1: retried: \\(.*\\)|# retried: \\1 (first attempt: $attempt_logs/attempt-1.log)|p" "$log"

last_begin=$(grep -n '^E2E-SESSION-BEGIN' "$log" | tail -n 1 | cut -d: -f1)
if [ -z "$last_begin" ]; then
    note <"$log"
    echo "not ok - $name started (status $status)"
    exit 1
fi
earlier=$(head -n $((last_begin - 1)) "$log" | sed -n 's/^not ok - /not ok - first attempt (before the retry): /p')
if [ -n "$earlier" ]; then
    echo "$earlier"
    failed=1
fi
tail -n +"$last_begin" "$log" | grep -vE '^(E2E-SESSION-(BEGIN|END)|run-in-l1: )' |
    sed -E '/^(ok|not ok|#)( |$)/!s/^/# /'
if tail -n +"$last_begin" "$log" | grep -q '^not ok'; then
    failed=1
elif [ "$status" -ne 0 ]; then
    # The results all passed, yet the session (or run-in-l1.sh) failed: that must not pass quietly.
    echo "not ok - $name exited with status $status"
    failed=1
fi
if ! tail -n +"$last_begin" "$log" | grep -q '^E2E-SESSION-END'; then
    echo "not ok - $name finished (status $status)"
    failed=1
fi
exit $failed
