# virtio-blk checks for a real guest (issue 12, "In the test host"), sourced by
# tests/e2e/guest-session.sh (kestrel) and tests/e2e/disk-session.sh (any VMM,
# QEMU to validate the guest side). Uses session-lib.sh's helpers and $out,
# $repo, $vmlinuz, $boot_timeout, $boots; $disk_vmm is the VMM for
# tests/e2e/disk-vmm.sh (a kestrel binary or "qemu"). The guest is
# build/guest/initrd-disk.img (run.sh builds it; mkfs.ext4, e2fsck, fio).
# Boots: 2 + $disk_durability_runs.
#
# Boot disk-mq, 2 vCPUs: vda (packed ring, the default) carries an ext4 file
#   system the guest makes and fills; vdb takes fio's verified random writes
#   from 2 jobs on 2 CPUs, then a DISCARD of the whole disk.
# Boot disk-split, 1 vCPU: vda with packed=off and cache=none on an ext4 file
#   system in level 1 (tmpfs has no O_DIRECT) carries the file system again;
#   vdb is readonly=on; vdc is a sparse image bigger than the tmpfs that holds
#   it: the guest's writes fail once it is full, and the VM carries on.
# Then disk-durability.sh: records flushed one by one, kestrel killed with
#   SIGKILL at a random moment, every acknowledged record on the image.
disk_durability_runs=5
disk_initrd=$repo/build/guest/initrd-disk.img
disk_cmdline="console=ttyS0 panic=-1 quiet"
disk_vmm=${disk_vmm:-$kestrel}

disk_boot() { # disk_boot RUN INITRD CPUS DISK-SPEC...: status in $out/RUN.status
    run=$1 initrd=$2 cpus=$3
    shift 3
    boots=$((boots + 1))
    start=$(date +%s)
    # A line before each boot: a stall after it is the guest's or L1's, not the set-up's.
    echo "# $run: booting at $(date -u +%H:%M:%S)"
    timeout -k 10 "$boot_timeout" bash "$repo/tests/e2e/disk-vmm.sh" "$disk_vmm" "$vmlinuz" "$initrd" "$cpus" 512M \
        "$disk_cmdline" "$@" </dev/null >"$out/$run.console" 2>"$out/$run.stderr"
    echo $? >"$out/$run.status"
    echo "# $run: status $(cat "$out/$run.status") after $(($(date +%s) - start)) s"
}
disk_guest_initrd() { # disk_guest_initrd NAME: $out/NAME-guest.sh (written by the caller) -> $out/initrd-NAME.img
    bash "$repo/tests/testhost/add-test-script.sh" "$disk_initrd" "$out/$1-guest.sh" "$out/initrd-$1.img" \
        >"$out/$1-initrd.log" 2>&1 || { sed 's/^/# /' "$out/$1-initrd.log"; return 1; }
}
# disk_files_match RUN IMAGE: every "E2E-DISK-FILE NAME SHA256" the guest printed matches the file in IMAGE
disk_files_match() {
    tr -d '\r' <"$out/$1.console" | sed -n 's/^E2E-DISK-FILE //p' >"$out/$1.files"
    [ "$(wc -l <"$out/$1.files")" -ge 3 ] || return 1
    while read -r file_name guest_sum; do
        host_sum=$(debugfs -R "cat $file_name" "$2" 2>/dev/null | sha256sum | cut -d' ' -f1)
        echo "# $1: $file_name guest $guest_sum host $host_sum"
        [ "$host_sum" = "$guest_sum" ] || return 1
    done <"$out/$1.files"
}
disk_fsck_clean() { # disk_fsck_clean RUN IMAGE
    e2fsck -fn "$2" >"$out/$1.fsck" 2>&1
    fsck_status=$?
    sed "s/^/# $1 e2fsck: /" "$out/$1.fsck" | tail -n 8
    [ "$fsck_status" = 0 ]
}
disk_fs_checks() { # disk_fs_checks RUN LABEL IMAGE: the guest's file system on vda, seen from the host
    check "$1 ($2): mkfs.ext4, files, sync, unmount in the guest" test "$(console_value "$1" E2E-DISK-FS-DONE)" = vda
    check "$1 ($2): e2fsck -fn on the host is clean" disk_fsck_clean "$1" "$3"
    check "$1 ($2): the files' sha256 match on the host" disk_files_match "$1" "$3"
}
disk_kib_used() { du -k "$1" | cut -f1; }
# The negotiated features, one character per bit: VIRTIO_F_RING_PACKED is bit 34.
disk_guest_packed_line='echo "E2E-DISK-VDA-PACKED $(cut -c35 /sys/block/vda/device/features)"'

