#!/usr/bin/env bash
# fio-table-in-l1.sh WORK RUNTIME COLUMN... : the fio table's measurements,
# run by bench/fio-table.sh where guests can run (the test host). COLUMN is
# "host", "qemu" or a kestrel binary. Prints raw lines that
# bench/fio-report.sh turns into the table:
#   FIO-COLUMN NAME COMMAND        how the column ran
#   FIO-TERSE NAME ROW LINE        fio's --terse-version=3 line for ROW
#   FIO-KVM NAME ROW COUNTER=DELTA...  level 1's KVM counters (debugfs) over the row
#   FIO-GUEST-IRQS NAME ROW N      the guest's virtio interrupts over the row
#   FIO-STATS NAME LINE            kestrel's --stats at exit
# The image: 256 MiB on level 1's tmpfs (/run), filled, shared by all columns.
# Host column: fio with io_uring and direct=0 (tmpfs has no O_DIRECT). Guest
# columns: the disk guest (2 vCPUs, 512M) runs fio with libaio and direct=1
# on /dev/vda, cache=writeback, 2 queues; each row is announced on the
# console, and this script samples KVM's exit counters when it sees the
# announcement and the result.
# run-in-l1.sh runs scripts with sh: this one needs bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail
work=$1 runtime=$2
shift 2
repo=$(cd "$(dirname "$0")/.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
mkdir -p "$work" /run/fio-bench
image=/run/fio-bench/disk.img
rows="randread-4k-qd1:randread:4k:1 randread-4k-qd32:randread:4k:32 randwrite-4k-qd1:randwrite:4k:1
randwrite-4k-qd32:randwrite:4k:32 read-512k-qd4:read:512k:4 write-512k-qd4:write:512k:4"
fio_common="--size=256M --time_based --runtime=$runtime --ramp_time=2 --numjobs=1 --group_reporting --output-format=terse --terse-version=3"

dd if=/dev/zero of="$image" bs=1M count=256 status=none
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
kvm_counters="exits io_exits mmio_exits halt_exits irq_injections irq_exits"
kvm_snapshot() { # kvm_snapshot FILE
    for counter in $kvm_counters; do
        echo "$counter $(cat "/sys/kernel/debug/kvm/$counter" 2>/dev/null || echo 0)"
    done >"$1"
}
kvm_delta() { # kvm_delta BEFORE AFTER: COUNTER=DELTA...
    paste "$1" "$2" | awk '{ printf "%s=%d ", $1, $4 - $2 }'
}

echo "# level 1: $(nproc) CPUs, $(uname -r); $(qemu-system-x86_64 --version | head -n 1); $(fio --version)"
for column in "$@"; do
    if [ "$column" = host ]; then
        echo "FIO-COLUMN host fio --filename=$image --ioengine=io_uring --direct=0 $fio_common"
        for row in $rows; do
            IFS=: read -r name rw bs depth <<<"$row"
            line=$(fio --name="$name" --filename="$image" --ioengine=io_uring --direct=0 --rw="$rw" --bs="$bs" \
                --iodepth="$depth" $fio_common 2>&1 | grep '^3;' | head -n 1)
            echo "FIO-TERSE host $name $line"
        done
        continue
    fi
    name=kestrel
    [ "$column" = qemu ] && name=qemu
    {
        echo 'PATH=/usr/sbin:/usr/bin:/bin'
        echo 'virtio_irqs() { awk '\''/virtio/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }'\'' /proc/interrupts; }'
        for row in $rows; do
            IFS=: read -r row_name rw bs depth <<<"$row"
            echo "echo FIO-ROW-BEGIN $row_name; before=\$(virtio_irqs); sleep 1"
            echo "line=\$(fio --name=$row_name --filename=/dev/vda --ioengine=libaio --direct=1 --rw=$rw --bs=$bs --iodepth=$depth $fio_common 2>&1 | grep '^3;' | head -n 1)"
            echo "echo \"FIO-GUEST-IRQS $row_name \$((\$(virtio_irqs) - before))\"; echo \"FIO-ROW-END $row_name\"; echo \"FIO-GUEST-TERSE $row_name \$line\"; sleep 1"
        done
        echo 'poweroff -f'
    } >"$work/$name-guest.sh"
    bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-disk.img" "$work/$name-guest.sh" \
        "$work/initrd-$name.img" || { echo "# $name: add-test-script.sh failed"; continue; }
    extra=()
    [ "$name" = kestrel ] && extra=(--stats)
    vmm_args=("$column" "$vmlinuz" "$work/initrd-$name.img" 2 512M "console=ttyS0 panic=-1 quiet" "${extra[@]}"
        "$image,cache=writeback")
    echo "FIO-COLUMN $name $(bash "$repo/tests/e2e/disk-vmm.sh" "${vmm_args[@]:0:6}" --print "${vmm_args[@]:6}")"
    console=$work/$name.console
    timeout 900 bash "$repo/tests/e2e/disk-vmm.sh" "${vmm_args[@]}" </dev/null >"$console" 2>"$work/$name.stderr" &
    pid=$!
    # Sample KVM's counters at each row's announcement and result, as the console shows them.
    seen=0
    while kill -0 "$pid" 2>/dev/null; do
        markers=$(tr -d '\r' <"$console" | grep -E '^FIO-ROW-(BEGIN|END) ')
        count=$(printf '%s' "$markers" | grep -c . || true)
        while [ "$seen" -lt "$count" ]; do
            seen=$((seen + 1))
            read -r marker row_name <<<"$(printf '%s\n' "$markers" | sed -n "${seen}p")"
            if [ "$marker" = FIO-ROW-BEGIN ]; then
                kvm_snapshot "$work/kvm-$row_name.before"
            else
                kvm_snapshot "$work/kvm-$row_name.after"
                echo "FIO-KVM $name $row_name $(kvm_delta "$work/kvm-$row_name.before" "$work/kvm-$row_name.after")"
            fi
        done
        sleep 0.1
    done
    wait "$pid"
    echo "# $name: exit status $?"
    tr -d '\r' <"$console" | sed -n "s/^FIO-GUEST-TERSE /FIO-TERSE $name /p; s/^FIO-GUEST-IRQS /FIO-GUEST-IRQS $name /p"
    sed "s/^/FIO-STATS $name /" "$work/$name.stderr"
done
rm -f "$image"
