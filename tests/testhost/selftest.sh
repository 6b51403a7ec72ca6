#!/usr/bin/env bash
# Proves the test-host chain end to end: builds the default guest, boots L1
# through run-in-l1.sh, and inside it boots the guest with QEMU on L1's real
# /dev/kvm; the guest's /test.sh prints nproc and the date and powers off.
# Prints TAP lines (ok / not ok) and the timings seen.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

if ! bash "$here/build-guest.sh"; then
    echo "not ok - build the default guest"
    exit 1
fi
echo "ok - build the default guest"

work=$repo/build/testhost/selftest
mkdir -p "$work"
cat >"$work/test.sh" <<'GUEST'
echo "SELFTEST-NPROC $(nproc)"
echo "SELFTEST-DATE $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "SELFTEST-KVM-CLOCK $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo SELFTEST-GUEST-DONE
GUEST
if ! bash "$here/add-test-script.sh" build/guest/initrd.img "$work/test.sh" "$work/initrd.img"; then
    echo "not ok - add /test.sh to the guest initrd"
    exit 1
fi
echo "ok - add /test.sh to the guest initrd"

start=$SECONDS
output=$(bash "$here/run-in-l1.sh" --timeout 300 "$here/selftest-in-l1.sh" \
    "$repo/build/guest/vmlinuz" "$work/initrd.img" 2>&1)
status=$?
printf '%s\n' "$output" | grep -vE '^(not )?ok ' | sed 's/^#* */# /'
# The TAP lines come from inside L1; repeat them unindented.
printf '%s\n' "$output" | grep -E '^(not )?ok ' || true
if [ "$status" -eq 0 ]; then
    echo "ok - run-in-l1.sh ran the selftest (exit 0, $((SECONDS - start))s for the whole L1 run)"
else
    echo "not ok - run-in-l1.sh ran the selftest (exit $status)"
fi
[ "$status" -eq 0 ] || exit 1
! printf '%s\n' "$output" | grep -q '^not ok '
