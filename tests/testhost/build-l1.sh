#!/usr/bin/env bash
# Builds build/testhost/l1.img: the initramfs of the nested test host (L1).
# loop and ext4 let a test make a file system with O_DIRECT (tmpfs has none);
# tun, tap and vhost_net give the net checks /dev/net/tun and /dev/vhost-net.
# The tools (ip, iperf3, socat, ethtool) come from the host's / over 9p.
#
# L1 is Debian's stock kernel under QEMU TCG with an SVM-capable CPU. Its init
# loads kvm-amd (so L1 has a real /dev/kvm) and the 9p modules, mounts the
# host's / read-only over 9p, and runs the command file that run-in-l1.sh
# names on the kernel command line inside a chroot of it.
#
# Cached: rebuilt only when this script, lib.sh or the kernel changes.
# Prints the image path on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

vmlinuz=$("$here/fetch-kernel.sh")
kernel_dir=$(cd "$(dirname "$vmlinuz")/.." && pwd)
version=$(kernel_version "$kernel_dir")
out_dir=$repo/build/testhost
image=$out_dir/l1.img
stamp=$out_dir/l1.img.stamp

lock_build "$out_dir/l1.lock"
wanted_stamp="$(cat "$0" "$here/lib.sh" | sha256sum | cut -d' ' -f1) $(kernel_package "$kernel_dir")"
if [ -f "$image" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted_stamp" ]; then
    echo "$image"
    exit 0
fi

# busybox-static installs /bin/busybox (a static binary: L1 has no libraries).
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-l1: busybox-static is not installed" >&2; exit 1; }

staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-l1.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,dev,proc,sys,host,modules,tmp}
cp "$busybox" "$staging/bin/busybox"

modules_dir=$kernel_dir/lib/modules/$version
# Order matters: insmod has no dependency resolution, so the list is loaded as
# printed (dependencies first).
modules_resolve "$modules_dir" kvm-amd 9p 9pnet_virtio virtio_pci vhost_net tun tap overlay loop crc32c_generic ext4 >"$staging/modules/order.rel"
while read -r module; do
    cp "$modules_dir/$module" "$staging/modules/"
    basename "$module" >>"$staging/modules/order"
done <"$staging/modules/order.rel"
rm "$staging/modules/order.rel"

cat >"$staging/init" <<'INIT'
#!/bin/busybox sh
# L1 init: see tests/testhost/build-l1.sh. Messages to the console start with
# "l1:" and are kept out of the streamed script output by run-in-l1.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Without lo, some tools (and QEMU's own networking) stall on name lookups.
ip link set lo up

fail() {
    echo "l1: $*"
    poweroff -f
}

while read -r module; do
    insmod "/modules/$module" || echo "l1: insmod $module failed"
done </modules/order

# Only critical kernel messages on the console, so they rarely land inside the
# script's output; kestrel_verbose=1 on the command line keeps them all.
[ "$kestrel_verbose" = 1 ] || dmesg -n 3

mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro host /host || fail "cannot mount the host's / over 9p"
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -o rbind /dev /host/dev || fail "cannot bind /dev"
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t tmpfs tmpfs /host/run
# /tmp: the host's /tmp visible (scripts made with mktemp on the host work),
# writes going to L1's memory. Falls back to an empty tmpfs.
mount -t tmpfs tmpfs /tmp
mkdir -p /tmp/upper /tmp/work
if ! mount -t overlay overlay -o lowerdir=/host/tmp,upperdir=/tmp/upper,workdir=/tmp/work /host/tmp 2>/dev/null; then
    echo "l1: overlay on /tmp failed; /tmp is an empty tmpfs"
    mount -t tmpfs tmpfs /host/tmp
fi
chmod 1777 /host/tmp

[ -n "$kestrel_ctl" ] || fail "no kestrel_ctl= on the kernel command line"
[ -f "/host$kestrel_ctl" ] || fail "command file $kestrel_ctl not visible over 9p"

if [ "$kestrel_interactive" = 1 ]; then
    # The console becomes the controlling terminal, so Ctrl-C and job
    # control reach the command. A person reads this console: no markers.
    setsid cttyhack chroot /host /bin/sh "$kestrel_ctl"
else
    echo "KESTREL-L1-BEGIN $kestrel_nonce"
    chroot /host /bin/sh "$kestrel_ctl" </dev/null >/dev/console 2>&1
    echo "KESTREL-L1-END $kestrel_nonce $?"
fi
poweroff -f
INIT
chmod 755 "$staging/init"

mkdir -p "$out_dir"
cpio_pack "$staging" "$image"
echo "$wanted_stamp" >"$stamp"
echo "$image"
