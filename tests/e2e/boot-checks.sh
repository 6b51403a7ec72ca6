# The boot checks of the guest session (tests/e2e/guest-session.sh, its part `boot`): the Debian bzImage on 1 and
# 2 vCPUs, the PVH vmlinux, a guest panic, reboot with --on-reboot exit, a triple fault, SIGTERM, Ctrl-A x, the
# ASan build, --cpus past KVM's limit and --kernel-entry. Sourced; uses guest-session.sh's boot() and $out,
# $work, $kestrel, $vmlinuz, $cmdline, $default_cmdline, $boot_timeout, $boots. Boots: 12.
date_close() { # date_close RUN: the guest's clock within 120 s of this host's
    guest=$(console_value "$1" E2E-DATE)
    [ -n "$guest" ] || return 1
    difference=$(($(date +%s) - guest))
    [ "$difference" -lt 0 ] && difference=$((-difference))
    echo "# $1: guest date $guest, host date $(date +%s)"
    [ "$difference" -le 120 ]
}

report_checks() { # report_checks RUN CPUS
    check "$1: exits with status 0 on poweroff" status_is "$1" 0
    check "$1: the guest sees $2 CPU(s) (nproc)" test "$(console_value "$1" E2E-NPROC)" = "$2"
    check "$1: guest date within 120 s of the host's" date_close "$1"
    check "$1: clocksource is kvm-clock" test "$(console_value "$1" E2E-CLOCKSOURCE)" = kvm-clock
    check "$1: every CPU has the TSC-deadline timer" test "$(console_value "$1" E2E-TSC-DEADLINE)" = "$2"
    # One socket of $2 single-thread cores.
    package_cpus=0
    [ "$2" -gt 1 ] && package_cpus="0-$(($2 - 1))"
    check "$1: topology is one package of $2 single-thread cores" test \
        "$(console_value "$1" E2E-PACKAGES)/$(console_value "$1" E2E-CPU0-THREADS)/$(console_value "$1" E2E-CPU0-PACKAGE-CPUS)" \
        = "1/0/$package_cpus"
    status_is "$1" 0 || show_tail "$1"
}

boot bzimage-1cpu "$vmlinuz" "$work/initrd-report.img" 1 --stats
report_checks bzimage-1cpu 1
check "bzimage-1cpu: --stats counts exits by reason" grep -q '^  io  ' "$out/bzimage-1cpu.stderr"
check "bzimage-1cpu: --stats counts exits per device" grep -qE '^pio serial .* [1-9][0-9]* exits$' \
    "$out/bzimage-1cpu.stderr"
check "bzimage-1cpu: --stats counts unclaimed I/O" grep -q '^pio (unclaimed)' "$out/bzimage-1cpu.stderr"
check "bzimage-1cpu: --stats reports the first KVM_RUN after main" grep -qE \
    '^startup: first KVM_RUN [0-9]+\.[0-9]{3} ms after main$' "$out/bzimage-1cpu.stderr"
check "bzimage-1cpu: --stats splits RSS into guest RAM and VMM overhead" grep -qE \
    '^memory: RSS [0-9]+ KiB = guest RAM touched [1-9][0-9]* KiB \+ VMM overhead [1-9][0-9]* KiB$' \
    "$out/bzimage-1cpu.stderr"
grep -E '^(KVM exits|  |pio|mmio|startup|memory)' "$out/bzimage-1cpu.stderr" | sed 's/^/# stats: /'

# 4G puts RAM on both sides of the 32-bit MMIO hole (two memory slots). Level 1 has 4 GiB, less than that
# free, so this boot overcommits (the guest touches little of it).
boot bzimage-2cpu "$vmlinuz" "$work/initrd-report.img" 2 --memory 4G,overcommit=on
report_checks bzimage-2cpu 2
memtotal=$(console_value bzimage-2cpu E2E-MEMTOTAL-KB)
echo "# bzimage-2cpu: MemTotal ${memtotal:-?} kB"
check "bzimage-2cpu: with --memory 4G the guest has more than 3.5 GiB" test "${memtotal:-0}" -gt 3670016

