#!/usr/bin/env bash
# Installs the Debian packages kestrel needs, and only those that are missing.
# Called by `make` (through a stamp file) and by .ci/run, so a fresh machine
# needs nothing done by hand.
set -euo pipefail

packages=(
  gcc make pkg-config clang libclang-rt-14-dev
  liburing-dev libslirp-dev libcmocka-dev libseccomp-dev linux-libc-dev
  liblzma-dev libzstd-dev zlib1g-dev liblz4-dev nettle-dev libxxhash-dev
  # the nested test host and the default guest
  qemu-system-x86 busybox-static cpio kmod gzip
  # test-only: iasl disassembles the ACPI tables in test_acpi (a missing iasl fails it);
  # xz-utils for scripts/extract-vmlinux.sh; bsdutils has script(1) for the Ctrl-A x test
  acpica-tools xz-utils bsdutils util-linux
  # the disk guest's tools (tests/testhost/build-guest-disk.sh) and the disk checks in the test host
  e2fsprogs fio
  # the net guest's tools (tests/testhost/build-guest-net.sh, static net_rtt needs libc6-dev), and level 1's
  # side of the net checks and bench: ip, socat, iperf3, ethtool
  iperf3 ethtool libc6-dev iproute2 socat
  # the control API (src/api/): HTTP server, JSON (also the live statistics, src/stats/), the CLI's HTTP client
  libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev
  # kestrel trace-plot draws with gnuplot (svg and pngcairo terminals); its test parses the SVG with xmllint
  gnuplot-nox libxml2-utils
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A stalled mirror must not hang make check or CI.
apt_timeout=${KESTREL_APT_TIMEOUT:-600}
timeout -k 10 "$apt_timeout" apt-get update -q >/dev/null || timeout -k 10 "$apt_timeout" apt-get update -q
timeout -k 10 "$apt_timeout" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
