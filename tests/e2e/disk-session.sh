#!/bin/sh
# sh disk-session.sh VMM
# The disk checks (tests/e2e/disk-checks.sh) on their own, with VMM a kestrel
# binary or "qemu": QEMU validates the guest side of the checks (a check that
# fails under QEMU is the check's bug). Run it where guests can run, e.g.
#   flock /work/l1.lock tests/testhost/run-in-l1.sh --timeout 1500 tests/e2e/disk-session.sh qemu
# after tests/testhost/build-guest-disk.sh. TAP lines between
# E2E-SESSION-BEGIN and E2E-SESSION-END, like guest-session.sh.
if [ $# -ne 1 ]; then
    echo "usage: $0 VMM" >&2
    exit 2
fi
disk_vmm=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-disk-session.XXXXXX)
boot_timeout=240
failed=0
boots=0
echo E2E-SESSION-BEGIN
. "$repo/tests/e2e/session-lib.sh"
. "$repo/tests/e2e/disk-checks.sh"
echo "# $boots guests booted; removing $out"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