# The guest's file-system steps on /dev/$1, shared by both boots: mkfs, three
# files (random, text, in a directory), their checksums, unmount, sync.
disk_guest_fs_steps() {
    cat <<GUEST
mkdir -p /mnt/fs
if mkfs.ext4 -q -F /dev/$1 && mount -t ext4 /dev/$1 /mnt/fs; then
    dd if=/dev/urandom of=/mnt/fs/random.bin bs=64k count=48 2>/dev/null
    seq 1 20000 >/mnt/fs/numbers.txt
    mkdir -p /mnt/fs/dir && head -c 300000 /dev/urandom >/mnt/fs/dir/nested.bin
    for file in /random.bin /numbers.txt /dir/nested.bin; do
        echo "E2E-DISK-FILE \$file \$(sha256sum /mnt/fs\$file | cut -d' ' -f1)"
    done
    umount /mnt/fs && sync && echo "E2E-DISK-FS-DONE $1"
fi
GUEST
}

if [ ! -f "$disk_initrd" ]; then
    not_ok "disk: the disk guest's initrd exists ($disk_initrd; run.sh builds it)"
else
# --- boot disk-mq ----------------------------------------------------------------------------------
    truncate -s 64M "$out/fs-packed.img"
    truncate -s 64M "$out/scratch.img"
    # 32 MiB of data, so that DISCARD has blocks to free.
    dd if=/dev/urandom of="$out/scratch.img" bs=1M count=32 conv=notrunc status=none
    scratch_kib_before=$(disk_kib_used "$out/scratch.img")
    {
        echo 'PATH=/usr/sbin:/usr/bin:/bin'
        echo 'echo "E2E-DISK-VDA-BYTES $(($(cat /sys/block/vda/size) * 512))"'
        echo 'echo "E2E-DISK-VDB-BYTES $(($(cat /sys/block/vdb/size) * 512))"'
        echo 'echo "E2E-DISK-VDA-QUEUES $(ls -d /sys/block/vda/mq/[0-9]* | wc -l)"'
        echo "$disk_guest_packed_line"
        disk_guest_fs_steps vda
        cat <<'GUEST'
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
fio --name=verify --filename=/dev/vdb --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=8 \
    --size=8M --numjobs=2 --offset_increment=8M --cpus_allowed=0-1 --cpus_allowed_policy=split \
    --verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting >/tmp/fio.log 2>&1
echo "E2E-DISK-FIO-STATUS $?"
grep -iE 'verify|err=' /tmp/fio.log | head -n 5 | sed 's/^/E2E-DISK-FIO-LOG /'
# fio's jobs run on CPUs 0 and 1 (cpus_allowed_policy=split); blk-mq sends each CPU's requests to the
# queue whose cpu_list holds it. (6.1's blk-mq debugfs has no per-queue request counts: "queued",
# "dispatched" are gone, "run" stays 0.)
echo "E2E-DISK-VDB-CPU-LISTS $(cat /sys/block/vdb/mq/0/cpu_list)/$(cat /sys/block/vdb/mq/1/cpu_list)"
grep virtio /proc/interrupts | sed 's/^/E2E-DISK-INTERRUPTS /'
blkdiscard /dev/vdb
echo "E2E-DISK-DISCARD-STATUS $?"
poweroff -f
GUEST
    } >"$out/disk-mq-guest.sh"
    if disk_guest_initrd disk-mq; then
        disk_boot disk-mq "$out/initrd-disk-mq.img" 2 "$out/fs-packed.img" "$out/scratch.img"
        check "disk-mq: exits with status 0 on poweroff" status_is disk-mq 0
        check "disk-mq: the guest sees /dev/vda with the image's 64 MiB" \
            test "$(console_value disk-mq E2E-DISK-VDA-BYTES)" = 67108864
        check "disk-mq: 2 queues under /sys/block/vda/mq for 2 vCPUs" \
            test "$(console_value disk-mq E2E-DISK-VDA-QUEUES)" = 2
        check "disk-mq: two disks at once (vdb has its 64 MiB too)" \
            test "$(console_value disk-mq E2E-DISK-VDB-BYTES)" = 67108864
        check "disk-mq: the guest drives vda with the packed ring (the default)" \
            test "$(console_value disk-mq E2E-DISK-VDA-PACKED)" = 1
        disk_fs_checks disk-mq "packed ring" "$out/fs-packed.img"
        check "disk-mq: fio --verify=crc32c, 2 jobs on 2 CPUs: no verify errors" \
            test "$(console_value disk-mq E2E-DISK-FIO-STATUS)" = 0
        check "disk-mq: vdb's queue 0 serves CPU 0 and queue 1 CPU 1, where fio's two jobs run" \
            test "$(console_value disk-mq E2E-DISK-VDB-CPU-LISTS)" = 0/1
        scratch_kib_after=$(disk_kib_used "$out/scratch.img")
        echo "# disk-mq: scratch image uses $scratch_kib_before KiB before, $scratch_kib_after KiB after DISCARD"
        check "disk-mq: DISCARD succeeds in the guest" test "$(console_value disk-mq E2E-DISK-DISCARD-STATUS)" = 0
        check "disk-mq: DISCARD frees the image's blocks (du shrinks below half)" \
            test "$scratch_kib_after" -lt $((scratch_kib_before / 2))
        tr -d '\r' <"$out/disk-mq.console" | grep '^E2E-DISK' | sed 's/^/# disk-mq: /'
        status_is disk-mq 0 || show_tail disk-mq
    else
        not_ok "disk-mq: add-test-script.sh builds the guest's initrd"
    fi

