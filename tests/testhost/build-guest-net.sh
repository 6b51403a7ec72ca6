#!/usr/bin/env bash
# Builds build/guest/initrd-net.img: the default guest's initrd (build-guest.sh,
# which loads virtio_net and asks for an address by DHCP) followed by a second
# archive with the network tools for the net checks and the net bench:
#   - iperf3 and ethtool, each with its shared libraries and the dynamic
#     loader, from this host's Debian packages, in /usr/bin and /usr/sbin;
#   - net_rtt (bench/net_rtt.c) and net_copy (tests/e2e/net_copy.c), compiled
#     statically; net_rtt is also left in build/guest/net_rtt for level 1's
#     side of the round trips.
# busybox has the rest: nc, ping, udhcpc, sha256sum, taskset.
# A test script sets PATH=/usr/sbin:/usr/bin:/bin.
#
# Cached: rebuilt when this script, lib.sh, the two C tools, the default initrd or
# the tools change. Prints the image path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

bash "$here/build-guest.sh"
out_dir=$repo/build/guest
image=$out_dir/initrd-net.img
stamp=$out_dir/.stamp-net
rtt_source=$repo/bench/net_rtt.c
copy_source=$repo/tests/e2e/net_copy.c

tools=(/usr/bin/iperf3 /usr/sbin/ethtool)
for tool in "${tools[@]}"; do
    [ -x "$tool" ] || { echo "build-guest-net: $tool is missing (apt-get install iperf3 ethtool)" >&2; exit 1; }
done

lock_build "$out_dir.net.lock"
wanted_stamp="$(cat "$0" "$here/lib.sh" "$rtt_source" "$copy_source" "$out_dir/initrd.img" "${tools[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$image" ] && [ -f "$out_dir/net_rtt" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted_stamp" ]; then
    echo "$image"
    exit 0
fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-guest-net.XXXXXX")
trap 'rm -rf "$staging"' EXIT
root=$staging/root
libdir=$root/lib/x86_64-linux-gnu
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$libdir" "$root/lib64"

libraries_skipped=()
libraries_copy "$libdir" "${tools[@]}" >/dev/null
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
for tool in "${tools[@]}"; do
    cp "$tool" "$root$tool"
    libraries_check "$root" "$libdir" "$tool" --version "$staging/check.log"
done

# Static: the guest's loader and libc would do, but level 1 runs the same file.
for source in "$rtt_source" "$copy_source"; do
    name=$(basename "$source" .c)
    ${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o "$staging/$name" "$source"
    cp "$staging/$name" "$root/usr/bin/$name"
done

cpio_pack "$root" "$staging/net.cpio.gz"
partial=$(mktemp "$image.XXXXXX")
cat "$out_dir/initrd.img" "$staging/net.cpio.gz" >"$partial"
chmod 644 "$partial"
mv "$partial" "$image"
partial=$(mktemp "$out_dir/net_rtt.XXXXXX")
cp "$staging/net_rtt" "$partial" && chmod 755 "$partial" && mv "$partial" "$out_dir/net_rtt"
echo "$wanted_stamp" >"$stamp"
echo "$image"
