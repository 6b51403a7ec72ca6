#!/usr/bin/env bash
# Builds build/guest/initrd-disk.img: the default guest's initrd (build-guest.sh)
# followed by a second archive with the disk tools, for the disk checks and the
# fio bench:
#   - mkfs.ext4, e2fsck (e2fsprogs) and fio (libaio, psync, io_uring engines),
#     each with its shared libraries and the dynamic loader, from this host's
#     Debian packages; fio's rbd/gluster/nbd/RDMA/pmem libraries are replaced by
#     stubs (tests/testhost/stub-libraries.sh says why);
#   - the ext4 module and its dependencies, appended to /modules/order so the
#     default init loads them.
# It also builds build/guest/initrd-power-button.img, for the control API's
# boot only (tests/e2e/api-checks.sh): initrd-disk.img followed by a third
# archive whose /modules/order adds button and evdev (the ACPI power button as
# an input device). Every other disk boot keeps initrd-disk.img, without them.
# busybox already has dd, sync, sha256sum, blkdiscard, fstrim and blockdev.
# The tools go to /usr/bin and /usr/sbin: a test script sets
# PATH=/usr/sbin:/usr/bin:/bin. The default initrd stays small (the boot bench
# measures it).
#
# Cached: rebuilt when this script, stub-libraries.sh, lib.sh, the default
# initrd or the tools change. Prints the image path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

bash "$here/build-guest.sh"
vmlinuz=$("$here/fetch-kernel.sh")
kernel_dir=$(cd "$(dirname "$vmlinuz")/.." && pwd)
version=$(kernel_version "$kernel_dir")
out_dir=$repo/build/guest
image=$out_dir/initrd-disk.img
power_button_image=$out_dir/initrd-power-button.img
stamp=$out_dir/.stamp-disk

tools=(/usr/sbin/mkfs.ext4 /usr/sbin/e2fsck /usr/bin/fio)
stubbed=(librbd.so.1 librados.so.2 libgfapi.so.0 libnbd.so.0 libibverbs.so.1 librdmacm.so.1 libpmemblk.so.1 libpmem.so.1)
for tool in "${tools[@]}"; do
    [ -x "$tool" ] || { echo "build-guest-disk: $tool is missing (apt-get install e2fsprogs fio)" >&2; exit 1; }
done

lock_build "$out_dir.disk.lock"
wanted_stamp="$(cat "$0" "$here/stub-libraries.sh" "$here/lib.sh" "$out_dir/initrd.img" "${tools[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$image" ] && [ -f "$power_button_image" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted_stamp" ]; then
    echo "$image"
    exit 0
fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-guest-disk.XXXXXX")
trap 'rm -rf "$staging"' EXIT
root=$staging/root
libdir=$root/lib/x86_64-linux-gnu
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$libdir" "$root/lib64" "$root/modules" "$root/etc"

# fio's stubbed libraries are not copied, nor their own dependencies (the bulk).
libraries_skipped=("${stubbed[@]}")
libraries_copy "$libdir" "${tools[@]}" >"$staging/libraries"
mapfile -t kept_libraries <"$staging/libraries"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
bash "$here/stub-libraries.sh" /usr/bin/fio "$libdir" "${kept_libraries[@]}" -- "${stubbed[@]}"
cp /usr/sbin/mkfs.ext4 /usr/sbin/e2fsck "$root/usr/sbin/"
cp /usr/bin/fio "$root/usr/bin/"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"

# Every tool must load with only these libraries: run each through the copied
# loader, confined to the copied library directory.
for tool in "${tools[@]}"; do
    flag=-V
    [ "$(basename "$tool")" = fio ] && flag=--version
    libraries_check "$root" "$libdir" "$tool" "$flag" "$staging/check.log"
done

# The default init loads /modules/order; this archive's copy replaces the
# default one (later cpio members win) and adds ext4 after the base list.
modules_dir=$kernel_dir/lib/modules/$version
gzip -dc "$out_dir/initrd.img" | cpio -i --quiet --to-stdout modules/order >"$root/modules/order"
[ -s "$root/modules/order" ] || { echo "build-guest-disk: the default initrd has no /modules/order" >&2; exit 1; }
# modules_add ROOT NAME...: NAMEs and their dependencies that ROOT/modules/order
# lacks, copied to ROOT/modules and appended to the order.
modules_add() {
    local archive_root=$1 module
    shift
    modules_resolve "$modules_dir" "$@" >"$staging/modules.rel"
    while read -r module; do
        grep -qx "$(basename "$module")" "$archive_root/modules/order" && continue
        cp "$modules_dir/$module" "$archive_root/modules/"
        basename "$module" >>"$archive_root/modules/order"
    done <"$staging/modules.rel"
}
modules_add "$root" crc32c_generic ext4

cpio_pack "$root" "$staging/disk.cpio.gz"

# The power-button archive: its /modules/order (the disk one plus button and
# evdev) replaces the disk archive's, as that one replaces the default's.
button_root=$staging/power-button
mkdir -p "$button_root/modules"
cp "$root/modules/order" "$button_root/modules/order"
modules_add "$button_root" button evdev
cpio_pack "$button_root" "$staging/power-button.cpio.gz"

partial=$(mktemp "$image.XXXXXX")
cat "$out_dir/initrd.img" "$staging/disk.cpio.gz" >"$partial"
chmod 644 "$partial"
mv "$partial" "$image"
partial=$(mktemp "$power_button_image.XXXXXX")
cat "$image" "$staging/power-button.cpio.gz" >"$partial"
chmod 644 "$partial"
mv "$partial" "$power_button_image"
echo "$wanted_stamp" >"$stamp"
echo "$image"
