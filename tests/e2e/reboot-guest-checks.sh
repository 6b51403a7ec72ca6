# Guest reboots that reset the VM (issue 15: `reboot` in the guest comes back, 20 reboots in a row then a
# poweroff that exits 0, a file written and synced before a reboot reads back after it, from a virtio disk),
# sourced by tests/e2e/guest-session.sh; defines reboot_checks and nothing else runs. Uses session-lib.sh's
# helpers and $out, $repo, $vmlinuz, $boots.
#
# reboot_checks VMM RUN REBOOTS [keys]: one kestrel run of build/guest/initrd-disk.img (mkfs.ext4) with a
# virtio disk, 1 vCPU, the default --on-reboot reset. Every boot mounts the disk's ext4 (the first makes it),
# reads the count of boots before it, checks the file the last boot wrote and synced against the sum it wrote
# with it, writes a new random file and its sum, syncs and runs `reboot -f`; the boot after REBOOTS reboots
# unmounts and powers off. With `keys`, the first reboot is `kestrel ctrl-alt-del NAME` through the API rather
# than the guest's own. Passes when kestrel exits 0, the guest booted REBOOTS + 1 times, each file read back
# whole after its reboot, and --stats counts the reboots. Boots: REBOOTS + 1.
reboot_checks() {
    reboot_vmm=$1 reboot_run=$2 reboot_target=$3 reboot_keys=${4:-}
    reboot_name=e2e-reboot-$$
    {
        echo 'PATH=/usr/sbin:/usr/bin:/bin'
        echo "target=$reboot_target keys=$reboot_keys"
        cat <<'GUEST'
mkdir -p /mnt/fs
mount -t ext4 /dev/vda /mnt/fs 2>/dev/null || { mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt/fs; } ||
    echo E2E-RB-NO-FS
n=$(cat /mnt/fs/count 2>/dev/null || echo 0)
echo "E2E-RB-BOOT $n"
if [ "$n" -gt 0 ]; then
    if [ "$(sha256sum /mnt/fs/data | cut -d' ' -f1)" = "$(cat /mnt/fs/data.sum)" ]; then
        echo "E2E-RB-READBACK $n ok"
    else
        echo "E2E-RB-READBACK $n bad"
    fi
fi
if [ "$n" -ge "$target" ]; then
    umount /mnt/fs
    echo E2E-RB-POWEROFF
    poweroff -f
fi
head -c 262144 /dev/urandom >/mnt/fs/data
sha256sum /mnt/fs/data | cut -d' ' -f1 >/mnt/fs/data.sum
echo $((n + 1)) >/mnt/fs/count
sync
if [ "$n" = 0 ] && [ "$keys" = keys ]; then
    echo E2E-RB-WAIT-KEYS
    sleep 150
    echo E2E-RB-NO-KEYS
fi
echo "E2E-RB-REBOOTING $n"
reboot -f
GUEST
    } >"$out/$reboot_run-guest.sh"
    if ! bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-disk.img" \
        "$out/$reboot_run-guest.sh" "$out/initrd-$reboot_run.img" >"$out/$reboot_run-initrd.log" 2>&1; then
        sed 's/^/# /' "$out/$reboot_run-initrd.log"
        not_ok "$reboot_run: add-test-script.sh builds the guest's initrd"
        return
    fi
    truncate -s 64M "$out/$reboot_run-disk.img"
    boots=$((boots + reboot_target + 1))
    reboot_start=$(date +%s)
    : >"$out/$reboot_run.console"
    echo "# $reboot_run: booting at $(date -u +%H:%M:%S), $reboot_target reboots"
    # A writable kernel cache (level 1's / is read-only): every reset reloads the kernel, and without the cache
    # each reload decompresses the bzImage again.
    mkdir -p -m 700 "$out/$reboot_run-cache"
    # shellcheck disable=SC2046 # the name only with keys
    XDG_CACHE_HOME="$out/$reboot_run-cache" timeout -k 10 $((240 + reboot_target * 120)) "$reboot_vmm" run --kernel "$vmlinuz" \
        --initrd "$out/initrd-$reboot_run.img" --cpus 1 --memory 512M --cmdline "console=ttyS0 panic=-1 quiet" \
        --disk "$out/$reboot_run-disk.img" --stats $([ "$reboot_keys" = keys ] && echo --name "$reboot_name") \
        </dev/null >"$out/$reboot_run.console" 2>"$out/$reboot_run.stderr" &
    reboot_pid=$!
    if [ "$reboot_keys" = keys ]; then
        wait_for_console_line "$out/$reboot_run.console" E2E-RB-WAIT-KEYS "$reboot_pid"
        ctrl_alt_del_check "$reboot_vmm" "$reboot_name" "$reboot_run"
    fi
    # A line per boot while it runs: the session's idle timeout counts silence as a stalled level 1.
    reboot_seen=0
    while kill -0 "$reboot_pid" 2>/dev/null; do
        sleep 2
        reboot_now=$(tr -d '\r' <"$out/$reboot_run.console" | grep -c '^E2E-RB-BOOT ')
        if [ "$reboot_now" != "$reboot_seen" ]; then
            reboot_seen=$reboot_now
            echo "# $reboot_run: boot $reboot_now of $((reboot_target + 1)) at $(date -u +%H:%M:%S)"
        fi
    done
    wait "$reboot_pid"
    echo $? >"$out/$reboot_run.status"
    reboot_seconds=$(($(date +%s) - reboot_start))
    echo "# $reboot_run: status $(cat "$out/$reboot_run.status") after $reboot_seconds s"
    grep '^reboots:' "$out/$reboot_run.stderr" | sed "s/^/# $reboot_run: /"
    reboot_boots=$(tr -d '\r' <"$out/$reboot_run.console" | grep -c '^E2E-RB-BOOT ')
    reboot_good=$(tr -d '\r' <"$out/$reboot_run.console" | grep -c '^E2E-RB-READBACK [0-9]* ok$')
    if [ "$reboot_keys" = keys ]; then
        check "$reboot_run: the guest came back after kestrel ctrl-alt-del" \
            sh -c "tr -d '\r' <'$out/$reboot_run.console' | grep -q '^E2E-RB-BOOT 1\$' &&
                   ! grep -q E2E-RB-NO-KEYS '$out/$reboot_run.console'"
    fi
    check "$reboot_run: the guest booted $((reboot_target + 1)) times ($reboot_boots)" \
        test "$reboot_boots" = $((reboot_target + 1))
    check "$reboot_run: each reboot's file read back whole after it ($reboot_good of $reboot_target)" \
        test "$reboot_good" = "$reboot_target"
    check "$reboot_run: the last boot powered off" grep -q '^E2E-RB-POWEROFF' "$out/$reboot_run.console"
    check "$reboot_run: kestrel exits 0 on the poweroff" status_is "$reboot_run" 0
    check "$reboot_run: --stats counts $reboot_target reboots" \
        grep -q "^reboots: $reboot_target; reset -> first KVM_RUN" "$out/$reboot_run.stderr"
    check "$reboot_run: no sanitizer report" sh -c "! grep -qE 'Sanitizer|runtime error' '$out/$reboot_run.stderr'"
    status_is "$reboot_run" 0 || show_tail "$reboot_run"
}
