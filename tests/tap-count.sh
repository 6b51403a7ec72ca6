# Counts the TAP results of test programs for tests/run-checks.sh (and its
# self-test, tests/runner-selftest.sh). Source it; it defines functions only.
#
# A program passes only by reporting: every "ok" line is a pass, every
# "not ok" a failure, every line with a "# SKIP reason" directive a skip
# (cmocka 1.1 prints its skips as "not ok N # SKIP name"). On top of what the
# program reports, one failure each for: exiting non-zero with no "not ok";
# running past its timeout; reporting nothing; reporting fewer results than
# its plans ("1..N" lines) add up to; a skip with no reason; and, under
# CI=true, a skip that tests/expected-skips does not excuse (below).
#
# Skips: a test skips with "ok - NAME # SKIP CATEGORY: details". The expected
# skips file lists each CATEGORY with a shell command that succeeds when the
# precondition really is missing on this machine (for example not-root:
# [ "$(id -u)" -ne 0 ]). Under CI=true a skip counts as a failure when its
# category is not listed, or when the command fails: the test could have run.

tap_passed=0
tap_failed=0
tap_skipped=0
tap_retries=()
tap_skip_list=()
TAP_LOGS=${TAP_LOGS:-build/test-logs}
TAP_EXPECTED_SKIPS=${TAP_EXPECTED_SKIPS:-tests/expected-skips}

# tap_skip_problem REASON: prints why a skip with REASON is not acceptable here, or nothing.
tap_skip_problem() {
    local reason=$1 category check
    [ -n "$reason" ] || { echo "a skip must name its reason"; return; }
    [ "${CI:-}" = true ] || return 0
    category=${reason%%:*}
    [ "$category" != "$reason" ] || { echo "the reason has no 'category:' (CI=true)"; return; }
    check=$(awk -v c="$category" '$1 == c { $1 = ""; sub(/^ +/, ""); print; exit }' "$TAP_EXPECTED_SKIPS" 2>/dev/null)
    if [ -z "$check" ]; then
        echo "category '$category' is not in $TAP_EXPECTED_SKIPS (CI=true)"
    elif ! bash -c "$check" >/dev/null 2>&1; then
        echo "'$category' does not hold on this machine ($check fails), so the test could have run (CI=true)"
    fi
}

# tap_run_component NAME TIMEOUT-SECONDS COMMAND...: runs COMMAND with its
# output in $TAP_LOGS/NAME.log, counts its results and prints one line.
tap_run_component() {
    local name=$1 limit=$2
    shift 2
    local log="$TAP_LOGS/$name.log"
    mkdir -p "$(dirname "$log")"
    local start=$SECONDS status=0
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 || status=$?

    local ok=0 bad=0 skipped=0 results=0 planned=0 line reason problem extra=()
    local skip_pattern='^(not )?ok([ ].*)?#[[:space:]]*[Ss][Kk][Ii][Pp]([[:space:]]+(.*))?$'
    while IFS= read -r line; do
        if [[ $line =~ ^1\.\.([0-9]+) ]]; then
            planned=$((planned + BASH_REMATCH[1]))
        elif [[ $line =~ $skip_pattern ]]; then
            results=$((results + 1))
            skipped=$((skipped + 1))
            reason=${BASH_REMATCH[4]:-}
            tap_skip_list+=("$name: ${line}")
            problem=$(tap_skip_problem "$reason")
            [ -z "$problem" ] || extra+=("not ok - $name: unexpected skip: $problem: $line")
        elif [[ $line =~ ^ok([[:space:]]|$) ]]; then
            results=$((results + 1))
            ok=$((ok + 1))
        elif [[ $line =~ ^not\ ok([[:space:]]|$) ]]; then
            results=$((results + 1))
            bad=$((bad + 1))
        elif [[ $line =~ ^#\ retried:\ (.*) ]]; then
            tap_retries+=("$name retried: ${BASH_REMATCH[1]}")
        fi
    done <"$log"

    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        extra+=("not ok - $name did not finish within ${limit}s (killed)")
    elif [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
        extra+=("not ok - $name exited with status $status")
    fi
    if [ "$results" -eq 0 ]; then
        extra+=("not ok - $name reported no test")  # a program that reported nothing has proved nothing
    elif [ "$results" -lt "$planned" ]; then
        extra+=("not ok - $name reported $results results of the $planned it planned")
    fi
    for line in "${extra[@]}"; do
        echo "$line" >>"$log"
        bad=$((bad + 1))
    done

    tap_passed=$((tap_passed + ok))
    tap_failed=$((tap_failed + bad))
    tap_skipped=$((tap_skipped + skipped))
    printf '%-40s %4d passed %4d failed %3d skipped  (%ds)\n' "$name" "$ok" "$bad" "$skipped" $((SECONDS - start))
    if [ "$bad" -ne 0 ]; then
        grep -E '^not ok' "$log" | grep -v -iE '#[[:space:]]*skip' | head -20 | sed 's/^/    /'
        echo "    log: $log (last lines follow)"
        tail -n 15 "$log" | sed 's/^/    | /'
    fi
}

# tap_print_summary: the retries and skips seen, then the last line "N passed, N failed, N skipped".
tap_print_summary() {
    local entry
    for entry in "${tap_retries[@]}"; do
        echo "$entry"
    done
    for entry in "${tap_skip_list[@]}"; do
        echo "skipped: $entry"
    done
    echo "$tap_passed passed, $tap_failed failed, $tap_skipped skipped"
}
