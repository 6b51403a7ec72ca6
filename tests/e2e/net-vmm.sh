#!/usr/bin/env bash
# net-vmm.sh VMM KERNEL INITRD CPUS MEMORY CMDLINE [--print] [NET-SPEC...]
# Boots a guest with NICs under VMM, replacing this process (exec), so a
# caller's timeout reaches the VMM itself. The console is stdio.
#
# VMM is the path of a kestrel binary, or "qemu". NET-SPEC is kestrel's --net
# value: user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT]... or
# tap,ifname=NAME[,vhost=on|off][,queues=N], either with [,mac=MAC]. kestrel
# gets them as they are. For QEMU each becomes
#   user: -netdev user,hostfwd=... -device virtio-net-pci
#   tap:  -netdev tap,ifname=NAME,script=no,downscript=no,vhost=...,queues=N
#         -device virtio-net-pci[,mq=on,vectors=2N+2]
# with kestrel's defaults where QEMU's differ: queues = vCPUs for a tap,
# vhost=on. The tap must exist (ip tuntap add NAME mode tap vnet_hdr, with
# multi_queue for queues above 1): neither VMM is given the right to make one
# here. romfile= keeps QEMU from loading iPXE's option ROM (a -kernel boot has
# no use for it).
# --print prints the command instead of running it (for bench logs).
set -euo pipefail
. "$(dirname "$0")/vmm-lib.sh"
if [ $# -lt 6 ]; then
    echo "usage: $0 VMM KERNEL INITRD CPUS MEMORY CMDLINE [--print] [NET-SPEC...]" >&2
    exit 2
fi
vmm=$1 kernel=$2 initrd=$3 cpus=$4 memory=$5 cmdline=$6
shift 6
print=0
if [ "${1:-}" = --print ]; then
    print=1
    shift
fi

vmm_base_command "$vmm" "$kernel" "$initrd" "$cpus" "$memory" "$cmdline"
if [ "$vmm" != qemu ]; then
    for spec in "$@"; do
        command+=(--net "$spec")
    done
else
    index=0
    for spec in "$@"; do
        IFS=, read -r -a fields <<<"$spec"
        kind=${fields[0]}
        ifname='' vhost=on queues=$cpus mac='' hostfwds=''
        for field in "${fields[@]:1}"; do
            case $field in
                hostfwd=*) hostfwds="$hostfwds,$field" ;;
                ifname=*) ifname=${field#ifname=} ;;
                vhost=*) vhost=${field#vhost=} ;;
                queues=*) queues=${field#queues=} ;;
                mac=*) mac=${field#mac=} ;;
                iothreads=*) ;; # kestrel's threads; QEMU serves virtio-net from its main loop
                *) echo "net-vmm: unknown net option '$field' in '$spec'" >&2; exit 2 ;;
            esac
        done
        device="virtio-net-pci,netdev=n$index,romfile="
        [ -z "$mac" ] || device="$device,mac=$mac"
        case $kind in
            user)
                netdev="user,id=n$index$hostfwds" ;;
            tap)
                [ -n "$ifname" ] || { echo "net-vmm: QEMU needs ifname= for a tap ('$spec')" >&2; exit 2; }
                netdev="tap,id=n$index,ifname=$ifname,script=no,downscript=no,vhost=$vhost,queues=$queues"
                # Two vectors per queue pair, one for the control queue, one for configuration changes.
                [ "$queues" -le 1 ] || device="$device,mq=on,vectors=$((2 * queues + 2))" ;;
            *) echo "net-vmm: unknown net kind '$kind' in '$spec'" >&2; exit 2 ;;
        esac
        command+=(-netdev "$netdev" -device "$device")
        index=$((index + 1))
    done
fi

vmm_print_or_exec "$print"
