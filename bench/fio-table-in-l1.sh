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
#   FIO-TRACE NAME LINE            the trace's summary (the trace variant)
#   FIO-ROUND N                    the columns that follow are round N's (KESTREL_BENCH_FIO_ROUNDS)
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
randwrite-4k-qd32:randwrite:4k:32 write-512k-qd4:write:512k:4 read-512k-qd4:read:512k:4"
# KESTREL_BENCH_FIO_ROWS="NAME..." measures only those rows (e.g. one the test host crashed on).
if [ -n "${KESTREL_BENCH_FIO_ROWS:-}" ]; then
    wanted_rows=
    for row in $rows; do
        case " $KESTREL_BENCH_FIO_ROWS " in *" ${row%%:*} "*) wanted_rows="$wanted_rows $row" ;; esac
    done
    rows=$wanted_rows
fi
fio_common="--size=256M --time_based --runtime=$runtime --ramp_time=2 --numjobs=1 --group_reporting --output-format=terse --terse-version=3"

dd if=/dev/zero of="$image" bs=1M count=256 status=none
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
kvm_counters="exits io_exits mmio_exits halt_exits irq_injections irq_exits"
# KESTREL_BENCH_FIO_EXIT_REASONS=1: also count level 1's kvm_exit events per exit reason (a hist trigger; on
# SVM 0x400 is a nested page fault, which is how a guest's notify write reaches an ioeventfd).
exit_hist=/sys/kernel/debug/tracing/events/kvm/kvm_exit/hist
declare -A reasons_before=()
exit_reasons=${KESTREL_BENCH_FIO_EXIT_REASONS:-0}
if [ "$exit_reasons" = 1 ]; then
    echo 'hist:keys=exit_reason:size=256' >/sys/kernel/debug/tracing/events/kvm/kvm_exit/trigger 2>/dev/null ||
        echo "# exit reasons: no kvm_exit hist trigger in level 1"
fi
# reasons_read ARRAY: exit reason -> count, from the hist file.
reasons_read() {
    local -n into=$1
    local line key count
    into=()
    [ -r "$exit_hist" ] || return 0
    while IFS= read -r line; do
        case $line in
            "{ exit_reason:"*"hitcount:"*)
                # "{ exit_reason:       1024 } hitcount:      12345"
                read -r _ _ key _ _ count _ <<<"$line"
                into[$key]=$count ;;
        esac
    done <"$exit_hist"
}
declare -A kvm_before=()
kvm_read() { # kvm_read COUNTER: its value, with the read builtin (spawning processes in level 1 costs its CPUs)
    local value=0
    read -r value 2>/dev/null <"/sys/kernel/debug/kvm/$1" || value=0
    echo "$value"
}
# handle_console_line NAME LINE: row markers sample KVM's counters; results are reported as they come.
handle_console_line() {
    local name=$1 line=${2%$'\r'} row counter delta=
    case $line in
        "FIO-ROW-BEGIN "*)
            [ "$exit_reasons" = 1 ] && reasons_read reasons_before
            for counter in $kvm_counters; do
                read -r "kvm_before[$counter]" 2>/dev/null <"/sys/kernel/debug/kvm/$counter" || kvm_before[$counter]=0
            done ;;
        "FIO-GUEST-TERSE "*) echo "FIO-TERSE $name ${line#FIO-GUEST-TERSE }" ;;
        "FIO-GUEST-IRQS "*) echo "FIO-GUEST-IRQS $name ${line#FIO-GUEST-IRQS }" ;;
        "FIO-ROW-END "*)
            row=${line#FIO-ROW-END }
            for counter in $kvm_counters; do
                delta+="$counter=$(($(kvm_read "$counter") - ${kvm_before[$counter]:-0})) "
            done
            echo "FIO-KVM $name $row $delta"
            if [ "$exit_reasons" = 1 ]; then
                local -A reasons_after=()
                reasons_read reasons_after
                local key reasons=
                for key in "${!reasons_after[@]}"; do
                    reasons+="$key=$((reasons_after[$key] - ${reasons_before[$key]:-0})) "
                done
                echo "FIO-EXIT-REASONS $name $row $reasons"
            fi ;;
    esac
}

