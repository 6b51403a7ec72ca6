# Sourced by tests/e2e/run.sh (its expect_failure, ok, not_ok, note, $work, $vmlinuz, $initrd, $KESTREL,
# $have_guest): --seccomp's usage, and the filters of the thread kinds that run without a guest driver.
# Natively on a PVM host (KESTREL_ALLOW_PVM=1 runs the vCPUs; the guest never boots): --seccomp off's
# warning, and the test seam of the ASan build (KESTREL_TEST_SECCOMP_VIOLATE=KIND makes that thread call
# acct, on no list) for the vmm, vcpu, rtc, trace-writer, console and api threads: kestrel must die with
# the line naming the kind and the call, status 1. The block-io and net threads start only when a guest's
# driver sets DRIVER_OK: tests/e2e/seccomp-session.sh proves those in the test host.
expect_failure "usage: --seccomp with a value other than on or off" 2 "--seccomp: 'maybe' is not on or off" \
    run --kernel "$vmlinuz" --seccomp maybe
expect_failure "usage: --seccomp with no value" 2 "--seccomp needs a value" run --kernel "$vmlinuz" --seccomp

seccomp_asan=$(dirname "$KESTREL")/kestrel-asan
seccomp_run() { # seccomp_run BINARY SECONDS ARGS...: status in $seccomp_status, stderr in $work/stderr
    local binary=$1 seconds=$2
    shift 2
    KESTREL_ALLOW_PVM=1 ASAN_OPTIONS=detect_leaks=1 timeout --preserve-status -s TERM "$seconds" "$binary" run --kernel "$vmlinuz" --initrd "$initrd" "$@" \
        >"$work/stdout" 2>"$work/stderr"
    seccomp_status=$?
    return "$seccomp_status"
}
if [ ! -d /sys/module/kvm_pvm ]; then
    ok "seccomp: native thread kinds # SKIP not-pvm: the native run needs the PVM override"
elif [ "$have_guest" = 0 ]; then
    not_ok "seccomp: native thread kinds (no guest kernel)"
elif [ ! -x "$seccomp_asan" ]; then
    not_ok "seccomp: $seccomp_asan is built (make check builds it)"
else
    seccomp_run "$KESTREL" 2 --console none --seccomp off </dev/null
    if [ "$(grep -c -- '--seccomp off' "$work/stderr")" = 1 ] && ! grep -q 'seccomp:' "$work/stderr"; then
        ok "seccomp: --seccomp off runs with one warning line"
    else
        not_ok "seccomp: --seccomp off (status $seccomp_status)"
        note <"$work/stderr"
    fi
    # Seccomp on (the default), every native kind busy: a disk trace writer, the API, the stdio console.
    truncate -s 16M "$work/seccomp-disk.img"
    seccomp_args="--disk $work/seccomp-disk.img,trace=$work/seccomp-trace.bin --api-sock $work/seccomp-api.sock --cpus 2"
    for kind in none vmm vcpu rtc trace-writer console api; do
        rm -f "$work/seccomp-api.sock"
        # shellcheck disable=SC2086 # seccomp_args is a list of words without spaces
        KESTREL_TEST_SECCOMP_VIOLATE=$kind seccomp_run "$seccomp_asan" 4 --console stdio $seccomp_args \
            < <(sleep 5) &
        runner=$!
        # The API thread filters itself on its first connection: make one, and a paused-resumed VM.
        for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$work/seccomp-api.sock" ] && break; sleep 0.2; done
        curl -s --max-time 2 --unix-socket "$work/seccomp-api.sock" http://localhost/stats >/dev/null 2>&1
        curl -s --max-time 2 -X PATCH --unix-socket "$work/seccomp-api.sock" http://localhost/vm \
            -d '{"state":"Paused"}' >/dev/null 2>&1
        curl -s --max-time 2 -X PATCH --unix-socket "$work/seccomp-api.sock" http://localhost/vm \
            -d '{"state":"Resumed"}' >/dev/null 2>&1
        wait "$runner"
        seccomp_status=$?
        if [ "$kind" = none ]; then
            # SIGTERM at the end: status 1 with "stopping the guest on signal", no filter tripped, and
            # LeakSanitizer's exit check (a tracer task and ptrace, under the VMM filter) ran to the end.
            if [ "$seccomp_status" = 1 ] && grep -q '^kestrel: stopping the guest on signal' "$work/stderr" &&
                    ! grep -qE 'seccomp|Sanitizer' "$work/stderr"; then
                ok "seccomp on: every native thread kind runs its filter without a violation"
            else
                not_ok "seccomp on: a native run tripped a filter (status $seccomp_status)"
            fi
        elif [ "$seccomp_status" = 1 ] && grep -qx \
                "kestrel: seccomp: $kind thread made a forbidden system call: acct (163)" "$work/stderr"; then
            ok "seccomp: a $kind thread's forbidden call kills kestrel with one line, status 1"
        else
            not_ok "seccomp: the $kind thread's test seam (status $seccomp_status)"
        fi
        note <"$work/stderr"
    done
    # Ctrl-A x on a terminal console: the console thread requests the stop, which signals each vCPU thread
    # (tgkill). Found missing in the test host's ctrl-a x boot: kestrel died of SIGSYS with no line, inside
    # pthread_kill's all-signals-blocked window.
    if command -v script >/dev/null 2>&1; then
        rm -f "$work/seccomp-ctrl-a.fifo"
        mkfifo "$work/seccomp-ctrl-a.fifo"
        KESTREL_ALLOW_PVM=1 timeout -k 5 20 script -qec "'$KESTREL' run --kernel '$vmlinuz' --initrd '$initrd' \
            --cpus 2 --console stdio 2>'$work/seccomp-ctrl-a.stderr'; echo SECCOMP-CTRL-A-STATUS=\$?" /dev/null \
            <"$work/seccomp-ctrl-a.fifo" >"$work/seccomp-ctrl-a.out" 2>&1 &
        ctrl_a_runner=$!
        exec 4>"$work/seccomp-ctrl-a.fifo"
        sleep 2
        printf '\001x' >&4
        wait "$ctrl_a_runner"
        exec 4>&-
        if grep -aq 'SECCOMP-CTRL-A-STATUS=0' "$work/seccomp-ctrl-a.out"; then
            ok "seccomp on: Ctrl-A x on a terminal console quits with status 0"
        else
            not_ok "seccomp on: Ctrl-A x on a terminal console (expected status 0)"
            note <"$work/seccomp-ctrl-a.out"
            note <"$work/seccomp-ctrl-a.stderr"
        fi
    else
        not_ok "seccomp: script(1) is installed (bsdutils) for the Ctrl-A x check"
    fi
fi
