#!/usr/bin/env bash
# `make bench-overhead`: kestrel's own overhead, from its --stats lines
#   startup: first KVM_RUN X ms after exec
#   memory: RSS N KiB = guest RAM touched G KiB + VMM overhead V KiB
#
# 1. Natively (this machine's /dev/kvm; on a PVM host with KESTREL_ALLOW_PVM=1,
#    where the guest never boots but everything up to and including the first
#    KVM_RUN is the real path): KESTREL_BENCH_OVERHEAD_RUNS (20) runs of the
#    default guest, each stopped with SIGTERM after 2 s; plus `kestrel --version`
#    exec-to-exit as the floor of any exec.
# 2. In ONE nested test-host session (skipped with KESTREL_BENCH_OVERHEAD_L1=0):
#    3 full boots of the default guest with a /test.sh that powers off, for the
#    overhead at exit after a real boot. The startup time there is under TCG and
#    only indicative.
#
# 1b. Natively, per --kernel-entry path (KESTREL_BENCH_OVERHEAD_ENTRY_RUNS, 5,
#    runs each): bzimage; auto with a cold cache (decompress + store); auto with
#    a warm cache (filled by one untimed run first), followed by the warm path's
#    phases timed one by one (build/bench/bench_kernel_cache); pvh with no usable cache (decompresses on every boot); auto
#    with no usable cache (falls back to the bzImage). Each reports exec -> first
#    KVM_RUN and the VMM overhead at its peak during loading ("memory peak:").
#
# "exec" is the CLOCK_MONOTONIC time bench/exec_launcher takes just before
# execve (passed as KESTREL_EXEC_TIME_NS). Figures go in docs/benchmarks.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. bench/lib.sh
out=$repo/build/bench-overhead
mkdir -p "$out"
runs=${KESTREL_BENCH_OVERHEAD_RUNS:-20}

bash tests/testhost/build-guest.sh >/dev/null
kernel=$repo/build/guest/vmlinuz
initrd=$repo/build/guest/initrd.img
kestrel=$repo/build/kestrel

launcher=$repo/build/exec_launcher
if [ ! -x "$launcher" ] || [ bench/exec_launcher.c -nt "$launcher" ]; then
    gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o "$launcher" bench/exec_launcher.c
fi

