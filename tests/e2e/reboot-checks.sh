# Sourced by tests/e2e/run.sh (its expect_failure, ok, not_ok, note, $work, $vmlinuz, $KESTREL, $repo):
# --on-reboot's bad input, and 50 guest reboots natively with the tiny guest of make_bzimage.c --reboot (PVM
# runs it; a stock kernel it does not): kestrel's open fds and threads are the same in the 51st boot as in
# the first, its RSS grows by less than 512 KiB from the second boot to the 51st, and the ASan build of
# kestrel (LeakSanitizer at exit) and the TSan build report nothing over the same run.
expect_failure "usage: --on-reboot with an unknown action" 2 "--on-reboot: 'halt' is not reset or exit" \
    run --kernel "$vmlinuz" --on-reboot halt
expect_failure "usage: --on-reboot without a value" 2 "--on-reboot needs a value" run --kernel "$vmlinuz" --on-reboot

reboot_leak_check() { # reboot_leak_check KESTREL-BINARY LABEL RSS-LIMIT-KIB (empty: RSS not checked)
    local binary=$1 label=$2 rss_limit=$3
    mkdir -p "$work/reboot-$label"
    if ! timeout -k 5 120 bash tests/e2e/reboot-native.sh "$binary" "$work/reboot-$label" 50 \
        >"$work/reboot-$label.txt" 2>&1; then
        note <"$work/reboot-$label.txt"
        tail -5 "$work/reboot-$label/reboot-native.err" | note
        not_ok "reboot ($label): 50 guest reboots natively"
        return
    fi
    note <"$work/reboot-$label.txt"
    grep '^reboots:' "$work/reboot-$label/reboot-native.err" | note
    read -r _ fds1 threads1 _ < <(grep '^boot1 ' "$work/reboot-$label.txt")
    read -r _ _ _ rss2 < <(grep '^boot2 ' "$work/reboot-$label.txt")
    read -r _ fds51 threads51 rss51 < <(grep '^boot51 ' "$work/reboot-$label.txt")
    if [ "$fds51" != "$fds1" ] || [ "$threads51" != "$threads1" ]; then
        not_ok "reboot ($label): after 50 reboots $fds51 fds and $threads51 threads, at boot 1 $fds1 and $threads1"
    elif [ -n "$rss_limit" ] && [ $((rss51 - rss2)) -ge "$rss_limit" ]; then
        not_ok "reboot ($label): RSS grew by $((rss51 - rss2)) KiB over 49 reboots (limit $rss_limit KiB)"
    elif ! grep -q '^reboots: 50;' "$work/reboot-$label/reboot-native.err"; then
        not_ok "reboot ($label): --stats does not count 50 reboots"
    elif grep -q 'Sanitizer' "$work/reboot-$label/reboot-native.err"; then
        grep -A20 'Sanitizer' "$work/reboot-$label/reboot-native.err" | note
        not_ok "reboot ($label): the sanitizer reported a problem"
    else
        ok "reboot ($label): 50 guest reboots, no fd, thread or memory leak"
    fi
}
if [ ! -e /dev/kvm ]; then
    ok "reboot: 50 guest reboots natively # SKIP no-kvm: no /dev/kvm"
else
    reboot_leak_check "$KESTREL" release 512
    # The sanitizers hold freed memory back (quarantine, shadow), so only their reports count, not RSS:
    # LeakSanitizer at exit, and TSan on the reset path's threads (vCPUs, I/O, console, RTC, made and joined).
    for flavour in asan tsan; do
        if [ -x "$repo/build/kestrel-$flavour" ]; then
            reboot_leak_check "$repo/build/kestrel-$flavour" "$flavour" ""
        else
            not_ok "reboot ($flavour): build/kestrel-$flavour is built"
        fi
    done
fi
