#!/usr/bin/env bash
# fake-disk-vmm.sh MODE run --kernel K --initrd I ... --cmdline CMDLINE ... --disk IMAGE
# Stands in for kestrel in disk-durability-selftest.sh: it does what the
# durability guest does, without a guest. It writes record N to IMAGE (as the
# guest's dd would) and prints "ACK N", forever, until killed.
# MODE honest: every record is written before its ACK.
# MODE lying: every third record is acknowledged without being written, as a
# VMM that completed a FLUSH before the data reached the file would.
set -euo pipefail
mode=$1
shift
cmdline= image=
while [ $# -gt 0 ]; do
    case $1 in
        --cmdline) cmdline=$2; shift 2 ;;
        --disk) image=${2%%,*}; shift 2 ;;
        *) shift ;;
    esac
done
nonce=$(sed -n 's/.*durability_nonce=\([0-9a-f]*\).*/\1/p' <<<"$cmdline")
for ((n = 1; n <= 4095; n++)); do
    if [ "$mode" = honest ] || [ $((n % 3)) -ne 0 ]; then
        printf 'KESTREL-RECORD %08d %s\n' "$n" "$nonce" |
            dd of="$image" bs=4096 count=1 seek="$n" conv=sync,notrunc status=none
    fi
    echo "ACK $n"
    sleep 0.02
done
sleep 600
