# PCI checks for a real guest, sourced at the end of tests/e2e/guest-session.sh
# (it uses that script's boot, check, console_value, $out, $repo and $vmlinuz).
# The guest lists bus 0 from sysfs (busybox has no lspci), quotes the
# kernel's PCI/MMCONFIG lines and counts the serial port's interrupts, which
# arrive through the GSI routing table kestrel replaced KVM's default with.
pci_script=$out/pci-guest.sh
cat >"$pci_script" <<'GUEST'
for device in /sys/bus/pci/devices/*; do
    [ -e "$device/vendor" ] || continue
    echo "E2E-PCI-DEVICE $(basename "$device") $(cat "$device/vendor") $(cat "$device/device") $(cat "$device/class")"
done
dmesg | grep -E 'PCI: Using configuration|MMCONFIG|PCI Root Bridge|root bus resource|pci 0000:00:00.0' |
    sed 's/^\[[^]]*\] //; s/^/E2E-PCI-DMESG /'
echo "E2E-CPUIDLE-DRIVER $(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)"
# The haltpoll driver binds on any KVM guest when forced; without KVM_FEATURE_POLL_CONTROL it says so once.
echo "E2E-POLL-CONTROL $(dmesg | grep -q 'host does not support poll control' && echo missing || echo offered)"
echo "E2E-SERIAL-IRQS $(awk '/ttyS0/ { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; print n }' /proc/interrupts)"
poweroff -f
GUEST
if bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd.img" "$pci_script" \
    "$out/initrd-pci.img" >"$out/pci-initrd.log" 2>&1; then
    # cpuidle_haltpoll.force=1 binds the guest's haltpoll idle driver, which then needs kestrel's CPUID
    # to offer KVM_FEATURE_POLL_CONTROL (issue 12 asks for it) so the host stops polling while it does.
    cmdline="$default_cmdline cpuidle_haltpoll.force=1"
    boot pci "$vmlinuz" "$out/initrd-pci.img" 1 --stats
    cmdline=$default_cmdline
    check "pci: exits with status 0 on poweroff" status_is pci 0
    check "pci: the guest lists the host bridge 00:00.0 (1b36:0008, class 0x060000)" \
        grep -q '^E2E-PCI-DEVICE 0000:00:00.0 0x1b36 0x0008 0x060000' "$out/pci.console"
    check "pci: the guest uses configuration mechanism #1" \
        grep -q '^E2E-PCI-DMESG PCI: Using configuration type 1 for base access' "$out/pci.console"
    check "pci: the guest takes the MCFG's ECAM at 0xe0000000" \
        grep -qE '^E2E-PCI-DMESG .*MMCONFIG .*0xe0000000' "$out/pci.console"
    check "pci: the guest finds the ACPI root bridge PCI0" \
        grep -q '^E2E-PCI-DMESG ACPI: PCI Root Bridge \[PCI0\] (domain 0000 \[bus 00\])' "$out/pci.console"
    check "pci: the root bridge has the 32-bit window from _CRS" \
        grep -q 'root bus resource \[mem 0xc0000000-0xdfffffff' "$out/pci.console"
    serial_irqs=$(console_value pci E2E-SERIAL-IRQS)
    check "pci: serial interrupts still arrive after KVM_SET_GSI_ROUTING ($serial_irqs)" \
        test "${serial_irqs:-0}" -gt 0
    check "pci: the guest idles with the haltpoll driver (cpuidle_haltpoll.force=1)" \
        grep -q '^E2E-CPUIDLE-DRIVER haltpoll' "$out/pci.console"
    check "pci: the guest finds KVM_FEATURE_POLL_CONTROL in kestrel's CPUID" \
        grep -q '^E2E-POLL-CONTROL offered' "$out/pci.console"
    check "pci: --stats counts configuration accesses" grep -qE '^pio pci-config .* [1-9][0-9]* exits$' \
        "$out/pci.stderr"
    tr -d '\r' <"$out/pci.console" | grep -E '^E2E-(PCI|SERIAL|CPUIDLE|POLL)' | sed 's/^/# pci: /'
    status_is pci 0 || show_tail pci
else
    sed 's/^/# /' "$out/pci-initrd.log"
    not_ok "pci: add-test-script.sh builds the PCI guest's initrd"
fi
