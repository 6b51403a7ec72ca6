# Inner part of bench/boot-time.sh; runs where /dev/kvm is real (in the test
# host, or directly). sh boot-time-in-l1.sh TIMER KERNEL INITRD KESTREL ROUNDS
# RUN_TIMEOUT VMMS
timer=$1 kernel=$2 initrd=$3 kestrel=$4 rounds=$5 run_timeout=$6 vmms=$7
cmdline='console=ttyS0 panic=-1 quiet'
results=$(mktemp -d /tmp/boot-time.XXXXXX)

vmm_command() {  # prints the command line for VMM $1 (shell words, eval'd by the caller)
    case $1 in
        kestrel) echo "'$kestrel' run --kernel '$kernel' --initrd '$initrd' --cmdline '$cmdline' --memory 512M" ;;
        qemu-microvm) echo "qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -enable-kvm -cpu host -m 512M -nodefaults -display none -serial stdio -no-reboot -kernel '$kernel' -initrd '$initrd' -append '$cmdline'" ;;
        qemu-pc) echo "qemu-system-x86_64 -M pc -enable-kvm -cpu host -m 512M -nodefaults -display none -serial stdio -no-reboot -kernel '$kernel' -initrd '$initrd' -append '$cmdline'" ;;
    esac
}

echo "# $(uname -r), $(nproc) CPU(s), $(qemu-system-x86_64 --version | head -n 1)"
for vmm in $vmms; do
    echo "# $vmm: $(vmm_command "$vmm")"
    : >"$results/$vmm.ms"
done

round=1
while [ "$round" -le "$rounds" ]; do
    for vmm in $vmms; do
        # A VMM that failed once is not retried: each failure can cost a timeout.
        [ -f "$results/$vmm.failed" ] && continue
        log=$results/$vmm.$round.log
        ms=$(eval "\"\$timer\" --timeout \"\$run_timeout\" --log \"\$log\" KESTREL-GUEST-INIT -- $(vmm_command "$vmm")" 2>"$results/$vmm.err")
        status=$?
        if [ "$status" -eq 0 ] && [ -n "$ms" ]; then
            echo "$ms" >>"$results/$vmm.ms"
            echo "# round $round $vmm: $ms ms"
        else
            reason=$(cat "$results/$vmm.err")
            last=$(tr -d '\r' <"$log" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-160)
            echo "$reason${last:+ (last output: $last)}" >"$results/$vmm.failed"
            echo "# round $round $vmm: failed: $(cat "$results/$vmm.failed")"
        fi
    done
    round=$((round + 1))
done

median() {  # median of the numbers in file $1
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "| VMM | median exec -> init (ms) | min | max | boots |"
echo "| --- | ---: | ---: | ---: | ---: |"
for vmm in $vmms; do
    file=$results/$vmm.ms
    count=$(wc -l <"$file")
    if [ -f "$results/$vmm.failed" ] || [ "$count" -eq 0 ]; then
        echo "| $vmm | failed | | | $count/$rounds |"
        continue
    fi
    echo "$(median "$file")" >"$results/$vmm.median"
    echo "| $vmm | $(cat "$results/$vmm.median") | $(sort -n "$file" | head -n 1) | $(sort -n "$file" | tail -n 1) | $count/$rounds |"
done
echo
if [ -f "$results/kestrel.median" ]; then
    for vmm in $vmms; do
        [ "$vmm" = kestrel ] && continue
        [ -f "$results/$vmm.median" ] || continue
        awk -v k="$(cat "$results/kestrel.median")" -v q="$(cat "$results/$vmm.median")" -v name="$vmm" \
            'BEGIN { printf "kestrel / %s: %.2f\n", name, k / q }'
    done
else
    echo "kestrel / QEMU: n/a (kestrel did not boot: $(cat "$results/kestrel.failed" 2>/dev/null || echo 'not measured'))"
fi
rm -rf "$results"
