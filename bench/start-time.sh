#!/usr/bin/env bash
# bench/start-time.sh [--no-testhost|--testhost-only]: issue 15's start figures.
#   native: exec -> first KVM_RUN (kestrel's --stats "startup:" line, exec time
#   from bench/exec_launcher) and the VMM overhead (RSS beyond guest RAM, the
#   "memory:" line) of RUNS runs (KESTREL_BENCH_START_RUNS, 100) of the default
#   guest's bzImage and initrd, 512M, --console none, --kernel-entry bzimage,
#   each stopped with SIGTERM after STOP_MS (KESTREL_BENCH_START_STOP_MS, 1500;
#   a run with no KVM_RUN by then counts as STOP_MS); then ENTRY_RUNS
#   (KESTREL_BENCH_START_ENTRY_RUNS, 20) of the default --kernel-entry auto
#   with a warm kernel cache (one untimed run fills it first).
#   test host (unless --no-testhost): one session of the nested test host
#   (serialized with flock /work/l1.lock when that file's directory exists),
#   3 full boots to a /test.sh that powers off (bench/vmm-overhead-in-l1.sh):
#   the VMM overhead at exit after a real boot.
# On a PVM host the native runs set KESTREL_ALLOW_PVM=1: the path up to the
# first KVM_RUN is the real one; the guest never boots.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
testhost=1 native=1
case ${1:-} in
    '') ;;
    --no-testhost) testhost=0 ;;
    --testhost-only) native=0 ;;
    *) echo "kestrel: start-time: unknown argument '$1' (--no-testhost or --testhost-only)" >&2; exit 2 ;;
esac
runs=${KESTREL_BENCH_START_RUNS:-100}
entry_runs=${KESTREL_BENCH_START_ENTRY_RUNS:-20}
stop_ms=${KESTREL_BENCH_START_STOP_MS:-1500}
for value in "$runs" "$entry_runs" "$stop_ms"; do
    case $value in ''|*[!0-9]*|0) echo "kestrel: start-time: run count '$value' is not a positive number" >&2; exit 2 ;; esac
done
make -s build/kestrel
bash tests/testhost/build-guest.sh >/dev/null
. bench/lib.sh
launcher=$(bench_build_tool exec_launcher)
kestrel=$repo/build/kestrel kernel=$repo/build/guest/vmlinuz initrd=$repo/build/guest/initrd.img
out=$repo/build/bench-start
rm -rf "$out"
mkdir -p "$out"

# summary NAME FILE: median and max (and min, n) of the numbers in FILE.
summary() {
    sort -g "$2" | awk -v name="$1" '{ v[NR] = $1 } END {
        if (NR == 0) { printf "%s: no samples\n", name; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s: median %s, max %s, min %s (n %d)\n", name, m, v[NR], v[1], NR }'
}

# native_runs NAME COUNT CACHE ENTRY: COUNT runs, their startup and overhead figures in $out/NAME-*.
native_runs() {
    local name=$1 count=$2 cache=$3 entry=$4 i late=0
    : >"$out/$name-ms"
    : >"$out/$name-kib"
    for i in $(seq "$count"); do
        XDG_CACHE_HOME=$cache "$launcher" --term-after "$stop_ms" -- "$kestrel" run --kernel "$kernel" \
            --initrd "$initrd" --memory 512M --console none --stats --kernel-entry "$entry" >/dev/null \
            2>"$out/$name.stderr" || true
        # A run that reached no KVM_RUN before its stop counts as one, at the stop time: it is never dropped.
        if ! sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$out/$name.stderr" \
            | grep . >>"$out/$name-ms"; then
            echo "$stop_ms" >>"$out/$name-ms"
            late=$((late + 1))
        fi
        sed -n 's/^memory: .* VMM overhead \([0-9]*\) KiB.*$/\1/p' "$out/$name.stderr" >>"$out/$name-kib"
    done
    echo "native $entry: $(summary 'exec -> first KVM_RUN ms' "$out/$name-ms"); $late runs without a KVM_RUN within $stop_ms ms (counted as $stop_ms)"
    echo "native $entry: $(summary "VMM overhead KiB at SIGTERM after $stop_ms ms" "$out/$name-kib")"
}

echo "start-time: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "start-time: transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
if [ "$native" = 0 ]; then
    echo "native: skipped (--testhost-only)"
elif [ -e /dev/kvm ]; then
    [ ! -d /sys/module/kvm_pvm ] || export KESTREL_ALLOW_PVM=1
    : >"$out/version-ms"
    for _ in $(seq 20); do
        "$launcher" -- "$kestrel" --version | sed -n 's/^exec-to-exit \([0-9.]*\) ms .*/\1/p' >>"$out/version-ms"
    done
    echo "native: $(summary 'kestrel --version exec -> exit ms (the floor)' "$out/version-ms")"
    native_runs bzimage "$runs" "$out/cache-unused" bzimage
    # One untimed run writes the cache entry the timed ones read.
    XDG_CACHE_HOME=$out/cache-warm "$launcher" --term-after 15000 -- "$kestrel" run --kernel "$kernel" \
        --initrd "$initrd" --memory 512M --console none --kernel-entry auto >/dev/null 2>&1 || true
    native_runs auto-warm "$entry_runs" "$out/cache-warm" auto
    rm -rf "$out/cache-warm"
    echo "start-time: load average after the native runs $(cut -d' ' -f1-3 /proc/loadavg)"
else
    echo "native: skipped (no /dev/kvm)"
fi

[ "$testhost" = 1 ] || exit 0
printf '#!/bin/sh\necho OVERHEAD-GUEST-UP\npoweroff -f\n' >"$out/poweroff.sh"
bash tests/testhost/add-test-script.sh "$initrd" "$out/poweroff.sh" "$out/initrd-poweroff.img"
chmod -R a+rX "$out"
session=(bash tests/testhost/run-in-l1.sh --timeout 900 bench/vmm-overhead-in-l1.sh "$launcher" "$kestrel" "$kernel"
         "$out/initrd-poweroff.img" 3)
[ ! -d /work ] || session=(flock /work/l1.lock "${session[@]}")
status=0
"${session[@]}" >"$out/l1.log" 2>&1 || status=$?
bench_l1_last_attempt "$out/l1.log" OVERHEAD-L1-BEGIN "$status" >"$out/l1-last"
grep -E '^(boot|startup|memory)' "$out/l1-last" >"$out/l1-stats" || true
sed 's/^/test host: /' "$out/l1-stats"
sed -n 's/^memory: .* VMM overhead \([0-9]*\) KiB.*$/\1/p' "$out/l1-stats" >"$out/l1-overhead-kib"
echo "test host: $(summary 'VMM overhead KiB at exit after a full boot' "$out/l1-overhead-kib")"
[ "$(wc -l <"$out/l1-overhead-kib")" -eq 3 ] || { echo "test host: expected 3 boots with stats" >&2; exit 1; }
