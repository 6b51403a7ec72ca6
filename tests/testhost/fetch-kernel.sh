#!/usr/bin/env bash
# Downloads Debian's stock amd64 kernel (the one linux-image-amd64 depends on)
# and extracts it under build/testhost/kernel/. The nested test host (L1) and
# the default guest (L2) both boot this kernel.
#
# Cached and idempotent: once extracted, later calls only print the path.
# Prints the vmlinuz path on stdout; everything else goes to stderr.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kernel_dir=${KESTREL_TESTHOST_KERNEL_DIR:-$repo/build/testhost/kernel}
stamp=$kernel_dir/.extracted

if [ -f "$stamp" ]; then
    version=$(cat "$stamp")
    if [ -f "$kernel_dir/boot/vmlinuz-$version" ]; then
        echo "$kernel_dir/boot/vmlinuz-$version"
        exit 0
    fi
fi

mkdir -p "$(dirname "$kernel_dir")"
exec 9>"$kernel_dir.lock"
flock 9
if [ -f "$stamp" ] && [ -f "$kernel_dir/boot/vmlinuz-$(cat "$stamp")" ]; then
    echo "$kernel_dir/boot/vmlinuz-$(cat "$stamp")"  # another run fetched it meanwhile
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb depmod; do
    command -v "$tool" >/dev/null || { echo "fetch-kernel: $tool not found (Debian tools required)" >&2; exit 1; }
done

kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

package=${KESTREL_KERNEL_PACKAGE:-$(kernel_package)}
if [ -z "$package" ]; then
    # A fresh machine may not have package lists yet.
    echo "fetch-kernel: no package lists; running apt-get update" >&2
    apt-get update -q >/dev/null
    package=$(kernel_package)
fi
if [ -z "$package" ]; then
    echo "fetch-kernel: cannot find the kernel package behind linux-image-amd64" >&2
    exit 1
fi
version=${package#linux-image-}

download_dir=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-kernel.XXXXXX")
trap 'rm -rf "$download_dir"' EXIT
echo "fetch-kernel: downloading $package" >&2
# _apt cannot write into a private mktemp dir; make it accessible.
chmod 755 "$download_dir"
(cd "$download_dir" && apt-get download -q "$package" >/dev/null 2>&1) ||
    (cd "$download_dir" && apt-get update -q >/dev/null && apt-get download -q "$package" >&2)
deb=$(ls "$download_dir"/*.deb)

rm -rf "$kernel_dir"
mkdir -p "$kernel_dir"
dpkg-deb -x "$deb" "$kernel_dir"
depmod -b "$kernel_dir" "$version"
if [ ! -f "$kernel_dir/boot/vmlinuz-$version" ]; then
    echo "fetch-kernel: $deb has no boot/vmlinuz-$version" >&2
    exit 1
fi
echo "$version" >"$stamp"
echo "$kernel_dir/boot/vmlinuz-$version"
