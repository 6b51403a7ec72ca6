#!/bin/sh
# Exits 0 when kestrel must run inside the nested test host, 1 when this
# machine's KVM can boot stock guest kernels directly. Prints the reason.
#
# A PVM /dev/kvm (kvm_pvm loaded) only emulates a guest's ring-0 code and never
# boots a stock kernel, so it counts as unusable.
if [ -d /sys/module/kvm_pvm ]; then
    echo "/dev/kvm is PVM (kvm_pvm), which cannot boot stock kernels"
    exit 0
fi
if [ ! -e /dev/kvm ]; then
    echo "no /dev/kvm"
    exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "/dev/kvm is not accessible to this user"
    exit 0
fi
echo "hardware KVM is usable"
exit 1
