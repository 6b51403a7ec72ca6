#!/usr/bin/env bash
# add-test-script.sh BASE_INITRD SCRIPT OUT
# Writes OUT: BASE_INITRD followed by a second gzip'd cpio archive holding
# SCRIPT as /test.sh. Linux unpacks concatenated archives in order, so the
# default guest's init finds /test.sh, runs it and powers off.
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 BASE_INITRD SCRIPT OUT" >&2
    exit 2
fi
base=$1 script=$2 out=$3
[ -f "$base" ] || { echo "add-test-script: no such initrd: $base" >&2; exit 2; }
[ -f "$script" ] || { echo "add-test-script: no such script: $script" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-test-script.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir "$staging/root"
install -m 755 "$script" "$staging/root/test.sh"
cpio_pack "$staging/root" "$staging/extra.cpio.gz"
cat "$base" "$staging/extra.cpio.gz" >"$out.tmp"
mv "$out.tmp" "$out"