boot pvh-2cpu "$work/vmlinux" "$work/initrd-report.img" 2
report_checks pvh-2cpu 2

boot panic "$vmlinuz" "$work/initrd-panic.img" 1
# The README promises status 1 for a guest panic.
check "panic: exit status 1" status_is panic 1
check "panic: kestrel reports the guest kernel panic" grep -q '^kestrel: guest kernel panicked$' "$out/panic.stderr"
check "panic: the guest printed its panic" grep -q 'Kernel panic' "$out/panic.console"
check "panic: the guest did not survive the crash" sh -c "! grep -q E2E-STILL-ALIVE '$out/panic.console'"
status_is panic 1 || show_tail panic

boot reboot "$vmlinuz" "$work/initrd-reboot.img" 2 --on-reboot exit
check "reboot: exits with status 0 (--on-reboot exit)" status_is reboot 0
check "reboot: kestrel says it exits on reboot" \
    grep -q '^kestrel: guest requested a reset (reboot); kestrel exits on reboot (--on-reboot exit)$' "$out/reboot.stderr"
check "reboot: the guest ran reboot -f" grep -q E2E-REBOOTING "$out/reboot.console"
status_is reboot 0 || show_tail reboot

# reboot=t makes Linux reset by triple fault: kestrel reports it as a fatal exit with the registers.
cmdline="console=ttyS0 quiet reboot=t"
boot triple-fault "$vmlinuz" "$work/initrd-reboot.img" 1
cmdline=$default_cmdline
check "triple fault: exit status 1" status_is triple-fault 1
check "triple fault: kestrel names it" grep -q '^kestrel: guest triple fault on vCPU 0$' "$out/triple-fault.stderr"
check "triple fault: a register dump follows" sh -c "grep -q 'RIP=' '$out/triple-fault.stderr' &&
    grep -q 'CR0=' '$out/triple-fault.stderr' && grep -q 'EFER=' '$out/triple-fault.stderr'"
status_is triple-fault 1 || show_tail triple-fault

# SIGTERM while the guest idles on 2 vCPUs: every vCPU thread is kicked out of KVM_RUN and joined.
boots=$((boots + 1))
timeout "$boot_timeout" "$kestrel" run --kernel "$vmlinuz" --initrd "$work/initrd-sleep.img" --cpus 2 \
    --cmdline "$default_cmdline" </dev/null >"$out/sigterm.console" 2>"$out/sigterm.stderr" &
kestrel_pid=$!
waited=0
while ! grep -q E2E-SLEEPING "$out/sigterm.console" 2>/dev/null && [ "$waited" -lt 200 ]; do
    sleep 1
    waited=$((waited + 1))
done
check "sigterm: the guest reached its idle loop" grep -q E2E-SLEEPING "$out/sigterm.console"
kill -TERM "$kestrel_pid" 2>/dev/null
waited=0
while kill -0 "$kestrel_pid" 2>/dev/null && [ "$waited" -lt 30 ]; do
    sleep 1
    waited=$((waited + 1))
done
check "sigterm: kestrel stops within 30 s" sh -c "! kill -0 $kestrel_pid 2>/dev/null"
wait "$kestrel_pid"
echo $? >"$out/sigterm.status"
check "sigterm: exit status 1" status_is sigterm 1
check "sigterm: kestrel says why it stopped" grep -q 'stopping the guest on signal' "$out/sigterm.stderr"
status_is sigterm 1 || show_tail sigterm

# Ctrl-A x typed on a terminal console quits with status 0. script(1) gives kestrel a pty;
# timeout --foreground keeps kestrel in the terminal's foreground process group.
if ! command -v script >/dev/null 2>&1; then
    not_ok "ctrl-a x: script(1) is installed (bsdutils)"
