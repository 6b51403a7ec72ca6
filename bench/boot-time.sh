#!/usr/bin/env bash
# `make bench-boot`: boot time of the default guest kernel, exec -> first line
# of the guest's init (KESTREL-GUEST-INIT on the serial console), for kestrel,
# QEMU -M microvm and QEMU -M pc, all with direct kernel boot, the same kernel,
# initramfs, command line and 512M. Runs ROUNDS rounds (default 5) that take the
# three VMMs in turn and prints a markdown table of medians.
#
# Where hardware KVM is unusable (PVM or none) everything runs in ONE session of
# the nested test host, so the figures include two levels of virtualisation
# (QEMU TCG -> nested SVM) and are only comparable with each other.
#
# Environment: KESTREL_BENCH_ROUNDS (5), KESTREL_BENCH_RUN_TIMEOUT (seconds per
# boot, 90), KESTREL_BENCH_L1_SMP (test-host CPUs, 1), KESTREL_BENCH_VMMS
# (default "kestrel qemu-microvm qemu-pc").
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/build/bench-boot
mkdir -p "$out"

bash tests/testhost/build-guest.sh
. tests/testhost/lib.sh

# A tiny initramfs: busybox and an init that prints the marker and powers off.
initrd=$out/initrd.img
if [ ! -f "$initrd" ] || [ "$0" -nt "$initrd" ]; then
    staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-bench-initrd.XXXXXX")
    mkdir -p "$staging/bin" "$staging/dev"
    cp /bin/busybox "$staging/bin/busybox"
    mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true
    printf '#!/bin/busybox sh\necho KESTREL-GUEST-INIT\n/bin/busybox poweroff -f\n' >"$staging/init"
    chmod 755 "$staging/init"
    cpio_pack "$staging" "$initrd"
    rm -rf "$staging"
fi

timer=$out/boot_timer
if [ ! -x "$timer" ] || [ bench/boot_timer.c -nt "$timer" ]; then
    gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o "$timer" bench/boot_timer.c
fi

inner_args=("$timer" "$repo/build/guest/vmlinuz" "$initrd" "$repo/build/kestrel"
            "${KESTREL_BENCH_ROUNDS:-5}" "${KESTREL_BENCH_RUN_TIMEOUT:-90}"
            "${KESTREL_BENCH_VMMS:-kestrel qemu-microvm qemu-pc}")
# The figures swing with the host's load (other builds on the same cores).
echo "bench-boot: host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if reason=$(bash tests/testhost/need-testhost.sh); then
    echo "bench-boot: $reason; running all boots in one nested test-host session"
    rounds=${KESTREL_BENCH_ROUNDS:-5}
    budget=$((rounds * 3 * ${KESTREL_BENCH_RUN_TIMEOUT:-90} + 120))
    status=0
    bash tests/testhost/run-in-l1.sh --smp "${KESTREL_BENCH_L1_SMP:-1}" --timeout "$budget" \
        bench/boot-time-in-l1.sh "${inner_args[@]}" || status=$?
else
    echo "bench-boot: $reason; running directly"
    status=0
    sh bench/boot-time-in-l1.sh "${inner_args[@]}" || status=$?
fi
echo "bench-boot: host load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
