#!/bin/sh
# sh vmm-overhead-in-l1.sh LAUNCHER KESTREL KERNEL INITRD BOOTS
# Inside the test host (run by bench/vmm-overhead.sh): BOOTS full boots of a
# guest whose /test.sh powers off, each with --stats under exec_launcher.
# Prints "boot N: status S" and kestrel's startup and memory lines.
launcher=$1 kestrel=$2 kernel=$3 initrd=$4 boots=$5
out=$(mktemp -d /tmp/kestrel-overhead.XXXXXX)
echo OVERHEAD-L1-BEGIN
i=1
while [ "$i" -le "$boots" ]; do
    timeout 300 "$launcher" -- "$kestrel" run --kernel "$kernel" --initrd "$initrd" --kernel-entry bzimage --memory 512M \
        --cmdline "console=ttyS0 panic=-1 quiet" --console "file:$out/console-$i" --stats \
        </dev/null >"$out/launcher-$i" 2>"$out/stderr-$i"
    echo "boot $i: $(cat "$out/launcher-$i"), guest up: $(grep -c OVERHEAD-GUEST-UP "$out/console-$i")"
    grep -E '^(startup|memory|memory peak):' "$out/stderr-$i"
    i=$((i + 1))
done
echo OVERHEAD-L1-END
