# The guest boot both VMMs share, for disk-vmm.sh and net-vmm.sh (bash; sourced, defines functions only).

# vmm_base_command VMM KERNEL INITRD CPUS MEMORY CMDLINE: sets the array `command` to the VM without its
# devices: kestrel run ... --console stdio, or QEMU's pc machine with KVM, the host CPU, no default devices,
# the serial console on stdio.
vmm_base_command() {
    if [ "$1" != qemu ]; then
        command=("$1" run --kernel "$2" --initrd "$3" --cpus "$4" --memory "$5" --cmdline "$6" --console stdio)
    else
        command=(qemu-system-x86_64 -M pc -enable-kvm -cpu host -smp "$4" -m "$5" -nodefaults -display none
            -no-reboot -serial stdio -kernel "$2" -initrd "$3" -append "$6")
    fi
}

# vmm_print_or_exec PRINT: with PRINT 1 prints `command` shell-quoted (for bench logs) and exits 0; else
# replaces this process with it, so a caller's timeout or kill -9 reaches the VMM itself.
vmm_print_or_exec() {
    if [ "$1" = 1 ]; then
        printf '%q ' "${command[@]}"
        echo
        exit 0
    fi
    exec "${command[@]}"
}
