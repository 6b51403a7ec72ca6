#!/usr/bin/env bash
# disk-durability-selftest.sh WORK: proves that tests/e2e/disk-durability.sh
# can fail. Natively (no guest): a fake VMM (fake-disk-vmm.sh) that writes
# every record before acknowledging it must pass, and one that acknowledges
# every third record without writing it must be caught. TAP lines.
set -uo pipefail
work=$1
here=$(cd "$(dirname "$0")" && pwd)
failed=0
for mode in honest lying; do
    printf '#!/bin/sh\nexec bash %s %s "$@"\n' "$here/fake-disk-vmm.sh" "$mode" >"$work/fake-vmm-$mode"
    chmod +x "$work/fake-vmm-$mode"
    bash "$here/disk-durability.sh" "$work/fake-vmm-$mode" "$work/durability-$mode" 2 30 >"$work/durability-$mode.log" 2>&1
    echo $? >"$work/durability-$mode.status"
    sed 's/^/# '"$mode"': /' "$work/durability-$mode.log"
done
summary() { sed -n 's/^DURABILITY-SUMMARY //p' "$work/durability-$1.log"; }
if [ "$(cat "$work/durability-honest.status")" = 0 ] && [ "$(summary honest)" = "runs=2 good=2 lost=0" ]; then
    echo "ok - durability check: a VMM that writes before it acknowledges passes"
else
    echo "not ok - durability check: a VMM that writes before it acknowledges passes"
    failed=1
fi
if [ "$(cat "$work/durability-lying.status")" != 0 ] && summary lying | grep -qE '^runs=2 good=0 lost=[1-9]'; then
    echo "ok - durability check: a VMM that acknowledges unwritten records is caught"
else
    echo "not ok - durability check: a VMM that acknowledges unwritten records is caught"
    failed=1
fi
exit $failed