# --- boot disk-split -------------------------------------------------------------------------------
    # cache=none needs O_DIRECT: an ext4 file system on a loop device in level 1.
    direct_dir=$out/direct
    small_dir=$out/small
    mkdir -p "$direct_dir" "$small_dir"
    truncate -s 200M "$out/direct-backing.img"
    if mkfs.ext4 -q -F "$out/direct-backing.img" >"$out/direct-mkfs.log" 2>&1 &&
       mount -o loop "$out/direct-backing.img" "$direct_dir" >>"$out/direct-mkfs.log" 2>&1 &&
       dd if=/dev/zero of="$direct_dir/probe" bs=4k count=1 oflag=direct status=none >>"$out/direct-mkfs.log" 2>&1; then
        ok "disk-split: an ext4 file system with O_DIRECT for cache=none (loop device in the test host)"
    else
        sed 's/^/# /' "$out/direct-mkfs.log"
        not_ok "disk-split: an ext4 file system with O_DIRECT for cache=none (loop device in the test host)"
        direct_dir=$out
    fi
    truncate -s 64M "$direct_dir/fs-split.img"
    # The read-only disk: 8 MiB of data whose checksum must not change.
    dd if=/dev/urandom of="$out/readonly.img" bs=1M count=8 status=none
    readonly_sum=$(sha256sum "$out/readonly.img" | cut -d' ' -f1)
    # A 64 MiB sparse image on a 16 MiB file system: writes past 16 MiB find it full.
    mount -t tmpfs -o size=16M tmpfs "$small_dir"
    truncate -s 64M "$small_dir/full.img"
    {
        echo 'PATH=/usr/sbin:/usr/bin:/bin'
        echo 'echo "E2E-DISK-VDA-QUEUES $(ls -d /sys/block/vda/mq/[0-9]* | wc -l)"'
        echo "$disk_guest_packed_line"
        cat <<'GUEST'
echo "E2E-DISK-VDB-RO $(cat /sys/block/vdb/ro)"
dd if=/dev/zero of=/dev/vdb bs=4k count=1 oflag=direct conv=fsync 2>/dev/null
echo "E2E-DISK-VDB-WRITE-STATUS $?"
# A hostile guest clears its own read-only flag: the device must refuse the write itself.
blockdev --setrw /dev/vdb 2>/dev/null
dd if=/dev/zero of=/dev/vdb bs=4k count=1 seek=7 oflag=direct conv=fsync 2>/dev/null
echo "E2E-DISK-VDB-FORCED-WRITE-STATUS $?"
echo "E2E-DISK-VDB-SHA256 $(head -c 8388608 /dev/vdb | sha256sum | cut -d' ' -f1)"
dd if=/dev/zero of=/dev/vdc bs=1M count=40 oflag=direct 2>/dev/null
echo "E2E-DISK-VDC-WRITE-STATUS $?"
echo "E2E-DISK-VDC-IO-ERRORS $(dmesg | grep -c 'I/O error, dev vdc')"
GUEST
        disk_guest_fs_steps vda
        echo 'poweroff -f'
    } >"$out/disk-split-guest.sh"
    if disk_guest_initrd disk-split; then
        disk_boot disk-split "$out/initrd-disk-split.img" 1 "$direct_dir/fs-split.img,packed=off,cache=none" \
            "$out/readonly.img,readonly=on" "$small_dir/full.img"
        check "disk-split: exits with status 0 on poweroff (after the full disk's errors)" status_is disk-split 0
        check "disk-split: 1 queue under /sys/block/vda/mq for 1 vCPU" \
            test "$(console_value disk-split E2E-DISK-VDA-QUEUES)" = 1
        check "disk-split: with packed=off the guest drives vda with the split ring" \
            test "$(console_value disk-split E2E-DISK-VDA-PACKED)" = 0
        disk_fs_checks disk-split "split ring, cache=none" "$direct_dir/fs-split.img"
        check "disk-split: readonly=on shows as read-only in the guest" test "$(console_value disk-split E2E-DISK-VDB-RO)" = 1
        check "disk-split: readonly=on: the guest's write fails" \
            test "$(console_value disk-split E2E-DISK-VDB-WRITE-STATUS)" -ne 0
        check "disk-split: readonly=on: a write after blockdev --setrw fails too" \
            test "$(console_value disk-split E2E-DISK-VDB-FORCED-WRITE-STATUS)" -ne 0
        check "disk-split: readonly=on: the guest reads the image's data" \
            test "$(console_value disk-split E2E-DISK-VDB-SHA256)" = "$readonly_sum"
        check "disk-split: readonly=on: the image's sha256 is unchanged" \
            test "$(sha256sum "$out/readonly.img" | cut -d' ' -f1)" = "$readonly_sum"
        check "disk-split: full backing file system: the guest's write fails" \
            test "$(console_value disk-split E2E-DISK-VDC-WRITE-STATUS)" -ne 0
        check "disk-split: full backing file system: the guest sees I/O errors" \
            test "$(console_value disk-split E2E-DISK-VDC-IO-ERRORS)" -gt 0
        tr -d '\r' <"$out/disk-split.console" | grep '^E2E-DISK' | sed 's/^/# disk-split: /'
        status_is disk-split 0 || show_tail disk-split
    else
        not_ok "disk-split: add-test-script.sh builds the guest's initrd"
    fi
    umount "$small_dir" 2>/dev/null
    [ "$direct_dir" = "$out" ] || umount "$direct_dir" 2>/dev/null

# --- kill -9 durability ----------------------------------------------------------------------------
    # Each run's line as it comes: five runs in silence would look like a stalled test host.
    bash "$repo/tests/e2e/disk-durability.sh" "$disk_vmm" "$out/durability" "$disk_durability_runs" \
        "$boot_timeout" 2>&1 | tee "$out/durability.log" |
        sed -u -n -e 's/^DURABILITY-RUN /# durability: run /p' -e t -e 's/^# /# durability: /p'
    boots=$((boots + disk_durability_runs))
    durability_summary=$(sed -n 's/^DURABILITY-SUMMARY //p' "$out/durability.log")
    check "kill -9 durability: $disk_durability_runs runs, every acknowledged record on the image ($durability_summary)" \
        test "$durability_summary" = "runs=$disk_durability_runs good=$disk_durability_runs lost=0"
fi
