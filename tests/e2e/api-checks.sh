# The control API against a real guest (issue 14, "In the test host"), sourced
# after disk-checks.sh (its $disk_vmm and $disk_cmdline; session-lib.sh's
# helpers). One boot, 1 vCPU, --name and one
# virtio disk: the guest runs fio's verified random writes (rate-limited, so
# they last tens of seconds in TCG) and prints its uptime every second. From
# level 1 meanwhile: `kestrel stat NAME --once --json` shows requests on
# virtio-blk0's queue; `kestrel pause NAME`; two snapshots while paused show
# no requests and the guest prints nothing (its clock loop is stopped);
# `kestrel resume NAME`; fio finishes with its verify clean; `kestrel stop NAME`
# presses the ACPI power button, which the guest acts on (button.ko's input
# device, read below) with poweroff -f: kestrel exits 0 within the 10 s, without
# forcing. GET /metrics through curl too, where level 1 has curl. Boots: 1.
# Only this boot's initrd loads button and evdev (build/guest/initrd-power-button.img,
# built with initrd-disk.img by build-guest-disk.sh): the other disk boots run
# without them, as before this check.
api_name=e2e-api
api_run=api
api_console=$out/$api_run.console
{
    echo 'PATH=/usr/sbin:/usr/bin:/bin'
    cat <<'GUEST'
echo "E2E-API-POWER-BUTTONS $(grep -c 'Power Button' /proc/bus/input/devices)"
# struct input_event on x86-64: 16 bytes of time, then type and code (u16) and value (s32):
# as 12 u16 words, EV_KEY (1) is the 9th, KEY_POWER (116) the 10th, a press (1) the 11th.
for device in /dev/input/event*; do
    [ -e "$device" ] || continue
    (
        while :; do
            # shellcheck disable=SC2046 # the words of one event, split on purpose
            set -- $(dd if="$device" bs=24 count=1 2>/dev/null | od -An -tu2 -w24)
            [ $# -ge 11 ] || { sleep 1; continue; }
            if [ "$9" = 1 ] && [ "${10}" = 116 ] && [ "${11}" = 1 ]; then
                echo E2E-API-POWER-BUTTON
                poweroff -f
            fi
        done
    ) &
done
(while :; do echo "E2E-API-CLOCK $(cut -d' ' -f1 /proc/uptime)"; sleep 1; done) &
echo E2E-API-FIO-START
fio --name=verified --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=4 \
    --size=12M --rate_iops=200 --verify=crc32c --verify_fatal=1 --randseed=14 >/tmp/fio.log 2>&1
echo "E2E-API-FIO-STATUS $?"
grep -E 'err=|verify' /tmp/fio.log | head -n 5 | sed 's/^/E2E-API-FIO-LOG /'
# The init powers off when this script ends: wait for the power button instead.
sleep 200
echo E2E-API-NO-POWER-BUTTON
GUEST
} >"$out/api-guest.sh"

api_wait_console() { # api_wait_console PATTERN SECONDS: until the console has PATTERN or kestrel exited
    api_waited=0
    while ! tr -d '\r' <"$api_console" 2>/dev/null | grep -q "$1" && [ "$api_waited" -lt "$2" ]; do
        kill -0 "$api_pid" 2>/dev/null || break
        sleep 1
        api_waited=$((api_waited + 1))
    done
    tr -d '\r' <"$api_console" | grep -q "$1"
}
# api_requests_per_s FILE: the sum of requests_per_s over virtio-blk0's queues in a `stat --once --json` output
api_requests_per_s() {
    sed -n 's/.*"name":"virtio-blk0"\(.*\)/\1/p' "$1" | sed 's/"name":.*//' |
        grep -o '"requests_per_s":[0-9.eE+-]*' | cut -d: -f2 | awk '{ sum += $1 } END { if (NR) print sum + 0 }'
}
api_positive() { awk -v rate="$1" 'BEGIN { exit !(rate > 0) }'; }
api_zero() { [ -n "$1" ] && awk -v rate="$1" 'BEGIN { exit !(rate == 0) }'; }
api_stat() { # api_stat LABEL: `kestrel stat --once --json` into $out/api-LABEL.json
    "$disk_vmm" stat "$api_name" --once --json >"$out/api-$1.json" 2>"$out/api-$1.stderr"
    api_stat_status=$?
    echo "# $api_run $1: stat status $api_stat_status, virtio-blk0 $(api_requests_per_s "$out/api-$1.json") requests/s"
    sed "s/^/# $api_run $1 stat stderr: /" "$out/api-$1.stderr"
    [ "$api_stat_status" = 0 ] && grep -q '"virtio-blk0"' "$out/api-$1.json"
}
api_clock_lines() { tr -d '\r' <"$api_console" | grep -c '^E2E-API-CLOCK '; }
api_client() { # api_client COMMAND: kestrel COMMAND NAME, its stderr shown
    "$disk_vmm" "$1" "$api_name" 2>"$out/api-$1.stderr"
    api_client_status=$?
    sed "s/^/# $api_run $1 stderr: /" "$out/api-$1.stderr"
    return "$api_client_status"
}
# api_metrics_well_formed FILE: every line a comment (# HELP/# TYPE) or "name{labels} value"
api_metrics_well_formed() {
    [ -s "$1" ] && grep -q '^kestrel_' "$1" &&
        ! grep -vE '^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [0-9.eE+-]+)$' "$1" |
            sed "s/^/# bad metrics line: /" | grep -q .
}

api_guest_initrd() { # the guest script on the power-button initrd -> $out/initrd-api.img
    bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-power-button.img" "$out/api-guest.sh" \
        "$out/initrd-api.img" >"$out/api-initrd.log" 2>&1 || { sed 's/^/# /' "$out/api-initrd.log"; return 1; }
}

truncate -s 64M "$out/api.img"
if api_guest_initrd; then
    boots=$((boots + 1))
    echo "# $api_run: booting at $(date -u +%H:%M:%S)"
    : >"$api_console"  # before the first look at it, not when the background job gets to its redirection
    timeout -k 10 "$boot_timeout" "$disk_vmm" run --kernel "$vmlinuz" --initrd "$out/initrd-api.img" --cpus 1 \
        --memory 512M --cmdline "$disk_cmdline" --disk "$out/api.img" --name "$api_name" \
        </dev/null >"$api_console" 2>"$out/$api_run.stderr" &
    api_pid=$!
    check "$api_run: the guest starts fio" api_wait_console '^E2E-API-FIO-START' 200
    sleep 3
    check "$api_run: kestrel stat --once --json reads the running VM" api_stat running
    check "$api_run: virtio-blk0 serves requests while fio runs" api_positive "$(api_requests_per_s "$out/api-running.json")"
    if command -v curl >/dev/null 2>&1; then
        api_socket=${XDG_RUNTIME_DIR:-/tmp/kestrel-$(id -u)}/kestrel/$api_name.sock
        [ -S "$api_socket" ] || api_socket=/tmp/kestrel-$(id -u)/$api_name.sock
        curl -sf --unix-socket "$api_socket" http://localhost/metrics >"$out/api-metrics.txt" 2>"$out/api-curl.stderr"
        check "$api_run: GET /metrics through curl" test $? = 0
        check "$api_run: every /metrics line is Prometheus text" api_metrics_well_formed "$out/api-metrics.txt"
    else
        echo "# $api_run: level 1 has no curl; GET /metrics is not checked here"
    fi
    check "$api_run: kestrel pause" api_client pause
    pause_start=$(date +%s)
    sleep 2
    clock_paused=$(api_clock_lines)
    check "$api_run: kestrel stat reads the paused VM" api_stat paused-1
    sleep 3
    check "$api_run: kestrel stat reads the paused VM again" api_stat paused-2
    check "$api_run: no requests while paused (first snapshot)" api_zero "$(api_requests_per_s "$out/api-paused-1.json")"
    check "$api_run: no requests while paused (second snapshot)" api_zero "$(api_requests_per_s "$out/api-paused-2.json")"
    clock_after=$(api_clock_lines)
    echo "# $api_run: $clock_paused clock lines 2 s into the pause, $clock_after after $(($(date +%s) - pause_start)) s"
    check "$api_run: the guest's clock loop printed nothing while paused" test "$clock_after" = "$clock_paused"
    check "$api_run: kestrel resume" api_client resume
    sleep 3
    check "$api_run: the guest's clock loop runs again after resume" test "$(api_clock_lines)" -gt "$clock_after"
    check "$api_run: fio finishes after the resume" api_wait_console '^E2E-API-FIO-STATUS' 150
    check "$api_run: fio's verify is clean" test "$(console_value "$api_run" E2E-API-FIO-STATUS)" = 0
    check "$api_run: the guest has a power button input device" \
        test "$(console_value "$api_run" E2E-API-POWER-BUTTONS)" = 1
    stop_start=$(date +%s)
    check "$api_run: kestrel stop" api_client stop
    stop_waited=0
    while kill -0 "$api_pid" 2>/dev/null && [ "$stop_waited" -lt 30 ]; do
        sleep 1
        stop_waited=$((stop_waited + 1))
    done
    kill -9 "$api_pid" 2>/dev/null
    wait "$api_pid"
    echo $? >"$out/$api_run.status"
    stop_seconds=$(($(date +%s) - stop_start))
    echo "# $api_run: kestrel exited $(cat "$out/$api_run.status") ${stop_seconds} s after kestrel stop"
    check "$api_run: the guest acted on the power button" grep -q '^E2E-API-POWER-BUTTON' "$api_console"
    check "$api_run: kestrel exits 0 on the power-off" status_is "$api_run" 0
    # kestrel forces the stop at 10 s: a guest that acted on the button is off before that.
    check "$api_run: within 10 s of kestrel stop (${stop_seconds} s)" test "$stop_seconds" -lt 10
    check "$api_run: the guest powered off itself (no forced stop)" \
        sh -c "! grep -q 'did not power off' '$out/$api_run.stderr'"
    status_is "$api_run" 0 || show_tail "$api_run"
else
    not_ok "$api_run: add-test-script.sh builds the guest's initrd"
fi