else
    boots=$((boots + 1))
    rm -f "$out/ctrl-a.fifo"
    mkfifo "$out/ctrl-a.fifo"
    script -qfec "timeout --foreground $boot_timeout $kestrel run --kernel $vmlinuz --initrd $work/initrd-sleep.img \
        --cmdline '$default_cmdline' --console stdio 2>$out/ctrl-a.stderr" /dev/null \
        <"$out/ctrl-a.fifo" >"$out/ctrl-a.console" 2>&1 &
    script_pid=$!
    exec 3>"$out/ctrl-a.fifo"
    waited=0
    while ! grep -q E2E-SLEEPING "$out/ctrl-a.console" 2>/dev/null && [ "$waited" -lt 200 ]; do
        sleep 1
        waited=$((waited + 1))
    done
    check "ctrl-a x: the guest reached its idle loop" grep -q E2E-SLEEPING "$out/ctrl-a.console"
    printf '\001x' >&3
    waited=0
    while kill -0 "$script_pid" 2>/dev/null && [ "$waited" -lt 30 ]; do
        sleep 1
        waited=$((waited + 1))
    done
    check "ctrl-a x: kestrel quits within 30 s" sh -c "! kill -0 $script_pid 2>/dev/null"
    kill "$script_pid" 2>/dev/null
    wait "$script_pid"
    echo $? >"$out/ctrl-a.status"
    exec 3>&-
    check "ctrl-a x: exit status 0" status_is ctrl-a 0
    status_is ctrl-a 0 || show_tail ctrl-a
fi

# The sanitizer builds of kestrel (make check builds them) on real guests with 2 vCPUs:
# ASan+UBSan to poweroff (the TSan build goes through a guest reboot in the reboot part).
sanitizer_boot() { # sanitizer_boot FLAVOUR INITRD
    binary=$(dirname "$kestrel")/kestrel-$1
    if [ ! -x "$binary" ]; then
        not_ok "$1 build: $binary is built (make check builds it)"
        return
    fi
    saved_kestrel=$kestrel
    kestrel=$binary
    ASAN_OPTIONS=detect_leaks=1:exitcode=66 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        TSAN_OPTIONS=halt_on_error=1:exitcode=66 boot "$1" "$vmlinuz" "$2" 2
    kestrel=$saved_kestrel
    check "$1 build: exits with status 0" status_is "$1" 0
    check "$1 build: no sanitizer report" sh -c "! grep -qE 'Sanitizer|runtime error' '$out/$1.stderr'"
    status_is "$1" 0 || show_tail "$1"
}
sanitizer_boot asan "$work/initrd-report.img"
check "asan build: the guest sees 2 CPUs" test "$(console_value asan E2E-NPROC)" = 2

timeout 60 "$kestrel" run --kernel "$vmlinuz" --cpus 100000 </dev/null >/dev/null 2>"$out/max-cpus.stderr"
echo $? >"$out/max-cpus.status"
check "usage: --cpus above KVM_CAP_MAX_VCPUS is status 2 with one line" \
    sh -c "[ \$(cat '$out/max-cpus.status') = 2 ] && [ \$(wc -l <'$out/max-cpus.stderr') = 1 ] &&
           grep -q \"more than this host's KVM allows\" '$out/max-cpus.stderr'"
sed 's/^/# /' "$out/max-cpus.stderr"

# --- --kernel-entry (host-side decompression and the kernel cache) -------------------------------------------
# The Debian bzImage through the host-decompressed PVH path with a cold, then a warm cache, and through its own
# entry with --kernel-entry bzimage. L1's / is read-only, so the cache goes under /tmp.
entry_cache=$out/xdg-cache
mkdir -m 700 "$entry_cache"
export XDG_CACHE_HOME="$entry_cache"
for run in entry-cold entry-warm; do
    boot "$run" "$vmlinuz" "$work/initrd-report.img" 1 --kernel-entry auto
    report_checks "$run" 1
    check "$run: booted through PVH (no fallback line)" sh -c "! grep -q 'booting the bzImage' '$out/$run.stderr'"
    check "$run: one cache entry" test "$(ls "$entry_cache/kestrel" | wc -l)" = 1
done
unset XDG_CACHE_HOME
boot entry-bzimage "$vmlinuz" "$work/initrd-report.img" 1 --kernel-entry bzimage
report_checks entry-bzimage 1
