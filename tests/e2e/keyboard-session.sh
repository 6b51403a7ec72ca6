#!/bin/sh
# sh keyboard-session.sh VMM [LABEL]
# tests/e2e/keyboard-checks.sh's keyboard_checks on its own, in a guest
# session like disk-session.sh: TAP lines between E2E-SESSION-BEGIN and
# E2E-SESSION-END, exit status 1 if any check failed. Run it where guests run:
#   flock /work/l1.lock tests/testhost/run-in-l1.sh --timeout 600 tests/e2e/keyboard-session.sh build/kestrel
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 VMM [LABEL]" >&2
    exit 2
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-keyboard-session.XXXXXX)
boot_timeout=240
failed=0
boots=0
echo E2E-SESSION-BEGIN
. "$repo/tests/e2e/session-lib.sh"
. "$repo/tests/e2e/keyboard-checks.sh"
keyboard_checks "$1" "${2:-keyboard}"
echo "# $boots guests booted; removing $out"
rm -rf "$out"
echo E2E-SESSION-END
exit $failed
