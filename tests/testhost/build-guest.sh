#!/usr/bin/env bash
# Builds the default guest (L2): build/guest/vmlinuz (Debian's stock bzImage,
# the same kernel as the test host's) and build/guest/initrd.img (busybox-static,
# the virtio and pvpanic modules, and the init below).
#
# The init prints KESTREL-GUEST-INIT first of all (the boot-time marker), then
# mounts /proc, /sys, /dev and loads the modules. When the guest has a NIC
# (eth0) it asks for an address by DHCP (busybox udhcpc and the event script
# below), unless the command line says kestrel_net=none. If /test.sh exists (see
# add-test-script.sh) it runs it, otherwise it starts a shell on the console;
# either way it powers off afterwards.
#
# Cached: rebuilt when this script, lib.sh or the kernel changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

vmlinuz=$("$here/fetch-kernel.sh")
kernel_dir=$(cd "$(dirname "$vmlinuz")/.." && pwd)
version=$(kernel_version "$kernel_dir")
out_dir=$repo/build/guest
stamp=$out_dir/.stamp

lock_build "$out_dir.lock"
wanted_stamp="$(cat "$0" "$here/lib.sh" | sha256sum | cut -d' ' -f1) $(kernel_package "$kernel_dir")"
if [ -f "$out_dir/vmlinuz" ] && [ -f "$out_dir/initrd.img" ] && [ -f "$stamp" ] &&
   [ "$(cat "$stamp")" = "$wanted_stamp" ]; then
    exit 0
fi

[ -x /bin/busybox ] || { echo "build-guest: busybox-static is not installed" >&2; exit 1; }

staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-guest.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,dev,proc,sys,tmp,root,modules,etc/udhcpc}
cp /bin/busybox "$staging/bin/busybox"
ln -s busybox "$staging/bin/sh"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true
echo 'root:x:0:0:root:/root:/bin/sh' >"$staging/etc/passwd"

# udhcpc's event script: udhcpc only talks DHCP and leaves the interface to it.
cat >"$staging/etc/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
# $1 is the event; the lease is in $interface, $ip, $mask (prefix length), $router, $dns.
case $1 in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -z "$router" ] || ip route replace default via "${router%% *}" dev "$interface"
        : >/etc/resolv.conf
        for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done
        echo "kestrel guest: $interface $ip/${mask:-24} via ${router:-none}" ;;
esac
exit 0
SCRIPT
chmod 755 "$staging/etc/udhcpc/default.script"

modules_dir=$kernel_dir/lib/modules/$version
modules_resolve "$modules_dir" virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio-rng \
    pvpanic pvpanic-mmio >"$staging/modules/order.rel"
while read -r module; do
    cp "$modules_dir/$module" "$staging/modules/"
    basename "$module" >>"$staging/modules/order"
done <"$staging/modules/order.rel"
rm "$staging/modules/order.rel"

cat >"$staging/init" <<'INIT'
#!/bin/sh
# Default kestrel guest init (tests/testhost/build-guest.sh).
# First line of output: the boot-time benchmark measures up to here.
echo KESTREL-GUEST-INIT
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
ip link set lo up 2>/dev/null
hostname kestrel-guest
# Modules for hardware that is absent simply fail to bind; that is fine.
while read -r module; do
    insmod "/modules/$module" 2>/dev/null
done </modules/order
# A NIC gets its address by DHCP (user networking's 10.0.2.15); a test that sets addresses itself
# passes kestrel_net=none. -n: no lease is not fatal, the guest still boots.
if [ -e /sys/class/net/eth0 ] && ! grep -qw kestrel_net=none /proc/cmdline; then
    ip link set eth0 up
    udhcpc -i eth0 -f -q -n -t 10 -T 1 -s /etc/udhcpc/default.script 2>/dev/null ||
        echo "kestrel guest: no DHCP lease on eth0"
fi
if [ -f /test.sh ]; then
    sh /test.sh
else
    echo "kestrel default guest: shell on the console; exit to power off"
    setsid cttyhack sh -l
fi
poweroff -f
INIT
chmod 755 "$staging/init"

mkdir -p "$out_dir"
partial=$(mktemp "$out_dir/vmlinuz.XXXXXX")
cp "$vmlinuz" "$partial" && chmod 644 "$partial" && mv "$partial" "$out_dir/vmlinuz"
cpio_pack "$staging" "$out_dir/initrd.img"
echo "$wanted_stamp" >"$stamp"
