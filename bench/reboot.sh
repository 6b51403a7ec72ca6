#!/usr/bin/env bash
# bash bench/reboot.sh [--reboots N] [--runs R] [--kestrel PATH]
# Issue 15's reboot figures, natively (on this PVM host with KESTREL_ALLOW_PVM=1, which runs the tiny guest of
# tests/e2e/make_bzimage.c --reboot but no stock kernel): R runs (default 3) of N guest reboots (default 50) each
# through tests/e2e/reboot-native.sh (256 MiB of RAM, 2 vCPUs, a virtio disk with two queues and a
# user-mode NIC), and for each run kestrel's open fds, threads and RSS in boot 1, boot 2 and boot N+1, and
# --stats' reset time (the main thread's start of a reset -> the new boot's first KVM_RUN: mean and max over the
# run's resets). The test-host figure (the Debian guest) is the "reboots:" line the guest session prints for
# reboot-21 (tests/e2e/reboot-guest-checks.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
reboots=50 runs=3 kestrel=build/kestrel
while [ $# -gt 0 ]; do
    case $1 in
        --reboots) reboots=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --kestrel) kestrel=$2; shift 2 ;;
        *) echo "usage: $0 [--reboots N] [--runs R] [--kestrel PATH]" >&2; exit 2 ;;
    esac
done
[ -x "$kestrel" ] || { echo "bench/reboot.sh: $kestrel is not built (make all)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-bench-reboot.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +dirty)," \
    "$(nproc) CPUs, kernel $(uname -r)"
printf '%-4s %-22s %-22s %-22s %s\n' run "boot 1 fds/thr/RSS KiB" "boot 2" "boot $((reboots + 1))" "reset -> first KVM_RUN"
for run in $(seq 1 "$runs"); do
    bash tests/e2e/reboot-native.sh "$kestrel" "$work" "$reboots" >"$work/samples.txt"
    sample() { awk -v key="$1" '$1 == key {print $2 "/" $3 "/" $4}' "$work/samples.txt"; }
    times=$(sed -n 's/^reboots: [0-9]*; reset -> first KVM_RUN of the new boot: //p' "$work/reboot-native.err")
    printf '%-4s %-22s %-22s %-22s %s\n' "$run" "$(sample boot1)" "$(sample boot2)" "$(sample "boot$((reboots + 1))")" \
        "$times"
done
