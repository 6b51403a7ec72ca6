# SendCtrlAltDel against a real guest (issue 14: PUT /actions SendCtrlAltDel),
# sourced; defines keyboard_checks and nothing else runs. Uses session-lib.sh's
# helpers and $out, $repo, $vmlinuz, $boot_timeout, $boots.
#
# keyboard_checks VMM [LABEL]: one boot of the default guest (build/guest/initrd.img)
# under VMM (a kestrel binary) with --name, 1 vCPU. The guest prints the
# keyboard its atkbd driver found on the i8042 and waits; from level 1,
# `VMM ctrl-alt-del NAME` (PUT /actions {"action_type":"SendCtrlAltDel"}) must
# answer 0 (HTTP 204); the guest kernel's default for Ctrl-Alt-Del (C_A_D: the
# busybox init never turns it off) is an immediate restart, so its console
# shows "reboot: Restarting system", and kestrel, run with --on-reboot exit
# (the default reset brings the guest back: reboot-guest-checks.sh), exits 0
# within 20 s saying so.
# Boots: 1.
keyboard_checks() {
    keyboard_vmm=$1
    keyboard_run=${2:-keyboard}
    keyboard_name=e2e-keyboard-$$
    keyboard_console=$out/$keyboard_run.console
    cat >"$out/$keyboard_run-guest.sh" <<'GUEST'
echo "E2E-KBD-ATKBD $(grep -c 'AT Translated Set 2 keyboard' /proc/bus/input/devices)"
grep -A4 'AT Translated Set 2 keyboard' /proc/bus/input/devices | sed 's/^/E2E-KBD-DEVICE /'
echo E2E-KBD-READY
# The init powers off when this script ends: wait for Ctrl-Alt-Del instead.
sleep 150
echo E2E-KBD-NO-REBOOT
GUEST
    if ! bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd.img" "$out/$keyboard_run-guest.sh" \
        "$out/initrd-$keyboard_run.img" >"$out/$keyboard_run-initrd.log" 2>&1; then
        sed 's/^/# /' "$out/$keyboard_run-initrd.log"
        not_ok "$keyboard_run: add-test-script.sh builds the guest's initrd"
        return
    fi
    boots=$((boots + 1))
    echo "# $keyboard_run: booting at $(date -u +%H:%M:%S)"
    : >"$keyboard_console"
    timeout -k 10 "$boot_timeout" "$keyboard_vmm" run --kernel "$vmlinuz" --initrd "$out/initrd-$keyboard_run.img" \
        --cpus 1 --memory 512M --cmdline "console=ttyS0 panic=-1 quiet" --name "$keyboard_name" \
        --on-reboot exit </dev/null >"$keyboard_console" 2>"$out/$keyboard_run.stderr" &
    keyboard_pid=$!
    wait_for_console_line "$keyboard_console" E2E-KBD-READY "$keyboard_pid"
    check "$keyboard_run: the guest reached its shell" grep -q '^E2E-KBD-READY' "$keyboard_console"
    check "$keyboard_run: atkbd found the keyboard on the i8042 (translated, set 2)" \
        test "$(console_value "$keyboard_run" E2E-KBD-ATKBD)" = 1
    keyboard_start=$(date +%s)
    ctrl_alt_del_check "$keyboard_vmm" "$keyboard_name" "$keyboard_run"
    keyboard_waited=0
    while kill -0 "$keyboard_pid" 2>/dev/null && [ "$keyboard_waited" -lt 20 ]; do
        sleep 1
        keyboard_waited=$((keyboard_waited + 1))
    done
    kill -9 "$keyboard_pid" 2>/dev/null
    wait "$keyboard_pid"
    echo $? >"$out/$keyboard_run.status"
    keyboard_seconds=$(($(date +%s) - keyboard_start))
    echo "# $keyboard_run: kestrel exited $(cat "$out/$keyboard_run.status") ${keyboard_seconds} s after ctrl-alt-del"
    check "$keyboard_run: the guest kernel restarts on Ctrl-Alt-Del" \
        sh -c "tr -d '\r' <'$keyboard_console' | grep -q 'reboot: Restarting system'"
    check "$keyboard_run: kestrel says it exits on the reboot" \
        grep -q '^kestrel: guest requested a reset (reboot); kestrel exits on reboot (--on-reboot exit)$' \
        "$out/$keyboard_run.stderr"
    check "$keyboard_run: kestrel exits 0" status_is "$keyboard_run" 0
    check "$keyboard_run: within 20 s of ctrl-alt-del (${keyboard_seconds} s)" test "$keyboard_seconds" -lt 20
    status_is "$keyboard_run" 0 || show_tail "$keyboard_run"
}
