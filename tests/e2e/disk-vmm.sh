#!/usr/bin/env bash
# disk-vmm.sh VMM KERNEL INITRD CPUS MEMORY CMDLINE [--stats] [--print] [DISK-SPEC...]
# Boots a guest with disks under VMM, replacing this process (exec), so a
# caller's timeout or kill -9 reaches the VMM itself. The console is stdio.
#
# VMM is the path of a kestrel binary, or "qemu". DISK-SPEC is kestrel's
# --disk value, PATH[,readonly=on][,cache=none|writeback][,queues=N]
# [,iothreads=N][,serial=STR][,packed=on|off][,poll_us=N]. For QEMU each is
# translated to the nearest equivalent, so the disk checks and benches run
# the same guest on both:
#   -object iothread (poll-max-ns from poll_us)
#   -drive format=raw,aio=io_uring,cache=…,discard=unmap,werror=report,rerror=report[,readonly=on]
#   -device virtio-blk-pci,iothread=…,num-queues=…,packed=…[,serial=…]
# QEMU's defaults that differ from kestrel's are overridden: num-queues =
# vCPUs, packed=on, discard passed down (a hole punch), and errors reported to
# the guest rather than pausing the VM. QEMU gives a device one I/O thread,
# whatever iothreads says.
# --print prints the command instead of running it (for bench logs).
set -euo pipefail
. "$(dirname "$0")/vmm-lib.sh"
if [ $# -lt 6 ]; then
    echo "usage: $0 VMM KERNEL INITRD CPUS MEMORY CMDLINE [--stats] [--print] [DISK-SPEC...]" >&2
    exit 2
fi
vmm=$1 kernel=$2 initrd=$3 cpus=$4 memory=$5 cmdline=$6
shift 6
stats=0 print=0
while [ $# -gt 0 ]; do
    case $1 in
        --stats) stats=1; shift ;;
        --print) print=1; shift ;;
        *) break ;;
    esac
done

vmm_base_command "$vmm" "$kernel" "$initrd" "$cpus" "$memory" "$cmdline"
if [ "$vmm" != qemu ]; then
    [ "$stats" = 0 ] || command+=(--stats)
    for spec in "$@"; do
        command+=(--disk "$spec")
    done
else
    index=0
    for spec in "$@"; do
        IFS=, read -r -a fields <<<"$spec"
        path=${fields[0]}
        cache=writeback readonly=off queues=$cpus packed=on serial='' poll_ns=''
        for field in "${fields[@]:1}"; do
            case $field in
                cache=*) cache=${field#cache=} ;;
                readonly=*) readonly=${field#readonly=} ;;
                queues=*) queues=${field#queues=} ;;
                packed=*) packed=${field#packed=} ;;
                serial=*) serial=${field#serial=} ;;
                poll_us=*) poll_ns=$((${field#poll_us=} * 1000)) ;;
                iothreads=*) ;;
                *) echo "disk-vmm: unknown disk option '$field' in '$spec'" >&2; exit 2 ;;
            esac
        done
        iothread="iothread,id=io$index"
        [ -z "$poll_ns" ] || iothread="$iothread,poll-max-ns=$poll_ns"
        drive="if=none,id=d$index,file=$path,format=raw,aio=io_uring,cache=$cache,discard=unmap"
        drive="$drive,werror=report,rerror=report"
        [ "$readonly" != on ] || drive="$drive,readonly=on"
        device="virtio-blk-pci,drive=d$index,iothread=io$index,num-queues=$queues,packed=$packed"
        [ -z "$serial" ] || device="$device,serial=$serial"
        command+=(-object "$iothread" -drive "$drive" -device "$device")
        index=$((index + 1))
    done
fi

vmm_print_or_exec "$print"
