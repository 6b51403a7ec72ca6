#!/usr/bin/env bash
# fetch-kernel.sh [--describe]
#
# Downloads the Debian kernel package pinned in tests/testhost/kernel-version
# and extracts it under build/testhost/kernel/. The nested test host (L1) and
# the default guest (L2) both boot this kernel. Prints the vmlinuz path on
# stdout; everything else goes to stderr.
#
# If the archive no longer has the pinned package (Debian drops old kernel ABIs
# from stable), it falls back to the package linux-image-amd64 depends on today
# and prints one line saying so.
#
# Cached by exact package version (.package in the kernel directory): a cache of
# another version is replaced. --describe prints "PACKAGE VERSION" of the cached
# kernel and, after a fallback, why.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kernel_dir=${KESTREL_TESTHOST_KERNEL_DIR:-$repo/build/testhost/kernel}
pin_file=${KESTREL_KERNEL_PIN_FILE:-$repo/tests/testhost/kernel-version}
# A stalled mirror must not hang make check.
apt_timeout=${KESTREL_APT_TIMEOUT:-300}

fail() {
    echo "fetch-kernel: $*" >&2
    exit 1
}

read -r pinned_package pinned_version < <(grep -vE '^[[:space:]]*(#|$)' "$pin_file" | head -n 1) ||
    fail "no 'PACKAGE VERSION' line in $pin_file"
[ -n "${pinned_version:-}" ] || fail "no 'PACKAGE VERSION' line in $pin_file"

# cached_vmlinuz: the extracted vmlinuz, if the cache is complete.
cached_vmlinuz() {
    [ -f "$kernel_dir/.extracted" ] && [ -f "$kernel_dir/.package" ] || return 1
    local path
    path=$kernel_dir/boot/vmlinuz-$(cat "$kernel_dir/.extracted")
    [ -f "$path" ] && echo "$path"
}

if [ "${1:-}" = --describe ]; then
    cached_vmlinuz >/dev/null || fail "no kernel fetched yet"
    description=$(cat "$kernel_dir/.package")
    if [ -s "$kernel_dir/.fallback" ]; then
        description="$description ($(cat "$kernel_dir/.fallback"))"
    else
        description="$description (pinned in tests/testhost/kernel-version)"
    fi
    echo "$description"
    exit 0
fi

if path=$(cached_vmlinuz) && [ "$(cat "$kernel_dir/.package")" = "$pinned_package $pinned_version" ]; then
    echo "$path"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb depmod timeout; do
    command -v "$tool" >/dev/null || fail "$tool not found (Debian tools required)"
done

mkdir -p "$(dirname "$kernel_dir")"
exec 9>"$kernel_dir.lock"
flock 9

apt_update() {
    echo "fetch-kernel: updating the package lists (apt-get update)" >&2
    timeout -k 10 "$apt_timeout" apt-get update -q >/dev/null ||
        echo "fetch-kernel: apt-get update failed or took more than ${apt_timeout}s" >&2
}

# resolve: sets package, version and fallback from the local package lists.
resolve() {
    package= version= fallback=
    # apt-cache show PACKAGE=VERSION succeeds even for a version it lacks; madison lists what exists.
    if apt-cache madison "$pinned_package" 2>/dev/null | awk -F' *[|] *' -v v="$pinned_version" '$2 == v { found = 1 } END { exit !found }'; then
        package=$pinned_package version=$pinned_version
        return 0
    fi
    package=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    [ -n "$package" ] || return 1
    version=$(apt-cache policy "$package" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
    [ -n "$version" ] && [ "$version" != "(none)" ] || return 1
    fallback="fallback: the pinned $pinned_package $pinned_version is not in the archive; using what linux-image-amd64 depends on today"
}

resolve || { apt_update; resolve; } ||
    fail "neither the pinned $pinned_package $pinned_version nor linux-image-amd64 is in the package lists"
if path=$(cached_vmlinuz) && [ "$(cat "$kernel_dir/.package")" = "$package $version" ]; then
    [ -z "$fallback" ] || echo "fetch-kernel: $fallback: $package $version" >&2
    echo "$path"  # cached, or another run fetched it meanwhile
    exit 0
fi

download_dir=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-kernel.XXXXXX")
trap 'rm -rf "$download_dir"' EXIT
# _apt cannot write into a private mktemp dir; make it accessible.
chmod 755 "$download_dir"
download() {
    echo "fetch-kernel: downloading $package $version" >&2
    (cd "$download_dir" && timeout -k 10 "$apt_timeout" apt-get download -q "$package=$version" >&2)
}
if ! download; then
    # Stale lists name a file the mirror no longer has: refresh and resolve again.
    apt_update
    resolve || fail "cannot resolve a kernel package after apt-get update"
    download || fail "apt-get download $package=$version failed (or took more than ${apt_timeout}s)"
fi
[ -z "$fallback" ] || echo "fetch-kernel: $fallback: $package $version" >&2
deb=$(ls "$download_dir"/*.deb)
abi=${package#linux-image-}

rm -rf "$kernel_dir"
mkdir -p "$kernel_dir"
dpkg-deb -x "$deb" "$kernel_dir"
depmod -b "$kernel_dir" "$abi"
[ -f "$kernel_dir/boot/vmlinuz-$abi" ] || fail "$deb has no boot/vmlinuz-$abi"
echo "$abi" >"$kernel_dir/.extracted"
[ -z "$fallback" ] || echo "$fallback" >"$kernel_dir/.fallback"
echo "$package $version" >"$kernel_dir/.package"
echo "$kernel_dir/boot/vmlinuz-$abi"
