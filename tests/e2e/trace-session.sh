#!/bin/sh
# sh trace-session.sh VMM
# The block trace check (tests/e2e/trace-checks.sh) on its own, with VMM a
# kestrel binary. Run it where guests can run, e.g.
#   flock /work/l1.lock tests/testhost/run-in-l1.sh --timeout 900 tests/e2e/trace-session.sh build/kestrel
# after tests/testhost/build-guest-disk.sh. TAP lines between
# E2E-SESSION-BEGIN and E2E-SESSION-END, like guest-session.sh.
if [ $# -ne 1 ]; then
    echo "usage: $0 VMM" >&2
    exit 2
fi
disk_vmm=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-trace-session.XXXXXX)
boot_timeout=240
failed=0
boots=0
disk_initrd=$repo/build/guest/initrd-disk.img
disk_cmdline="console=ttyS0 panic=-1 quiet"
echo E2E-SESSION-BEGIN
. "$repo/tests/e2e/session-lib.sh"
# disk-checks.sh's helpers without its boots.
eval "$(sed -n '/^disk_boot() {/,/^}/p; /^disk_guest_initrd() {/,/^}/p' "$repo/tests/e2e/disk-checks.sh")"
. "$repo/tests/e2e/trace-checks.sh"
echo "# $boots guests booted; removing $out"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
