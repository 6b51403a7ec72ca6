#!/usr/bin/env bash
# `make bench-boot`: boot time of the default guest kernel, exec -> the first
# line of the guest's init (KESTREL-GUEST-INIT on the serial console), for
# kestrel and its peers, all with direct kernel boot of the same bzImage (the
# default guest's), the same busybox initramfs, command line, 512M and vCPUs.
#
# Columns (KESTREL_BENCH_VMMS overrides the list):
#   kestrel          kestrel's default; with --kernel-entry (when `kestrel run
#                    --help` has it) that is "auto", whose first boot in the
#                    session is the cold-cache one (XDG_CACHE_HOME is fresh)
#   kestrel-bzimage  --kernel-entry bzimage (only when the option exists)
#   kestrel-ab       another kestrel binary, given as KESTREL_BENCH_AB=PATH, run
#                    like the kestrel column (an A/B test of a change in one session)
#   kestrel-pvh      the same kernel's vmlinux (scripts/extract-vmlinux.sh)
#                    through its PVH entry: no decompressor in the guest, the
#                    ceiling for host-side decompression
#   kvmtool          lkvm built by ../shared/anchors/build-kvmtool.sh (left out,
#                    with a note, when that directory is missing)
#   qemu-pc, qemu-microvm
# ROUNDS rounds take the VMMs in turn; round 1 is reported on its own ("first
# boot") and the median of the later rounds as the figure. The init reads the
# guest's uptime before printing the marker, and the last round prints the
# guest's whole printk log after it; bench/boot-report.sh makes the tables
# (times, ratios to the fastest peer, phases) and bench/boot-printk.sh the
# printk comparison, both from the saved session log (rerun them on it).
#
# Where hardware KVM is unusable (PVM or none) everything runs in ONE session of
# the nested test host, so the figures include two levels of virtualisation
# (QEMU TCG -> nested SVM) and are only comparable with each other.
#
# Environment: KESTREL_BENCH_ROUNDS (4: one first boot + 3 later),
# KESTREL_BENCH_RUN_TIMEOUT (seconds per boot, 120), KESTREL_BENCH_CPUS (guest
# vCPUs, 2), KESTREL_BENCH_L1_SMP (test-host CPUs, 2), KESTREL_BENCH_VMMS,
# KESTREL_BENCH_AB, KESTREL_ANCHORS_DIR (where build-kvmtool.sh is; default ../shared/anchors of
# the repository, or of the main checkout when this is a git worktree).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/build/bench-boot
mkdir -p "$out"
rounds=${KESTREL_BENCH_ROUNDS:-4}
run_timeout=${KESTREL_BENCH_RUN_TIMEOUT:-120}
cpus=${KESTREL_BENCH_CPUS:-2}
l1_smp=${KESTREL_BENCH_L1_SMP:-2}
for number in "$rounds" "$run_timeout" "$cpus" "$l1_smp"; do
    case $number in
        ''|*[!0-9]*|0) echo "kestrel: bench-boot: '$number' is not a positive number" >&2; exit 2 ;;
    esac
done

bash tests/testhost/build-guest.sh
. tests/testhost/lib.sh
kernel=$repo/build/guest/vmlinuz

# A tiny initramfs: busybox and an init that reads the guest's uptime, prints
# the marker with it, then (when the kernel command line has bench_dmesg=1,
# which Linux passes to init as a variable) a digest of the printk log, and
# powers off. The digest is every line that follows a silence of 50 ms or more
# or that matches a step in bench/boot-printk-steps.txt, with the silence
# before it: "PRINTK <gap ms> [time] text", then "PRINTK-LINES <count>". A whole
# log (300+ lines) takes minutes through kvmtool's emulated UART here.
initrd=$out/initrd.img
if [ ! -f "$initrd" ] || [ "$0" -nt "$initrd" ] || [ bench/boot-printk-steps.txt -nt "$initrd" ]; then
    staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-bench-initrd.XXXXXX")
    mkdir -p "$staging/bin" "$staging/dev" "$staging/proc"
    cp /bin/busybox "$staging/bin/busybox"
    cp bench/boot-printk-steps.txt "$staging/steps"
    mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true
    cat >"$staging/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