# summary NAME FILE: "NAME: median M, min A, max B (n N)" over the numbers in FILE.
summary() {
    sort -g "$2" | awk -v name="$1" '{ v[NR] = $1 } END {
        if (NR == 0) { printf "%s: no samples\n", name; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s: median %s, min %s, max %s (n %d)\n", name, m, v[1], v[NR], NR }'
}

echo "bench-overhead: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -d /sys/module/kvm_pvm ]; then
    echo "bench-overhead: /dev/kvm is PVM: native runs use KESTREL_ALLOW_PVM=1 (the guest does not boot)"
fi

# --------------------------------------------------------------- native
if [ -e /dev/kvm ]; then
    : >"$out/version-ms"
    for _ in $(seq "$runs"); do
        "$launcher" -- "$kestrel" --version >"$out/version.out"
        sed -n 's/^exec-to-exit \([0-9.]*\) ms.*/\1/p' "$out/version.out" >>"$out/version-ms"
    done
    : >"$out/startup-ms"
    : >"$out/overhead-kib"
    : >"$out/peak-overhead-kib"
    : >"$out/guest-kib"
    for i in $(seq "$runs"); do
        KESTREL_ALLOW_PVM=1 "$launcher" --term-after 2000 -- "$kestrel" run --kernel "$kernel" --initrd "$initrd" \
            --kernel-entry bzimage --memory 512M --console none --stats </dev/null >"$out/run.out" \
            2>"$out/run-$i.stderr" || true
        if ! grep -q '^startup: first KVM_RUN .* ms after exec$' "$out/run-$i.stderr" ||
           ! grep -q '^memory: RSS ' "$out/run-$i.stderr"; then
            echo "bench-overhead: run $i printed no startup/memory stats:" >&2
            tail -n 5 "$out/run-$i.stderr" >&2
            exit 1
        fi
        sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$out/run-$i.stderr" >>"$out/startup-ms"
        sed -n 's/^memory: .* VMM overhead \([0-9]*\) KiB$/\1/p' "$out/run-$i.stderr" >>"$out/overhead-kib"
        sed -n 's/^memory: .* guest RAM touched \([0-9]*\) KiB.*/\1/p' "$out/run-$i.stderr" >>"$out/guest-kib"
        sed -n 's/^memory peak: .* VMM overhead \([0-9]*\) KiB$/\1/p' "$out/run-$i.stderr" >>"$out/peak-overhead-kib"
    done
    echo "native: $(summary 'kestrel --version exec-to-exit ms' "$out/version-ms")"
    echo "native: $(summary 'exec -> first KVM_RUN ms' "$out/startup-ms")"
    echo "native: $(summary 'VMM overhead KiB (RSS beyond guest RAM touched, at SIGTERM after 2 s)' "$out/overhead-kib")"
    echo "native: $(summary 'guest RAM touched KiB' "$out/guest-kib")"
    echo "native: $(summary 'VMM overhead KiB at its peak (kernel loading)' "$out/peak-overhead-kib")"
    echo "native: last run's stats:"
    grep -E '^(startup|memory|memory peak):' "$out/run-$runs.stderr" | sed 's/^/    /'

    # entry_case NAME CACHE_DIR PREPARE ENTRY TERM_MS: ENTRY_RUNS runs of one --kernel-entry path, each stopped
    # after TERM_MS (a decompressing run needs seconds on a busy host before its first KVM_RUN).
    # PREPARE is "fresh" (empty cache before each run), "keep" or "unsafe" (a world-writable cache), or
    # "warm" (like keep, after one untimed run that fills the cache, so that every timed run finds its entry).
    entry_runs=${KESTREL_BENCH_OVERHEAD_ENTRY_RUNS:-5}
    entry_case() {
        local name=$1 cache=$2 prepare=$3 entry=$4 term_ms=$5
        : >"$out/entry-$name-ms"
        : >"$out/entry-$name-peak-kib"
        if [ "$prepare" = warm ]; then
            rm -rf "$cache"; mkdir -m 700 "$cache"
            XDG_CACHE_HOME=$cache KESTREL_ALLOW_PVM=1 "$launcher" --term-after 12000 -- "$kestrel" run \
                --kernel "$kernel" --initrd "$initrd" --kernel-entry "$entry" --memory 512M --console none \
                </dev/null >/dev/null 2>&1 || true
        fi
        for i in $(seq "$entry_runs"); do
            case $prepare in
                fresh) rm -rf "$cache"; mkdir -m 700 "$cache" ;;
                keep | warm) mkdir -p -m 700 "$cache" ;;
                unsafe) mkdir -p "$cache"; chmod 777 "$cache" ;;
            esac
            XDG_CACHE_HOME=$cache KESTREL_ALLOW_PVM=1 "$launcher" --term-after "$term_ms" -- "$kestrel" run \
                --kernel "$kernel" --initrd "$initrd" --kernel-entry "$entry" --memory 512M --console none \
                --stats </dev/null >"$out/run.out" 2>"$out/entry-$name-$i.stderr" || true
            if ! grep -q '^startup: first KVM_RUN .* ms after exec$' "$out/entry-$name-$i.stderr"; then
                echo "bench-overhead: $name run $i reached no KVM_RUN:" >&2
                tail -n 5 "$out/entry-$name-$i.stderr" >&2
                exit 1
            fi
            sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$out/entry-$name-$i.stderr" \
                >>"$out/entry-$name-ms"
            sed -n 's/^memory peak: .* VMM overhead \([0-9]*\) KiB$/\1/p' "$out/entry-$name-$i.stderr" \
                >>"$out/entry-$name-peak-kib"
        done
        echo "native entry $name: $(summary 'exec -> first KVM_RUN ms' "$out/entry-$name-ms")"
        echo "native entry $name: $(summary 'peak VMM overhead KiB' "$out/entry-$name-peak-kib")"
        grep -E '^kestrel: .*(bzImage|every boot)' "$out/entry-$name-1.stderr" | sed 's/^/    /' || true
    }
    entry_case bzimage "$out/cache-unused" keep bzimage 3000
    entry_case auto-cold "$out/cache-cold" fresh auto 12000
    entry_case auto-warm "$out/cache-warm" warm auto 3000
    # The warm path's phases one by one, on the entry the warm runs used (bench/bench_kernel_cache.c).
    phases=$repo/build/bench/bench_kernel_cache
    if [ -x "$phases" ]; then
        "$phases" "$kernel" "$out"/cache-warm/kestrel/*.vmlinux 7 | sed 's/^/native warm /'
    fi
    entry_case pvh-uncached "$out/cache-unsafe" unsafe pvh 12000
    entry_case auto-uncached "$out/cache-unsafe" unsafe auto 3000
    rm -rf "$out/cache-cold" "$out/cache-warm"
else
    echo "native: skipped (no /dev/kvm)"
fi

# ------------------------------------------------------- nested test host
if [ "${KESTREL_BENCH_OVERHEAD_L1:-1}" = 0 ]; then
    echo "test host: skipped (KESTREL_BENCH_OVERHEAD_L1=0)"
    exit 0
fi
printf '#!/bin/sh\necho OVERHEAD-GUEST-UP\npoweroff -f\n' >"$out/poweroff.sh"
bash tests/testhost/add-test-script.sh "$initrd" "$out/poweroff.sh" "$out/initrd-poweroff.img"
chmod -R a+rX "$out"
status=0
bash tests/testhost/run-in-l1.sh --timeout 900 bench/vmm-overhead-in-l1.sh "$launcher" "$kestrel" "$kernel" \
    "$out/initrd-poweroff.img" 3 >"$out/l1.log" 2>&1 || status=$?
bench_l1_last_attempt "$out/l1.log" OVERHEAD-L1-BEGIN "$status" >"$out/l1-last"
grep -E '^(boot|startup|memory)' "$out/l1-last" >"$out/l1-stats" || true
sed -n 's/^memory peak: .* VMM overhead \([0-9]*\) KiB$/\1/p' "$out/l1-stats" >"$out/l1-peak-overhead-kib"
sed 's/^/test host: /' "$out/l1-stats"
sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$out/l1-stats" >"$out/l1-startup-ms"
sed -n 's/^memory: .* VMM overhead \([0-9]*\) KiB$/\1/p' "$out/l1-stats" >"$out/l1-overhead-kib"
echo "test host: $(summary 'exec -> first KVM_RUN ms (TCG, indicative)' "$out/l1-startup-ms")"
echo "test host: $(summary 'VMM overhead KiB at exit after a full boot' "$out/l1-overhead-kib")"
echo "test host: $(summary 'VMM overhead KiB at its peak (kernel loading)' "$out/l1-peak-overhead-kib")"
[ "$(wc -l <"$out/l1-overhead-kib")" -eq 3 ] || { echo "test host: expected 3 boots with stats" >&2; exit 1; }
