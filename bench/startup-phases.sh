#!/usr/bin/env bash
# bench/startup-phases.sh [--testhost]: where kestrel's startup (exec -> first
# KVM_RUN) goes, phase by phase, from `strace -f -ttt -T` of RUNS runs
# (KESTREL_BENCH_PHASE_RUNS, 10) of the default guest with 512M, each stopped
# after KESTREL_BENCH_PHASE_STOP_MS (2000 natively, 15000 in the test host)
# (bench/startup-phases-run.sh does the runs and names the phases).
#
# Natively by default (on a PVM host with KESTREL_ALLOW_PVM=1: the path up to
# the first KVM_RUN is the real one, the guest never boots); with --testhost in
# one session of the nested test host (real kvm-amd, everything under TCG).
# Prints markdown tables: per phase the median, min and max over the runs (the
# medians do not add up to the median total); the strace -T durations of the
# VM-setup ioctls; and kestrel's own --stats figure with and without strace
# (strace slows every syscall; the untraced figure is the real one).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
where=native
case ${1:-} in
    '') ;;
    --testhost) where=testhost ;;
    *) echo "kestrel: startup-phases: unknown argument '$1' (only --testhost)" >&2; exit 2 ;;
esac
runs=${KESTREL_BENCH_PHASE_RUNS:-10}
case $runs in ''|*[!0-9]*|0) echo "kestrel: startup-phases: KESTREL_BENCH_PHASE_RUNS '$runs' is not a positive number" >&2; exit 2 ;; esac
command -v strace >/dev/null || { echo "kestrel: startup-phases: strace is needed (apt-get install strace)" >&2; exit 2; }

out=$repo/build/bench-startup
mkdir -p "$out"
bash tests/testhost/build-guest.sh >/dev/null
. bench/lib.sh
launcher=$(bench_build_tool exec_launcher)
# The phases are those of the bzImage path; where kestrel can also unpack the
# bzImage on the host (--kernel-entry), ask for the bzImage path explicitly.
options=
if build/kestrel run --help 2>&1 | grep -q -- --kernel-entry; then
    options="--kernel-entry bzimage"
fi
# Each run is stopped after this long: under TCG (--testhost) and strace the
# first KVM_RUN can take seconds.
stop_ms=${KESTREL_BENCH_PHASE_STOP_MS:-$([ "$where" = native ] && echo 2000 || echo 15000)}
case $stop_ms in ''|*[!0-9]*) echo "kestrel: startup-phases: KESTREL_BENCH_PHASE_STOP_MS '$stop_ms' is not a number" >&2; exit 2 ;; esac
args=("$launcher" "$repo/build/kestrel" "$repo/build/guest/vmlinuz" "$repo/build/guest/initrd.img" "$runs" 1 "$stop_ms" "$options")
echo "startup-phases: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $where, $runs runs, kestrel run ${options:-(no extra options)}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$where" = native ]; then
    [ -e /dev/kvm ] || { echo "kestrel: startup-phases: no /dev/kvm here (try --testhost)" >&2; exit 2; }
    [ ! -d /sys/module/kvm_pvm ] || export KESTREL_ALLOW_PVM=1
    sh bench/startup-phases-run.sh "${args[@]}" >"$out/records" 2>"$out/stderr"
else
    bash tests/testhost/run-in-l1.sh --timeout $((runs * (stop_ms / 500 + 20) + 300)) bench/startup-phases-run.sh "${args[@]}" >"$out/records.raw" 2>&1
    # A retried session prints its records again: keep the last attempt's.
    awk '$1 == "STARTUP" && $2 == 1 { n = NR } { line[NR] = $0 } END { for (i = n; i <= NR; i++) print line[i] }' \
        "$out/records.raw" >"$out/records"
fi
echo "startup-phases: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
grep '^NOTE ' "$out/records" | sed 's/^NOTE /startup-phases: run /' || true

awk '
function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function low(list,   n, v, i, r) { n = split(list, v, " "); r = v[1] + 0; for (i = 2; i <= n; i++) if (v[i] + 0 < r) r = v[i] + 0; return r }
function high(list,   n, v, i, r) { n = split(list, v, " "); r = v[1] + 0; for (i = 2; i <= n; i++) if (v[i] + 0 > r) r = v[i] + 0; return r }
function add(array, key, value) { array[key] = array[key] (array[key] == "" ? "" : " ") value }
$1 == "PHASE" { if (!($3 in label)) order[++count] = $3; label[$3] = substr($0, index($0, $5)); add(phase, $3, $4) }
$1 == "CALL" && $2 == 1 && !($3 in call_seen) { call_seen[$3] = 1; calls[++call_count] = $3 }
$1 == "CALL" { add(call, $3, $4) }
$1 == "STARTUP" && $3 != "-" { add(traced, "all", $3) }
$1 == "PLAIN" && $3 != "-" { add(plain, "all", $3) }
END {
    if (count == 0) { print "no phase records"; exit 1 }
    print ""
    print "| phase (strace -ttt) | median (ms) | min | max | n |"
    print "| --- | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= count; i++) {
        p = order[i]
        printf "| %s | %.2f | %.2f | %.2f | %d |\n", label[p], median(phase[p]), low(phase[p]), high(phase[p]), split(phase[p], unused, " ")
    }
    print ""
    print "| ioctl (strace -T) | median (ms) | min | max | calls |"
    print "| --- | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= call_count; i++)
        printf "| %s | %.3f | %.3f | %.3f | %d |\n", calls[i], median(call[calls[i]]), low(call[calls[i]]), high(call[calls[i]]), split(call[calls[i]], unused, " ")
    print ""
    print "| kestrel --stats: exec -> first KVM_RUN | median (ms) | min | max | n |"
    print "| --- | ---: | ---: | ---: | ---: |"
    if (traced["all"] != "") printf "| under strace | %.2f | %.2f | %.2f | %d |\n", median(traced["all"]), low(traced["all"]), high(traced["all"]), split(traced["all"], unused, " ")
    if (plain["all"] != "") printf "| without strace | %.2f | %.2f | %.2f | %d |\n", median(plain["all"]), low(plain["all"]), high(plain["all"]), split(plain["all"], unused, " ")
}' "$out/records"