echo "# level 1: $(nproc) CPUs, $(uname -r); $(qemu-system-x86_64 --version | head -n 1); $(fio --version)"
# measure_column COLUMN: one column's rows, as described above.
measure_column() {
    local column=$1
    if [ "$column" = host ]; then
        echo "FIO-COLUMN host fio --filename=$image --ioengine=io_uring --direct=0 $fio_common"
        for row in $rows; do
            IFS=: read -r name rw bs depth <<<"$row"
            line=$(fio --name="$name" --filename="$image" --ioengine=io_uring --direct=0 --rw="$rw" --bs="$bs" \
                --iodepth="$depth" $fio_common 2>&1 | grep '^3;' | head -n 1)
            echo "FIO-TERSE host $name $line"
        done
        return
    fi
    # A column is "qemu" or a kestrel binary, either followed by variants "#VARIANT" that also name it
    # (PATH#poll#haltpoll is kestrel-poll-haltpoll):
    #   poll      kestrel with poll_us (QEMU's iothread polls up to 32 us by default; kestrel does not)
    #   split     kestrel with packed=off (QEMU's default ring layout)
    #   haltpoll  the guest idles with cpuidle_haltpoll.force=1 (KVM_FEATURE_POLL_CONTROL)
    #   iothreadsN kestrel with iothreads=N (QEMU's column has one iothread for its 2 queues)
    #   nostats   names the column only: fio-table.sh passed the binary built without the queue counters
    #   trace     kestrel with trace= to a file on level 1's tmpfs, summarized after the column
    #   noseccomp kestrel with --seccomp off (the filters' cost, issue 15), through a wrapper that adds the option
    local variants name disk_options guest_cmdline variant row row_name rw bs depth trace=
    variants=${column#*#}
    [ "$variants" != "$column" ] || variants=
    column=${column%%#*}
    name=kestrel
    [ "$column" = qemu ] && name=qemu
    disk_options= guest_cmdline="console=ttyS0 panic=-1 quiet"
    for variant in ${variants//#/ }; do
        case $variant in
            poll) disk_options+=",poll_us=${KESTREL_BENCH_FIO_POLL_US:-32}" ;;
            split) disk_options+=",packed=off" ;;
            haltpoll) guest_cmdline+=" cpuidle_haltpoll.force=1" ;;
            iothreads[0-9]*) disk_options+=",iothreads=${variant#iothreads}" ;;
            nostats) ;;
            trace) trace=/run/fio-bench/trace.trace; rm -f "$trace"; disk_options+=",trace=$trace" ;;
            noseccomp)
                # disk-vmm.sh takes a VMM binary: this one execs kestrel with the option added, so a kill still
                # reaches kestrel itself.
                printf '#!/bin/sh\nexec %q "$@" --seccomp off\n' "$column" >"$work/kestrel-noseccomp"
                chmod +x "$work/kestrel-noseccomp"
                echo "# noseccomp: $work/kestrel-noseccomp runs: $(tail -n 1 "$work/kestrel-noseccomp")"
                column=$work/kestrel-noseccomp ;;
            *) echo "# unknown column variant '$variant'"; return ;;
        esac
        name+=-$variant
    done
    {
        echo 'PATH=/usr/sbin:/usr/bin:/bin'
        echo 'virtio_irqs() { awk '\''/virtio/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }'\'' /proc/interrupts; }'
        for row in $rows; do
            IFS=: read -r row_name rw bs depth <<<"$row"
            echo "echo FIO-ROW-BEGIN $row_name; before=\$(virtio_irqs); sleep 1"
            echo "line=\$(fio --name=$row_name --filename=/dev/vda --ioengine=libaio --direct=1 --rw=$rw --bs=$bs --iodepth=$depth $fio_common 2>&1 | grep '^3;' | head -n 1)"
            # Results before the END marker: this script reports a row when it sees its END, so a
            # later stall of the test host loses only the rows not yet done.
            echo "echo \"FIO-GUEST-TERSE $row_name \$line\"; echo \"FIO-GUEST-IRQS $row_name \$((\$(virtio_irqs) - before))\"; echo \"FIO-ROW-END $row_name\"; sleep 1"
        done
        echo 'poweroff -f'
    } >"$work/$name-guest.sh"
    bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-disk.img" "$work/$name-guest.sh" \
        "$work/initrd-$name.img" || { echo "# $name: add-test-script.sh failed"; return; }
    local extra=() vmm_args console pid chunk partial
    [ "$column" = qemu ] || extra=(--stats)
    vmm_args=("$column" "$vmlinuz" "$work/initrd-$name.img" 2 512M "$guest_cmdline" "${extra[@]}"
        "$image,cache=writeback$disk_options")
    echo "FIO-COLUMN $name $(bash "$repo/tests/e2e/disk-vmm.sh" "${vmm_args[@]:0:6}" --print "${vmm_args[@]:6}")"
    console=$work/$name.console
    : >"$console"  # exists before the reader below opens it
    timeout 900 bash "$repo/tests/e2e/disk-vmm.sh" "${vmm_args[@]}" </dev/null >"$console" 2>"$work/$name.stderr" &
    pid=$!
    # Follow the console with bash's read (no process per line): KVM's counters are sampled when a row's
    # announcement and its result appear, within a quarter second.
    exec 4<"$console"
    partial=
    while :; do
        chunk=
        if IFS= read -r chunk <&4; then
            handle_console_line "$name" "$partial$chunk"
            partial=
            continue
        fi
        partial+=$chunk
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    while IFS= read -r chunk <&4 || [ -n "$chunk" ]; do
        handle_console_line "$name" "$partial$chunk"
        partial= chunk=
    done
    exec 4<&-
    wait "$pid"
    echo "# $name: exit status $?"
    sed "s/^/FIO-STATS $name /" "$work/$name.stderr"
    if [ -n "$trace" ]; then
        "$column" trace-plot --summary "$trace" 2>&1 | sed "s/^/FIO-TRACE $name /"
        rm -f "$trace"
    fi
}

# KESTREL_BENCH_FIO_ROUNDS=N: N rounds of every column, round r starting at column r (so each column is measured
# early and late in the session alike, and a drift of level 1's speed hits every column).
rounds=${KESTREL_BENCH_FIO_ROUNDS:-1}
columns=("$@")
for ((round = 1; round <= rounds; round++)); do
    [ "$rounds" = 1 ] || echo "FIO-ROUND $round"
    for ((i = 0; i < ${#columns[@]}; i++)); do
        measure_column "${columns[(i + round - 1) % ${#columns[@]}]}"
    done
done
rm -f "$image"
