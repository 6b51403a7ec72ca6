#!/bin/sh
# sh disk-session.sh VMM [--trace-only|--api-only]
# The disk checks (tests/e2e/disk-checks.sh) on their own, with VMM a kestrel
# binary or "qemu": QEMU validates the guest side of the checks (a check that
# fails under QEMU is the check's bug). Run it where guests can run, e.g.
#   flock /work/l1.lock tests/testhost/run-in-l1.sh --timeout 1500 tests/e2e/disk-session.sh qemu
# after tests/testhost/build-guest-disk.sh. TAP lines between
# E2E-SESSION-BEGIN and E2E-SESSION-END, like guest-session.sh.
# --trace-only: instead, the block trace check alone (tests/e2e/trace-checks.sh,
# kestrel only; one boot), with disk-checks.sh's helpers but not its boots.
# --api-only: the same for the control API check (tests/e2e/api-checks.sh).
if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# = 2 ] && [ "$2" != --trace-only ] && [ "$2" != --api-only ]; }; then
    echo "usage: $0 VMM [--trace-only|--api-only]" >&2
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
if [ -n "${2:-}" ]; then
    disk_initrd=$repo/build/guest/initrd-disk.img
    disk_cmdline="console=ttyS0 panic=-1 quiet"
    eval "$(sed -n '/^disk_boot() {/,/^}/p; /^disk_guest_initrd() {/,/^}/p' "$repo/tests/e2e/disk-checks.sh")"
    if [ "$2" = --trace-only ]; then
        . "$repo/tests/e2e/trace-checks.sh"
    else
        . "$repo/tests/e2e/api-checks.sh"
    fi
else
    . "$repo/tests/e2e/disk-checks.sh"
fi
echo "# $boots guests booted; removing $out"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
