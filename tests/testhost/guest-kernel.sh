#!/usr/bin/env bash
# guest-kernel.sh BUILD: makes the default guest's kernel files for make check
# and reports them as TAP: BUILD/guest/vmlinuz (the pinned Debian bzImage, with
# the default guest's initrd, by build-guest.sh) and BUILD/guest/vmlinux (its
# PVH ELF, by scripts/extract-vmlinux.sh). run-checks.sh hands them to the
# loader tests (KESTREL_TEST_BZIMAGE, KESTREL_TEST_VMLINUX).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
here=tests/testhost

if ! bash "$here/build-guest.sh" 2>&1 | sed 's/^/# /'; [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "not ok - the default guest builds (tests/testhost/build-guest.sh: fetching the kernel failed?)"
    exit 1
fi
echo "ok - the default guest builds"
echo "# guest kernel: $(bash "$here/fetch-kernel.sh" --describe)"

vmlinuz=$build/guest/vmlinuz
vmlinux=$build/guest/vmlinux
if [ -s "$vmlinux" ] && [ "$vmlinux" -nt "$vmlinuz" ]; then
    echo "ok - the PVH vmlinux is extracted from the bzImage (cached)"
elif bash scripts/extract-vmlinux.sh "$vmlinuz" "$vmlinux.partial" 2>&1 | sed 's/^/# /'; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    mv "$vmlinux.partial" "$vmlinux"
    echo "ok - the PVH vmlinux is extracted from the bzImage"
else
    rm -f "$vmlinux.partial"
    echo "not ok - scripts/extract-vmlinux.sh extracts the PVH vmlinux"
    exit 1
fi
