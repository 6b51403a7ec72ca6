#!/bin/sh
# sh vmm-overhead-kernel-entry-in-l1.sh LAUNCHER KESTREL KERNEL INITRD [PHASES]
# Inside the test host (run by bench/vmm-overhead-kernel-entry.sh): boots the
# Debian bzImage to a /test.sh that prints the boot loader type the kernel saw
# and powers off, once per --kernel-entry path: bzimage, auto with a cold
# cache, auto with a warm cache (twice), pvh with no usable cache (decompressed
# on every boot). The loader type (boot_params.hdr.type_of_loader, byte 0x210
# of /sys/kernel/boot_params/data) is 0xff after kestrel's bzImage boot and
# something else after a PVH boot (Debian 6.1 reports 0xb0), set by Linux's PVH entry code.
# PHASES (bench/bench_kernel_cache) then times the warm path's phases on the entry just written.
launcher=$1 kestrel=$2 kernel=$3 initrd=$4 phases=${5:-}
out=$(mktemp -d /tmp/kestrel-entry.XXXXXX)
# L1's / is read-only: the cache lives in L1's /tmp (tmpfs, so no fdatasync cost worth noting).
cache=$out/cache
unsafe=$out/unsafe
mkdir -m 700 "$cache"
mkdir -m 777 "$unsafe"
echo ENTRY-L1-BEGIN
run() { # run NAME CACHE ENTRY
    XDG_CACHE_HOME=$2 timeout 300 "$launcher" -- "$kestrel" run --kernel "$kernel" --initrd "$initrd" \
        --kernel-entry "$3" --memory 512M --cmdline "console=ttyS0 panic=-1 quiet" \
        --console "file:$out/console-$1" --stats </dev/null >"$out/launcher-$1" 2>"$out/stderr-$1"
    loader=$(tr -d '\r' <"$out/console-$1" | sed -n 's/^ENTRY-LOADER *//p' | head -n 1)
    echo "entry $1: $(cat "$out/launcher-$1"), loader type ${loader:-none}"
    grep -E '^(kestrel: |startup|memory)' "$out/stderr-$1" | grep -v -e '--stats' | sed "s/^/entry $1: /"
}
run bzimage "$cache" bzimage
run auto-cold "$cache" auto
run auto-warm-1 "$cache" auto
run auto-warm-2 "$cache" auto
run pvh-uncached "$unsafe" pvh
echo "entry cache files: $(ls "$cache/kestrel" 2>/dev/null | wc -l)"
if [ -n "$phases" ]; then
    "$phases" "$kernel" "$cache"/kestrel/*.vmlinux 3 2>&1
fi
echo ENTRY-L1-END
