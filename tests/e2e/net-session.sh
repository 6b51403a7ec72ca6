#!/bin/sh
# sh net-session.sh VMM [MEGABYTES]
# The virtio-net checks (tests/e2e/net-checks.sh) on their own, with VMM a
# kestrel binary or "qemu": QEMU validates the guest side of the checks (a
# check that fails under QEMU is the check's bug). Run it where guests can run,
# as root (it makes taps), e.g.
#   bash tests/testhost/build-guest-net.sh
#   flock /work/l1.lock tests/testhost/run-in-l1.sh --timeout 1800 tests/e2e/net-session.sh qemu
# TAP lines between E2E-SESSION-BEGIN and E2E-SESSION-END, like guest-session.sh.
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 VMM [MEGABYTES]" >&2
    exit 2
fi
net_vmm=$1
# The transfers' size, as an argument: the environment does not reach level 1.
[ $# -eq 2 ] && KESTREL_NET_CHECK_MB=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-net-session.XXXXXX)
failed=0
boots=0
echo E2E-SESSION-BEGIN
. "$repo/tests/e2e/session-lib.sh"
. "$repo/tests/e2e/net-checks.sh"
echo "# $boots guests booted; removing $out"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
