#!/usr/bin/env bash
# extract-vmlinux.sh BZIMAGE OUT
# Writes the uncompressed vmlinux ELF carried inside a bzImage to OUT.
#
# The setup header says where the compressed kernel sits: payload_offset
# (0x248) and payload_length (0x24c), counted from the start of the
# protected-mode code, which begins after (setup_sects + 1) * 512 bytes
# (setup_sects at 0x1f1, 0 meaning 4). The compression format is recognised
# by its magic bytes and decompressed with the matching Debian tool.
set -euo pipefail

usage() { echo "usage: $0 BZIMAGE OUT" >&2; exit 2; }
fail() { echo "extract-vmlinux: $*" >&2; exit 2; }
[ $# -eq 2 ] || usage
image=$1
out=$2
[ -f "$image" ] || fail "$image: no such file"

# read_le OFFSET WIDTH: little-endian unsigned integer from the image.
read_le() {
    od -An -tu"$2" -j "$1" -N "$2" --endian=little "$image" | tr -d ' \n'
}

# -L: a symlinked bzImage is measured, not the link itself.
size=$(stat -L -c %s "$image")
[ "$size" -ge 1024 ] || fail "$image is too small to be a bzImage"
[ "$(read_le 0x1fe 2)" = "$((0xaa55))" ] || fail "$image has no boot signature 0xAA55"
[ "$(od -An -c -j 0x202 -N 4 "$image" | tr -d ' \n')" = "HdrS" ] || fail "$image has no HdrS setup header"
version=$(read_le 0x206 2)
[ "$version" -ge $((0x208)) ] || fail "$image uses boot protocol $(printf '%#x' "$version"); payload fields need 2.08"

setup_sects=$(read_le 0x1f1 1)
[ "$setup_sects" -ne 0 ] || setup_sects=4
payload_offset=$(read_le 0x248 4)
payload_length=$(read_le 0x24c 4)
start=$(( (setup_sects + 1) * 512 + payload_offset ))
[ "$payload_length" -gt 0 ] || fail "$image has an empty payload"
[ $((start + payload_length)) -le "$size" ] || fail "$image payload ($payload_length bytes at $start) runs past the end of the file ($size bytes)"

magic=$(od -An -tx1 -j "$start" -N 6 "$image" | tr -d ' \n')
case $magic in
    1f8b*)         decompress=(gzip -dc) ;;
    fd377a585a00)  decompress=(xz -dc) ;;
    28b52ffd*)     decompress=(zstd -dc) ;;
    5d0000*)       decompress=(xz --format=lzma -dc) ;;
    425a68*)       decompress=(bzip2 -dc) ;;
    894c5a4f*)     decompress=(lzop -dc) ;;
    02214c18*)     decompress=(lz4 -dc) ;;
    *)             fail "$image payload has an unknown compression (magic $magic)" ;;
esac
command -v "${decompress[0]}" >/dev/null || fail "${decompress[0]} is needed to decompress $image (apt-get install it)"

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# The payload is followed by nothing the decompressor needs; trailing bytes
# (xz/zstd padding, the 4-byte size Linux appends) make some tools complain,
# so decompression errors are tolerated as long as a valid ELF comes out.
tail -c +"$((start + 1))" "$image" | head -c "$payload_length" | "${decompress[@]}" >"$tmp" 2>/dev/null || true
[ "$(od -An -tx1 -N 4 "$tmp" | tr -d ' \n')" = "7f454c46" ] || fail "decompressing $image did not give an ELF file"
mv "$tmp" "$out"
trap - EXIT
echo "extract-vmlinux: wrote $out ($(stat -c %s "$out") bytes)"
# kestrel boots a vmlinux through its PVH entry (Xen note type 0x12, XEN_ELFNOTE_PHYS32_ENTRY).
if command -v readelf >/dev/null; then
    if readelf -n "$out" | grep -qE '^ +Xen +0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)'; then
        echo "extract-vmlinux: $out has a PVH entry note"
    else
        echo "extract-vmlinux: warning: $out has no Xen PVH entry note; kestrel cannot boot it as an ELF" >&2
    fi
fi
