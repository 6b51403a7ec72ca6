# The numbered TAP check of the script tests (bench-report-test.sh, soak-test.sh); sourced (bash), defines
# functions only. The caller sets $work (a scratch directory), count=0 and failed=0.

# check NAME COMMAND...: one TAP result "ok N - NAME"; on failure the command's output follows as comments.
check() {
    local name=$1
    shift
    count=$((count + 1))
    if "$@" >"$work/check.out" 2>&1; then
        echo "ok $count - $name"
    else
        echo "not ok $count - $name"
        sed 's/^/# /' "$work/check.out"
        failed=1
    fi
}
