#!/usr/bin/env python3
"""Seeds for fuzz_kvm_binary_stats: this host's real VM and vCPU stats files
(KVM_GET_STATS_FD) when /dev/kvm has them, and a small crafted file.
Usage: make_seeds_kvm_binary_stats.py DIR"""
import fcntl, os, struct, sys

KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_GET_STATS_FD = 0xAE01, 0xAE41, 0xAECE
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def dump(fd, name):
    header = os.pread(fd, 24, 0)
    _, name_size, num_desc, _, desc_offset, data_offset = struct.unpack("<6I", header)
    data_end = data_offset + 8 * 64
    with open(os.path.join(out, name), "wb") as f:
        f.write(os.pread(fd, data_end, 0))

try:
    kvm = os.open("/dev/kvm", os.O_RDWR)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    dump(fcntl.ioctl(vm, KVM_GET_STATS_FD, 0), "host-vm")
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    dump(fcntl.ioctl(vcpu, KVM_GET_STATS_FD, 0), "host-vcpu")
except OSError as error:
    print(f"no host stats files: {error}", file=sys.stderr)

# Crafted: two counters, a histogram, a gauge; names of 16 bytes.
names = [(b"exits", 0x0, 1, 0), (b"io_exits", 0x0, 1, 8), (b"hist", 0x4, 4, 16), (b"guest_mode", 0x41, 1, 48)]
name_size, desc_offset = 16, 24 + 8
data_offset = desc_offset + len(names) * (16 + name_size)
blob = struct.pack("<6I", 0, name_size, len(names), 24, desc_offset, data_offset) + b"kvm-seed"
for name, flags, size, offset in names:
    blob += struct.pack("<IhHII", flags, 0, size, offset, 0) + name.ljust(name_size, b"\0")
blob += struct.pack("<8Q", 100, 60, 1, 2, 3, 4, 1, 0)
with open(os.path.join(out, "crafted"), "wb") as f:
    f.write(blob)