read -r up idle </proc/uptime
echo "KESTREL-GUEST-INIT uptime=$up"
if [ "$bench_dmesg" = 1 ]; then
    /bin/busybox dmesg | /bin/busybox awk '
        BEGIN { while ((getline step < "/steps") > 0) { split(step, part, "|"); pattern[++count] = part[2] } }
        match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
            stamp = substr($0, 2, RLENGTH - 2) + 0; gap = (lines++ ? stamp - previous : 0); previous = stamp
            keep = gap >= 0.05
            for (i = 1; i <= count && !keep; i++) if ($0 ~ pattern[i]) keep = 1
            if (keep) printf "PRINTK %.3f %s\n", gap * 1000, $0
        }
        END { print "PRINTK-LINES " lines }'
else
    /bin/busybox dmesg | /bin/busybox grep -m 1 'Run /init'
fi
echo KESTREL-GUEST-DONE
/bin/busybox poweroff -f
INIT
    chmod 755 "$staging/init"
    cpio_pack "$staging" "$initrd"
    rm -rf "$staging"
fi

. bench/lib.sh
timer=$(bench_build_tool boot_timer)

notes=()
vmlinux=$out/vmlinux
if [ ! -f "$vmlinux" ] || [ "$kernel" -nt "$vmlinux" ]; then
    bash scripts/extract-vmlinux.sh "$kernel" "$vmlinux" >/dev/null
fi

default_vmms="kestrel"
if build/kestrel run --help 2>&1 | grep -q -- --kernel-entry; then
    default_vmms="$default_vmms kestrel-bzimage"
else
    notes+=("kestrel has no --kernel-entry: the kestrel column is the guest-side bzImage decompressor")
fi
kestrel_ab=${KESTREL_BENCH_AB:--}
if [ "$kestrel_ab" != - ]; then
    [ -x "$kestrel_ab" ] || { echo "kestrel: bench-boot: KESTREL_BENCH_AB '$kestrel_ab' is not an executable" >&2; exit 2; }
    kestrel_ab=$(realpath "$kestrel_ab")
    default_vmms="$default_vmms kestrel-ab"
fi
default_vmms="$default_vmms kestrel-pvh"

anchors=${KESTREL_ANCHORS_DIR:-}
if [ -z "$anchors" ]; then
    anchors=$repo/../shared/anchors
    if [ ! -d "$anchors" ]; then
        # A git worktree's ../shared is the main checkout's.
        main_checkout=$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/.." 2>/dev/null && pwd || true)
        [ -z "$main_checkout" ] || anchors=$main_checkout/../shared/anchors
    fi
fi
lkvm=-
if [ -f "$anchors/build-kvmtool.sh" ]; then
    if lkvm=$(bash "$anchors/build-kvmtool.sh" "$repo/build/kvmtool"); then
        default_vmms="$default_vmms kvmtool"
    else
        lkvm=-
        notes+=("kvmtool left out: $anchors/build-kvmtool.sh failed")
    fi
else
    notes+=("kvmtool left out: no build-kvmtool.sh in ../shared/anchors (set KESTREL_ANCHORS_DIR)")
fi
default_vmms="$default_vmms qemu-pc qemu-microvm"
vmms=${KESTREL_BENCH_VMMS:-$default_vmms}

inner_args=("$timer" "$kernel" "$vmlinux" "$initrd" "$repo/build/kestrel" "$kestrel_ab" "$lkvm"
            "$rounds" "$run_timeout" "$cpus" "$vmms")
session_log=$out/session-$(date -u +%Y%m%dT%H%M%SZ).log
# The figures swing with the host's load (other builds on the same cores).
{
    echo "# bench-boot: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "# host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for note in "${notes[@]}"; do echo "# note: $note"; done
} | tee "$session_log"
status=0
if reason=$(bash tests/testhost/need-testhost.sh); then
    echo "# $reason; all boots in one nested test-host session (L1 with $l1_smp CPUs)" | tee -a "$session_log"
    vmm_count=$(echo "$vmms" | wc -w)
    budget=$((rounds * vmm_count * run_timeout + 120))
    bash tests/testhost/run-in-l1.sh --smp "$l1_smp" --timeout "$budget" \
        bench/boot-time-in-l1.sh "${inner_args[@]}" >>"$session_log" 2>&1 || status=$?
else
    echo "# $reason; running directly" | tee -a "$session_log"
    sh bench/boot-time-in-l1.sh "${inner_args[@]}" >>"$session_log" 2>&1 || status=$?
fi
echo "# host load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$session_log"
cp "$session_log" "$out/session-last.log"
echo "# session log: $session_log"
if [ "$status" -ne 0 ]; then
    echo "bench-boot: the session failed (status $status):" >&2
    tail -n 20 "$session_log" >&2
    exit "$status"
fi
bash bench/boot-report.sh "$session_log"
bash bench/boot-printk.sh "$session_log"
