# Sourced by tests/e2e/run.sh (its expect_failure, ok, not_ok, note, $work, $vmlinuz, $initrd, $have_guest,
# $repo): --landlock's bad input, and the sandbox of a real kestrel natively. There kestrel-asan runs with the
# PVM override (the guest never boots, but every device, thread and file of the VM is set up) and its test seam
# KESTREL_TEST_LANDLOCK_OPEN makes a thread started after the sandbox open paths and report each errno in
# one line: the kernel and the disk open, a file beside them does not. The whole guest suite then runs with
# Landlock on (the default) in the test host.
expect_failure "usage: --landlock with a bad value" 2 "--landlock: 'maybe' is not on or off" \
    run --kernel "$vmlinuz" --landlock maybe
expect_failure "usage: --landlock without a value" 2 "--landlock needs a value" run --kernel "$vmlinuz" --landlock

landlock_kestrel=$repo/build/kestrel-asan
# landlock_run NAME [KESTREL-ARGS...]: kestrel-asan for 2 s natively, then SIGTERM; stderr in $work/NAME.stderr.
landlock_run() {
    local name=$1
    shift
    KESTREL_ALLOW_PVM=1 KESTREL_TEST_LANDLOCK_OPEN="$work/landlock/outside:$vmlinuz:$work/landlock/disk.img" \
        XDG_RUNTIME_DIR="$work/landlock/run" timeout --preserve-status -s TERM 2 "$landlock_kestrel" run \
        --kernel "$vmlinuz" --initrd "$initrd" --stats "$@" </dev/null >/dev/null 2>"$work/$name.stderr"
}
landlock_probe() { # landlock_probe NAME PATH: "ok" or the errno name the seam reported for PATH
    sed -n "s|^kestrel: landlock test: open $2: ||p" "$work/$1.stderr"
}
if [ ! -d /sys/module/kvm_pvm ]; then
    ok "landlock: a real kestrel's sandbox natively # SKIP not-pvm: the native run needs the PVM override"
elif [ "$have_guest" = 0 ] || [ ! -x "$landlock_kestrel" ]; then
    not_ok "landlock: a real kestrel's sandbox natively (no guest kernel or no $landlock_kestrel)"
else
    mkdir -p "$work/landlock/traces" "$work/landlock/run"
    chmod 700 "$work/landlock/run"
    echo outside >"$work/landlock/outside"
    truncate -s 64M "$work/landlock/disk.img"
    landlock_run landlock-on --console "file:$work/landlock/console.log" --name landlocked \
        --disk "$work/landlock/disk.img,trace=$work/landlock/traces/disk.trace"
    status=$?
    state=$(sed -n 's/^landlock: //p' "$work/landlock-on.stderr")
    if [ "$status" -ne 1 ]; then
        not_ok "landlock: kestrel ran until SIGTERM (status $status, expected 1)"
    elif [ "${state#not available}" != "$state" ]; then
        ok "landlock: a real kestrel's sandbox natively # SKIP no-landlock: this kernel says '$state'"
    elif ! echo "$state" | grep -qE '^ABI [1-9][0-9]*, on$'; then
        not_ok "landlock: --stats says 'landlock: ABI N, on' (it says '$state')"
    else
        ok "landlock: --stats says 'landlock: $state'"
        if [ "$(landlock_probe landlock-on "$work/landlock/outside")" = EACCES ]; then
            ok "landlock: a file outside the VM's set is refused (EACCES) to a thread started after set-up"
        else
            not_ok "landlock: the file outside the set: '$(landlock_probe landlock-on "$work/landlock/outside")'"
        fi
        if [ "$(landlock_probe landlock-on "$vmlinuz")" = ok ] &&
           [ "$(landlock_probe landlock-on "$work/landlock/disk.img")" = ok ]; then
            ok "landlock: the kernel and the disk image still open"
        else
            not_ok "landlock: the kernel and the disk image still open"
        fi
        # What kestrel does on its files after set-up: publish the trace, write the console, unlink its socket.
        if [ -s "$work/landlock/traces/disk.trace" ] && [ -e "$work/landlock/console.log" ] &&
           [ ! -e "$work/landlock/run/kestrel/landlocked.sock" ]; then
            ok "landlock: the trace is published, the console written and the API socket removed at exit"
        else
            not_ok "landlock: the trace, the console file or the API socket's removal"
            ls -la "$work/landlock" "$work/landlock/traces" "$work/landlock/run/kestrel" 2>&1 | note
        fi
        if grep -qE '^memory: RSS [0-9]+ KiB = guest RAM touched' "$work/landlock-on.stderr"; then
            ok "landlock: --stats' memory line under the sandbox (smaps opened before it)"
        else
            not_ok "landlock: --stats' memory line under the sandbox"
        fi
    fi
    note <"$work/landlock-on.stderr"
    landlock_run landlock-off --console none --landlock off
    status=$?
    if [ "$status" -eq 1 ] && grep -q '^kestrel: --landlock off: .*for debugging only' "$work/landlock-off.stderr" &&
       grep -q '^landlock: off (--landlock off)$' "$work/landlock-off.stderr" &&
       [ "$(landlock_probe landlock-off "$work/landlock/outside")" = ok ]; then
        ok "landlock: --landlock off warns, says so in --stats and confines nothing"
    else
        not_ok "landlock: --landlock off (status $status)"
    fi
    note <"$work/landlock-off.stderr"
fi
