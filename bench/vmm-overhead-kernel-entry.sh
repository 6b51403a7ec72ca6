#!/usr/bin/env bash
# bench/vmm-overhead-kernel-entry.sh: the Debian bzImage booted to a shell
# script in the nested test host through each --kernel-entry path (see
# bench/vmm-overhead-kernel-entry-in-l1.sh), for the wall time exec -> guest
# power-off and proof of the path taken (the guest's boot loader type). One
# test-host session; run it under `flock /work/l1.lock` when others share the
# machine. Figures go in docs/benchmarks.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/build/bench-overhead
mkdir -p "$out"
bash tests/testhost/build-guest.sh >/dev/null
launcher=$repo/build/exec_launcher
if [ ! -x "$launcher" ] || [ bench/exec_launcher.c -nt "$launcher" ]; then
    gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o "$launcher" bench/exec_launcher.c
fi
cat >"$out/loader.sh" <<'GUEST'
#!/bin/sh
echo "ENTRY-LOADER $(od -An -tx1 -j 528 -N 1 /sys/kernel/boot_params/data | tr -d ' ')"
poweroff -f
GUEST
bash tests/testhost/add-test-script.sh build/guest/initrd.img "$out/loader.sh" "$out/initrd-loader.img"
chmod -R a+rX "$out"
status=0
bash tests/testhost/run-in-l1.sh --timeout 900 bench/vmm-overhead-kernel-entry-in-l1.sh "$launcher" \
    "$repo/build/kestrel" "$repo/build/guest/vmlinuz" "$out/initrd-loader.img" >"$out/entry-l1.log" 2>&1 ||
    status=$?
last_begin=$(grep -n '^ENTRY-L1-BEGIN' "$out/entry-l1.log" | tail -1 | cut -d: -f1)
if [ "$status" -ne 0 ] || [ -z "$last_begin" ]; then
    echo "kernel-entry: the test-host session failed (status $status); log: $out/entry-l1.log" >&2
    tail -n 20 "$out/entry-l1.log" >&2
    exit 1
fi
tail -n +"$last_begin" "$out/entry-l1.log" | grep '^entry '
