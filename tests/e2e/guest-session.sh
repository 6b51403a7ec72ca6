#!/bin/sh
# sh guest-session.sh KESTREL WORK PART
# sh guest-session.sh --boots PART
# sh guest-session.sh --parts
# Boots real guests with kestrel on a host with usable KVM (inside the nested
# test host on a PVM machine; see run.sh) and prints TAP lines between
# E2E-SESSION-BEGIN and E2E-SESSION-END. WORK holds vmlinux and the initrds
# run.sh prepared; the Debian bzImage is build/guest/vmlinuz.
#
# The boots come in parts, each its own level-1 session with its own retry, so
# that a level 1 that stalls twice must do so within one part to fail make
# check, and a retry repeats only that part's boots:
#   boot     tests/e2e/boot-checks.sh and pci-checks.sh (13 boots)
#   devices  disk-checks.sh (2 + 5 durability runs), trace-checks.sh, api-checks.sh, keyboard-checks.sh (10)
#   reboot   reboot-guest-checks.sh: the TSan build through 1 reboot (2), then 21 (22)
# --parts lists them; --boots PART prints how many guests PART boots: run.sh
# sizes the part's time budget by it. The session counts its boots and fails
# if they differ.
parts="boot devices reboot"
planned_boots() {
    case $1 in
        boot) echo 13 ;;
        devices) echo 10 ;;
        reboot) echo 24 ;;
        *) echo "guest-session.sh: no part '$1' (the parts: $parts)" >&2; exit 2 ;;
    esac
}
case ${1:-} in
    --parts) echo "$parts"; exit 0 ;;
    --boots) planned_boots "${2:-}"; exit 0 ;;
esac
kestrel=$1
work=$2
part=${3:-}
planned_boots=$(planned_boots "$part") || exit 2

repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-guest-session.XXXXXX)
boot_timeout=240
default_cmdline="console=ttyS0 panic=-1 quiet"
cmdline=$default_cmdline
failed=0
boots=0

echo E2E-SESSION-BEGIN
. "$repo/tests/e2e/session-lib.sh"

# boot RUN KERNEL INITRD CPUS [EXTRA-ARGS...]: status in $out/RUN.status
boot() {
    run=$1 kernel=$2 initrd=$3 cpus=$4
    shift 4
    boots=$((boots + 1))
    start=$(date +%s)
    echo "# $run: booting at $(date -u +%H:%M:%S)"
    timeout -k 10 "$boot_timeout" "$kestrel" run --kernel "$kernel" --initrd "$initrd" --cpus "$cpus" --memory 512M \
        --cmdline "$cmdline" "$@" </dev/null >"$out/$run.console" 2>"$out/$run.stderr"
    echo $? >"$out/$run.status"
    echo "# $run: status $(cat "$out/$run.status") after $(($(date +%s) - start)) s"
}

case $part in
    boot)
        . "$repo/tests/e2e/boot-checks.sh"
        # --- PCI (issue 12): host bridge, config mechanisms, ACPI root bridge, interrupts after GSI routing
        . "$repo/tests/e2e/pci-checks.sh"
        ;;
    devices)
        # --- virtio-blk (issue 12): the guest's view of --disk, file systems, fio, read-only, DISCARD, a full
        # host file system, cache=none, kill -9 durability
        disk_vmm=$kestrel
        . "$repo/tests/e2e/disk-checks.sh"
        # --- block traces (issue 14): a known fio job traced with --disk trace=, read back by trace-plot --summary
        . "$repo/tests/e2e/trace-checks.sh"
        # --- the control API (issue 14): stat, pause and resume under fio's verified writes, stop by the power
        # button
        . "$repo/tests/e2e/api-checks.sh"
        # --- SendCtrlAltDel (issue 14): kestrel ctrl-alt-del NAME reboots the guest, and with --on-reboot exit
        # kestrel exits 0 on the reboot
        . "$repo/tests/e2e/keyboard-checks.sh"
        keyboard_checks "$kestrel"
        ;;
    reboot)
        # --- reboot (issue 15): the TSan build through a guest reboot that resets the VM, then poweroff;
        # kestrel ctrl-alt-del NAME, then 20 reboots by the guest in a row, each one's file read back from the
        # virtio disk after it, then a poweroff that exits 0
        . "$repo/tests/e2e/reboot-guest-checks.sh"
        if [ -x "$(dirname "$kestrel")/kestrel-tsan" ]; then
            export TSAN_OPTIONS=halt_on_error=1:exitcode=66
            reboot_checks "$(dirname "$kestrel")/kestrel-tsan" reboot-tsan 1
            unset TSAN_OPTIONS
        else
            not_ok "tsan build: $(dirname "$kestrel")/kestrel-tsan is built (make check builds it)"
        fi
        reboot_checks "$kestrel" reboot-21 21 keys
        ;;
esac

check "the $part part booted the $planned_boots guests it plans for (run.sh's time budget)" test "$boots" = "$planned_boots"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
