#!/usr/bin/env bash
# bench/soak.sh [--duration SECONDS] [--net user|tap|vhost] [--reboots N] [--net-mb N] [--fio-mb N]
# The soak test of issue 15 (a bench, not part of make check): one session of
# the nested test host for SECONDS (3600 by default), in which
# bench/soak-in-l1.sh boots kestrel in a loop with a virtio disk, a virtio-net
# NIC and --name, and each boot runs fio --verify on the disk (paused and
# resumed through `kestrel pause|resume NAME` meanwhile), moves N MiB each way
# through the NIC with sha256 at both ends, and then reboots (N times per
# cycle) or powers off (status 0), while kestrel's open fds and RSS are
# sampled every 3 s. bench/soak-report.sh turns the session's log into the
# figures (boots, reboots, bytes verified, failures, leaks) and the fd and RSS
# curve.
#
#   --duration SECONDS  how long to go on starting boots (60 .. 86400; 3600)
#   --net KIND          the NIC: user networking, a tap, or a tap with vhost-net (vhost)
#   --reboots N         reboots per cycle before the poweroff (0 .. 100; 3)
#   --net-mb N          MiB each way per boot (1 .. 256; 2)
#   --fio-mb N          MiB fio writes and verifies per boot (1 .. 256; 8)
#
# Writes docs/bench-logs/soak-<time>.log (the session) and .csv (the samples),
# and docs/images/soak-curve.png. Serialize with other users of the test
# host: flock /work/l1.lock bench/soak.sh --duration 600
# A stall of level 1 ends the soak (no second attempt: it would start the
# hour again) with "level 1 stalled at T s" and the figures so far.
# Bad input: one line "kestrel: soak: ...", status 2, nothing run or written.
# Exit status: soak-report.sh's (0 passed, 1 a failure, a leak or a stall).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

fail() { echo "kestrel: soak: $1" >&2; exit 2; }
# number_in NAME VALUE LOW HIGH: VALUE is a whole number in LOW .. HIGH
number_in() {
    case $2 in
        ''|*[!0-9]*) fail "$1 '$2' is not a whole number" ;;
    esac
    [ ${#2} -le 6 ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || fail "$1 $2 is out of range ($3 .. $4)"
}
duration=3600 net=user reboots=3 net_mb=2 fio_mb=8
while [ $# -gt 0 ]; do
    case $1 in
        --duration|--net|--reboots|--net-mb|--fio-mb)
            [ $# -ge 2 ] || fail "$1 needs a value"
            case $1 in
                --duration) duration=$2 ;;
                --net) net=$2 ;;
                --reboots) reboots=$2 ;;
                --net-mb) net_mb=$2 ;;
                --fio-mb) fio_mb=$2 ;;
            esac
            shift 2 ;;
        *) fail "unknown option '$1' (--duration, --net, --reboots, --net-mb, --fio-mb)" ;;
    esac
done
number_in --duration "$duration" 60 86400
number_in --reboots "$reboots" 0 100
number_in --net-mb "$net_mb" 1 256
number_in --fio-mb "$fio_mb" 1 256
case $net in user|tap|vhost) ;; *) fail "--net '$net' is not user, tap or vhost" ;; esac

command -v gnuplot >/dev/null || { echo "kestrel: soak: gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox)" >&2; exit 1; }
make -j2 build/kestrel >&2
bash tests/testhost/build-guest-disk.sh >/dev/null
bash tests/testhost/build-guest-net.sh >/dev/null

stamp=$(date -u +%Y-%m-%dT%H%MZ)
log=docs/bench-logs/soak-$stamp.log
mkdir -p docs/bench-logs docs/images
{
    echo "# soak: $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "# host load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# bench/soak.sh --duration $duration --net $net --reboots $reboots --net-mb $net_mb --fio-mb $fio_mb"
} >"$log"
# The last boot starts before SECONDS are up and may take up to its bounded waits (~25 min) to finish;
# the sampler prints every 3 s while kestrel runs, so 240 s of silence is a stalled level 1.
status=0
tests/testhost/run-in-l1.sh --no-retry --timeout $((duration + 1800)) --idle-timeout 240 \
    --log-dir build/soak-l1-logs bench/soak-in-l1.sh "$repo/build/kestrel" "$duration" "$net" "$reboots" \
    "$net_mb" "$fio_mb" 2>&1 | tee -a "$log" | grep --line-buffered -v '^SOAK-SAMPLE ' || status=${PIPESTATUS[0]}
echo "# session exit status $status" >>"$log"
bash bench/soak-report.sh "$log" --csv "${log%.log}.csv" --image docs/images/soak-curve.png
