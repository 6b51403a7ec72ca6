# Inner part of bench/boot-time.sh; runs where /dev/kvm is real (in the test
# host, or directly). POSIX sh:
#   sh boot-time-in-l1.sh TIMER KERNEL VMLINUX INITRD KESTREL KESTREL_AB LKVM ROUNDS RUN_TIMEOUT CPUS VMMS
# VMLINUX, KESTREL_AB and LKVM may be "-" (that column is then left out by the caller).
#
# Prints machine-readable records for bench/boot-report.sh and bench/boot-printk.sh:
#   BOOT-BEGIN                                   (once; a retried session prints it again)
#   VMM <name> <command>
#   BOOT <vmm> <round> wall_ms=W uptime_s=U startup_ms=S|- run_init_s=R|-
#   FAIL <vmm> <round> <reason>
#   DMESG <vmm> <gap_ms> [time] text             (the last round's printk digest, see boot-time.sh)
#   DMESG-LINES <vmm> <count>                    (lines in that round's whole printk log)
#   BOOT-END
timer=$1 kernel=$2 vmlinux=$3 initrd=$4 kestrel=$5 kestrel_ab=$6 lkvm=$7 rounds=$8 run_timeout=$9
shift 9
cpus=$1 vmms=$2
cmdline='console=ttyS0 panic=-1 quiet printk.time=1'
results=$(mktemp -d /tmp/boot-time.XXXXXX)
# / is read-only in the test host: kestrel's kernel cache and kvmtool's
# socket directory go to this session's fresh directories, so kestrel's first
# default boot is the cold-cache one.
export XDG_CACHE_HOME="$results/cache"
mkdir -p "$XDG_CACHE_HOME" "$results/home"

vmm_command() {  # VMM [EXTRA_CMDLINE]: the command line (shell words, eval'd by the caller)
    line="$cmdline${2:+ $2}"
    case $1 in
        kestrel) echo "'$kestrel' run --kernel '$kernel' --initrd '$initrd' --cmdline '$line' --memory 512M --cpus $cpus --stats" ;;
        kestrel-bzimage) echo "'$kestrel' run --kernel-entry bzimage --kernel '$kernel' --initrd '$initrd' --cmdline '$line' --memory 512M --cpus $cpus --stats" ;;
        kestrel-ab) echo "'$kestrel_ab' run --kernel '$kernel' --initrd '$initrd' --cmdline '$line' --memory 512M --cpus $cpus --stats" ;;
        kestrel-pvh) echo "'$kestrel' run --kernel '$vmlinux' --initrd '$initrd' --cmdline '$line' --memory 512M --cpus $cpus --stats" ;;
        kvmtool) echo "env HOME='$results/home' '$lkvm' run -k '$kernel' -i '$initrd' -p '$line' -c $cpus -m 512 -n mode=none" ;;
        qemu-microvm) echo "qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -enable-kvm -cpu host -smp $cpus -m 512M -nodefaults -display none -serial stdio -no-reboot -kernel '$kernel' -initrd '$initrd' -append '$line'" ;;
        qemu-pc) echo "qemu-system-x86_64 -M pc -enable-kvm -cpu host -smp $cpus -m 512M -nodefaults -display none -serial stdio -no-reboot -kernel '$kernel' -initrd '$initrd' -append '$line'" ;;
        *) echo "false unknown-vmm" ;;
    esac
}

echo BOOT-BEGIN
echo "# $(uname -r), $(nproc) CPU(s), guest: $cpus vCPU(s), 512M; $(qemu-system-x86_64 --version | head -n 1)"
for vmm in $vmms; do
    echo "VMM $vmm $(vmm_command "$vmm")"
done
# Every VMM reads the same files: read them once first so that no VMM pays
# for the first read over 9p.
cat "$kernel" "$initrd" >/dev/null
[ "$vmlinux" = - ] || cat "$vmlinux" >/dev/null

round=1
while [ "$round" -le "$rounds" ]; do
    for vmm in $vmms; do
        # A VMM that failed once is not retried: each failure can cost a timeout.
        [ -f "$results/$vmm.failed" ] && continue
        log=$results/$vmm.$round.log
        # The last round's init also prints a digest of the guest's printk log
        # (after the time is taken, so the console adds no exits before the marker).
        extra=
        [ "$round" -eq "$rounds" ] && extra=bench_dmesg=1
        ms=$(eval "\"\$timer\" --timeout \"\$run_timeout\" --log \"\$log\" --end KESTREL-GUEST-DONE KESTREL-GUEST-INIT -- $(vmm_command "$vmm" "$extra")" 2>"$results/$vmm.err")
        status=$?
        log_text=$(tr -d '\r' <"$log")
        uptime=$(printf '%s\n' "$log_text" | sed -n 's/.*KESTREL-GUEST-INIT uptime=\([0-9.]*\).*/\1/p' | head -n 1)
        if [ "$status" -eq 0 ] && [ -n "$ms" ] && [ -n "$uptime" ]; then
            startup=$(printf '%s\n' "$log_text" | sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' | head -n 1)
            run_init=$(printf '%s\n' "$log_text" | sed -n 's/.*\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' | head -n 1)
            echo "BOOT $vmm $round wall_ms=$ms uptime_s=$uptime startup_ms=${startup:--} run_init_s=${run_init:--}"
            if [ "$round" -eq "$rounds" ]; then
                printf '%s\n' "$log_text" | sed -n "s/^PRINTK \([0-9]\)/DMESG $vmm \1/p; s/^PRINTK-LINES /DMESG-LINES $vmm /p"
            fi
        else
            reason=$(cat "$results/$vmm.err")
            last=$(printf '%s\n' "$log_text" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-160)
            echo "${reason:-no uptime on the marker line}${last:+ (last output: $last)}" >"$results/$vmm.failed"
            echo "FAIL $vmm $round $(cat "$results/$vmm.failed")"
        fi
    done
    round=$((round + 1))
done
echo BOOT-END
rm -rf "$results"
