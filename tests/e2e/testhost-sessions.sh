# Sourced by tests/e2e/run.sh (its Parts 2 and 3): the real guests, in the nested test host. Uses run.sh's
# helpers (ok, not_ok, note, expect_failure) and variables (work, vmlinuz, initrd, KESTREL, failed, the budgets).
# ------------------------------------------------------------ real guests
# Without the Debian kernel there is nothing to boot; that is already a failure above.
[ "$have_guest" = 1 ] || exit 1
# The disk checks' guest (build/guest/initrd-disk.img; L1 cannot write the build tree).
if ! bash tests/testhost/build-guest-disk.sh >"$work/build-guest-disk.log" 2>&1; then
    note <"$work/build-guest-disk.log"
    not_ok "the disk guest builds (tests/testhost/build-guest-disk.sh)"
fi
# The kill -9 durability check must be able to fail: natively, against a fake VMM that lies about flushes.
bash tests/e2e/disk-durability-selftest.sh "$work" || failed=1
bash scripts/extract-vmlinux.sh "$vmlinuz" "$work/vmlinux" >"$work/extract.log" 2>&1 ||
    { note <"$work/extract.log"; not_ok "extract-vmlinux.sh makes a PVH vmlinux"; }
chmod 644 "$work/vmlinux" 2>/dev/null
# extract-vmlinux.sh measures the file behind a symlink, not the link.
ln -s "$vmlinuz" "$work/vmlinuz-link"
if bash scripts/extract-vmlinux.sh "$work/vmlinuz-link" "$work/vmlinux-from-link" >"$work/extract-link.log" 2>&1 &&
   cmp -s "$work/vmlinux" "$work/vmlinux-from-link"; then
    ok "extract-vmlinux.sh through a symlinked bzImage gives the same vmlinux"
else
    note <"$work/extract-link.log"
    not_ok "extract-vmlinux.sh through a symlinked bzImage gives the same vmlinux"
fi
rm -f "$work/vmlinux-from-link"
expect_failure "usage: --kernel-entry bzimage with a vmlinux" 2 "is not a bzImage" \
    run --kernel "$work/vmlinux" --kernel-entry bzimage

make_initrd() { # make_initrd NAME SCRIPT-TEXT
    printf '%s\n' "$2" >"$work/$1.sh"
    bash tests/testhost/add-test-script.sh "$initrd" "$work/$1.sh" "$work/initrd-$1.img" ||
        not_ok "add-test-script.sh for $1"
}
make_initrd report 'echo "E2E-NPROC $(nproc)"
echo "E2E-DATE $(date +%s)"
echo "E2E-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "E2E-TSC-DEADLINE $(grep -c -w tsc_deadline_timer /proc/cpuinfo)"
topology=/sys/devices/system/cpu/cpu0/topology
echo "E2E-PACKAGES $(cat /sys/devices/system/cpu/cpu*/topology/physical_package_id | sort -u | wc -l)"
echo "E2E-CPU0-THREADS $(cat $topology/thread_siblings_list)"
echo "E2E-CPU0-PACKAGE-CPUS $(cat $topology/core_siblings_list)"
echo "E2E-MEMTOTAL-KB $(sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo)"
poweroff -f'
make_initrd panic 'echo "E2E-PANICKING"
echo c >/proc/sysrq-trigger
echo "E2E-STILL-ALIVE"'
make_initrd reboot 'echo "E2E-REBOOTING"
reboot -f
echo "E2E-STILL-ALIVE"'
make_initrd sleep 'echo "E2E-SLEEPING"
sleep 600'
chmod -R a+rX "$work"

# The guest session runs in parts (guest-session.sh --parts), each its own level-1 session with its own retry
# and log directory (build/test-logs/e2e-l1-PART).
in_testhost=0
if bash tests/testhost/need-testhost.sh >"$work/need.txt"; then
    in_testhost=1
    echo "# guests run in the nested test host: $(cat "$work/need.txt")"
else
    echo "# guests run directly: $(cat "$work/need.txt")"
fi
for part in $(sh tests/e2e/guest-session.sh --parts); do
    session_log=$work/session-$part.log
    boots=$(sh tests/e2e/guest-session.sh --boots "$part")
    budget=$((L1_SECONDS + boots * SECONDS_PER_BOOT))
    echo "# $part session budget: ${budget}s = ${L1_SECONDS}s for L1 + $boots boots x ${SECONDS_PER_BOOT}s"
    if [ "$in_testhost" = 1 ]; then
        tests/testhost/run-in-l1.sh --timeout "$budget" --idle-timeout "$IDLE_SECONDS" \
            --log-dir "$L1_LOG_DIR-$part" \
            tests/e2e/guest-session.sh "$KESTREL" "$work" "$part" >"$session_log" 2>&1
        session_status=$?
    else
        timeout -k 10 "$budget" sh tests/e2e/guest-session.sh "$KESTREL" "$work" "$part" >"$session_log" 2>&1
        session_status=$?
    fi
    bash tests/e2e/session-result.sh "$session_log" "$session_status" "${L1_LOG_DIR#"$repo"/}-$part" \
        "guest session ($part part)" || failed=1
done

# Part 3: the virtio-net checks (tests/e2e/net-checks.sh: user, tap, tap with
# vhost-net, hostfwd, two queue pairs, two NICs) in a level-1 session of their
# own, so that a stalled level 1 retries its four boots rather than all of them.
# make check moves NET_MEGABYTES each way per transfer; the issue's 100 MB
# takes about half an hour in the test host, so it is a separate run
# (tests/testhost/README.md).
NET_MEGABYTES=${KESTREL_NET_CHECK_MB:-16}
NET_SECONDS_PER_BOOT=${KESTREL_NET_SECONDS_PER_BOOT:-420}
if ! bash tests/testhost/build-guest-net.sh >"$work/build-guest-net.log" 2>&1; then
    note <"$work/build-guest-net.log"
    not_ok "the net guest builds (tests/testhost/build-guest-net.sh)"
    exit 1
fi
net_log=$work/net-session.log
net_budget=$((L1_SECONDS + 4 * NET_SECONDS_PER_BOOT)) # 4 boots: net-user, net-tap, net-vhost and its reboot
if bash tests/testhost/need-testhost.sh >/dev/null; then
    echo "# net session budget: ${net_budget}s, ${NET_MEGABYTES} MB per transfer"
    tests/testhost/run-in-l1.sh --timeout "$net_budget" --idle-timeout "$IDLE_SECONDS" --log-dir "$L1_LOG_DIR-net" \
        tests/e2e/net-session.sh "$KESTREL" "$NET_MEGABYTES" >"$net_log" 2>&1
    net_status=$?
else
    timeout -k 10 "$net_budget" sh tests/e2e/net-session.sh "$KESTREL" "$NET_MEGABYTES" >"$net_log" 2>&1
    net_status=$?
fi
bash tests/e2e/session-result.sh "$net_log" "$net_status" "${L1_LOG_DIR#"$repo"/}-net" "net session" || failed=1
exit $failed
