#!/usr/bin/env bash
# `make bench-durability`: kill -9 durability over many runs (issue 12: 50),
# in one session of the nested test host: tests/e2e/disk-durability.sh boots
# the disk guest, which writes and flushes numbered records; the VMM is killed
# with SIGKILL at a random moment; every acknowledged record must be on the
# image. The session log goes to docs/bench-logs/disk-durability-<time>.log.
#
# Serialize with other users of the test host: flock /work/l1.lock make bench-durability
#
# Environment: KESTREL_BENCH_DURABILITY_RUNS (50), KESTREL_BENCH_DURABILITY_VMM
# (build/kestrel; "qemu" measures QEMU with the same guest and checks).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
runs=${KESTREL_BENCH_DURABILITY_RUNS:-50}
vmm=${KESTREL_BENCH_DURABILITY_VMM:-$repo/build/kestrel}
case $runs in
    ''|*[!0-9]*|0) echo "kestrel: bench-durability: '$runs' is not a positive number" >&2; exit 2 ;;
esac
[ "$vmm" = qemu ] || [ -x "$vmm" ] || { echo "kestrel: bench-durability: no VMM at '$vmm'" >&2; exit 2; }

bash tests/testhost/build-guest-disk.sh >/dev/null
stamp=$(date -u +%Y-%m-%dT%H%MZ)
log=docs/bench-logs/disk-durability-$stamp.log
work=$repo/build/bench-durability
mkdir -p "$work" docs/bench-logs
{
    echo "# bench-durability: $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "# VMM: $vmm; $runs runs in one nested test-host session (level 1 with 1 CPU)"
} >"$log"
status=0
tests/testhost/run-in-l1.sh --timeout $((120 + runs * 90)) --log-dir "$work/l1-logs" \
    tests/e2e/disk-durability.sh "$vmm" /tmp/kestrel-bench-durability "$runs" >"$work/session.log" 2>&1 || status=$?
cat "$work/session.log" >>"$log"
echo "# session exit status $status" >>"$log"
grep '^DURABILITY-SUMMARY' "$work/session.log" || echo "bench-durability: no summary (status $status)"
echo "bench-durability: log in $log"
exit "$status"
