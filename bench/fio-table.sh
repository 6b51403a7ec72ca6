#!/usr/bin/env bash
# `make bench-fio`: the fio table of issue 12, in ONE session of the nested test
# host (level 1 with 2 CPUs): a 256 MiB image on level 1's tmpfs; rows 4K
# randread and randwrite at QD1 and QD32, 512K sequential read and write at
# QD4; columns the level-1 host on the same file, the guest under kestrel and
# the guest under QEMU (-object iothread, aio=io_uring), same cache mode
# (writeback), guest (2 vCPUs, 512M, build/guest/initrd-disk.img), image.
# bench/fio-table-in-l1.sh measures, bench/fio-report.sh makes the table.
# The session log and the table go to docs/bench-logs/fio-table-<time>.log.
#
# Serialize with other users of the test host: flock /work/l1.lock make bench-fio
#
# Environment: KESTREL_BENCH_FIO_RUNTIME (seconds per row after a 2 s ramp,
# 10), KESTREL_BENCH_FIO_COLUMNS (default "host kestrel qemu"; kestrel is left
# out, with a note, when `kestrel run --help` has no --disk),
# KESTREL_BENCH_L1_SMP (2), KESTREL_BENCH_FIO_ROWS (a subset of the row names, e.g. "read-512k-qd4"),
# KESTREL_BENCH_FIO_EXIT_REASONS=1 (level 1's KVM exits per exit reason for each row, FIO-EXIT-REASONS lines).
# Variant columns, variants joined by "-" (kestrel-poll-haltpoll): kestrel-poll (poll_us=KESTREL_BENCH_FIO_POLL_US,
# 32, QEMU's iothread default window), kestrel-split (packed=off), kestrel-haltpoll and qemu-haltpoll (the guest
# idles with cpuidle_haltpoll.force=1), kestrel-iothreadsN (iothreads=N), kestrel-nostats (build/nostats/kestrel,
# built here with -DKESTREL_NO_QUEUE_STATS: the per-virtqueue counters compiled out), kestrel-trace (trace= on
# level 1's tmpfs), kestrel-noseccomp (--seccomp off). fio-report.sh tabulates kestrel, QEMU and host, then every column.
# KESTREL_BENCH_FIO_ROUNDS=N (1): every column N times, the order rotated each round (fio-report.sh --format rounds).
# KESTREL_BENCH_FIO_LOG=PATH: the log's path (default docs/bench-logs/fio-table-<time>.log).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
runtime=${KESTREL_BENCH_FIO_RUNTIME:-10}
l1_smp=${KESTREL_BENCH_L1_SMP:-2}
rounds=${KESTREL_BENCH_FIO_ROUNDS:-1}
for number in "$runtime" "$l1_smp" "$rounds"; do
    case $number in
        ''|*[!0-9]*|0) echo "kestrel: bench-fio: '$number' is not a positive number" >&2; exit 2 ;;
    esac
done
columns=()
for column in ${KESTREL_BENCH_FIO_COLUMNS:-host kestrel qemu}; do
    case $column in
        host|qemu) columns+=("$column") ;;
        kestrel-*|qemu-*)
            variants=${column#*-}
            base=$repo/build/kestrel
            [ "${column%%-*}" = qemu ] && base=qemu
            for variant in ${variants//-/ }; do
                case $variant in
                    poll|split|haltpoll|iothreads[1-9]|iothreads[1-9][0-9]|trace|noseccomp) ;;
                    nostats) base=$repo/build/nostats/kestrel ;;
                    *) echo "kestrel: bench-fio: unknown variant '$variant' in column '$column' (poll, split, haltpoll, iothreadsN, nostats, trace, noseccomp)" >&2; exit 2 ;;
                esac
            done
            if [ "$base" = "$repo/build/nostats/kestrel" ]; then
                # The same tree with the per-virtqueue counters compiled out, as bench/stats-overhead.sh builds it.
                make -s -j2 BUILD=build/nostats CFLAGS="-O2 -DKESTREL_NO_QUEUE_STATS" build/nostats/kestrel >&2
            fi
            [ "$base" = qemu ] && [ "${variants//haltpoll/}" != "" ] &&
                { echo "kestrel: bench-fio: column '$column': QEMU takes only the haltpoll variant" >&2; exit 2; }
            columns+=("$base#${variants//-/#}") ;;
        kestrel)
            if build/kestrel run --help 2>&1 | grep -q -- '--disk'; then
                columns+=("$repo/build/kestrel")
            else
                echo "# kestrel column left out: build/kestrel has no --disk yet" >&2
            fi ;;
        *) echo "kestrel: bench-fio: unknown column '$column' (host, kestrel, qemu, or kestrel-VARIANT..., qemu-haltpoll)" >&2; exit 2 ;;
    esac
done

bash tests/testhost/build-guest-disk.sh >/dev/null
stamp=$(date -u +%Y-%m-%dT%H%MZ)
log=${KESTREL_BENCH_FIO_LOG:-docs/bench-logs/fio-table-$stamp.log}
work=$repo/build/bench-fio
mkdir -p "$work" "$(dirname "$log")"
session=$work/session.log
{
    echo "# bench-fio: $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "# host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# one nested test-host session, level 1 with $l1_smp CPUs; ${runtime}s per row after a 2 s ramp"
    [ "$rounds" = 1 ] || echo "# $rounds rounds of every column, the order rotated each round"
} >"$log"
# Generous: L1's boot, the image fill, and per column 6 rows plus a guest boot. A guest row took
# about 75 s for its 12 s of fio in the first session (fio's start in the nested guest, the console).
row_count=6
[ -z "${KESTREL_BENCH_FIO_ROWS:-}" ] || row_count=$(wc -w <<<"$KESTREL_BENCH_FIO_ROWS")
budget=$((300 + rounds * ${#columns[@]} * (row_count * (runtime + 80) + 180)))
status=0
# Every row prints within minutes; ten silent ones are a stalled level 1 (retried once).
tests/testhost/run-in-l1.sh --smp "$l1_smp" --timeout "$budget" --idle-timeout 600 --log-dir "$work/l1-logs" \
    bench/fio-table-in-l1.sh /tmp/kestrel-bench-fio "$runtime" "${columns[@]}" >"$session" 2>&1 || status=$?
cat "$session" >>"$log"
echo "# session exit status $status" >>"$log"
bash bench/fio-report.sh "$session" | tee -a "$log"
echo "bench-fio: log in $log"
exit "$status"
