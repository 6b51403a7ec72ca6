# The block trace of a real guest (issue 14, "a trace of a known fio job
# matches it in the summary"), sourced after disk-checks.sh (its disk_boot,
# disk_guest_initrd and $disk_vmm; session-lib.sh's helpers). One boot, 1 vCPU:
# fio writes 32 MiB to /dev/vda sequentially in 512 KiB requests (iodepth 1,
# so the block layer has nothing to merge), then reads 2 000 random 4 KiB
# blocks; kestrel traces vda to a file in level 1 and `kestrel trace-plot
# --summary` must tell that story: the writes sequential, the reads not, the
# two sizes on top, nothing dropped. Boots: 1.
trace_file=$out/vda.trace
truncate -s 64M "$out/traced.img"
{
    echo 'PATH=/usr/sbin:/usr/bin:/bin'
    cat <<'GUEST'
fio --name=sequential --filename=/dev/vda --ioengine=libaio --direct=1 --rw=write --bs=512k --iodepth=1 \
    --size=32M >/tmp/fio-write.log 2>&1
echo "E2E-TRACE-WRITE-STATUS $?"
fio --name=random --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randread --bs=4k --iodepth=8 \
    --size=64M --number_ios=2000 --randseed=14 >/tmp/fio-read.log 2>&1
echo "E2E-TRACE-READ-STATUS $?"
poweroff -f
GUEST
} >"$out/disk-trace-guest.sh"
# trace_sequential KIND: from the summary's queue 0 line, "writes" or "reads" as "SEQUENTIAL TOTAL".
trace_sequential() {
    sed -n "s/^  queue 0: .*$1 [0-9.]*% (\([0-9]*\) of \([0-9]*\)).*/\1 \2/p" "$out/trace-summary.txt"
}
trace_top_count() { # trace_top_count SIZE: how many requests of SIZE ("512 KiB") the summary's top list counts
    sed -n "s/^sizes .*top:.* $1 x\([0-9]*\).*/\1/p" "$out/trace-summary.txt"
}
# share_at_least PART TOTAL PERCENT
share_at_least() { [ "$2" -gt 0 ] && [ $(($1 * 100)) -ge $(($2 * $3)) ]; }
share_at_most() { [ $(($1 * 100)) -le $(($2 * $3)) ]; }
if disk_guest_initrd disk-trace; then
    disk_boot disk-trace "$out/initrd-disk-trace.img" 1 "$out/traced.img,trace=$trace_file"
    check "disk-trace: exits with status 0 on poweroff" status_is disk-trace 0
    check "disk-trace: fio's sequential 512 KiB writes succeed" \
        test "$(console_value disk-trace E2E-TRACE-WRITE-STATUS)" = 0
    check "disk-trace: fio's random 4 KiB reads succeed" test "$(console_value disk-trace E2E-TRACE-READ-STATUS)" = 0
    "$disk_vmm" trace-plot --summary "$trace_file" >"$out/trace-summary.txt" 2>&1
    echo $? >"$out/trace-summary.status"
    sed 's/^/# disk-trace summary: /' "$out/trace-summary.txt"
    check "disk-trace: kestrel trace-plot --summary reads the trace" test "$(cat "$out/trace-summary.status")" = 0
    check "disk-trace: the trace is finished, nothing dropped" grep -q 'finished, 0 records dropped' "$out/trace-summary.txt"
    # shellcheck disable=SC2046 # two numbers, split on purpose
    set -- $(trace_sequential writes) 0 0
    write_sequential=$1 write_total=$2
    # shellcheck disable=SC2046
    set -- $(trace_sequential reads) 0 0
    read_sequential=$1 read_total=$2
    check "disk-trace: the writes are sequential (>= 95%: $write_sequential of $write_total)" \
        share_at_least "$write_sequential" "$write_total" 95
    check "disk-trace: the reads are random (<= 10% sequential: $read_sequential of $read_total)" \
        share_at_most "$read_sequential" "$read_total" 10
    check "disk-trace: 64 writes of 512 KiB (32 MiB), as fio issued them" test "$(trace_top_count '512 KiB')" = 64
    small_reads=$(trace_top_count '4 KiB')
    check "disk-trace: at least 2 000 reads of 4 KiB" test "${small_reads:-0}" -ge 2000
    status_is disk-trace 0 || show_tail disk-trace
else
    not_ok "disk-trace: add-test-script.sh builds the guest's initrd"
fi
