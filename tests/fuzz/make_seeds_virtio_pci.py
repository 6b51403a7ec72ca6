#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtio_pci (run from the repository root).

Each seed is a plausible driver sequence in the fuzzer's record format: the
Linux-style initialisation of a split queue with one request popped, the same
with a packed ring, and the PCI_CFG window reading and writing registers.
"""
import os
import struct

SIZE_INDEX = {1: 0, 2: 1, 4: 2, 8: 3}
LOW_RAM = 0x100000
VERSION_1_HIGH = 1 << 0
RING_PACKED_HIGH = 1 << 2


def record(kind, offset, size=4, value=None, flags=0):
    data = bytes([kind | SIZE_INDEX[size] << 3 | flags]) + struct.pack('<H', offset)
    if value is not None:
        data += value.to_bytes(size, 'little')
    return data


def common(offset, value, size):
    return record(0, offset, size, value)


def ram(gpa, value):
    return record(5, (gpa - LOW_RAM) // 8, 8, value)


def negotiate(high_features):
    return (common(0x14, 1, 1) + common(0x14, 3, 1) +
            common(0x08, 0, 4) + common(0x0c, 1 << 3, 4) +
            common(0x08, 1, 4) + common(0x0c, high_features, 4) +
            common(0x14, 11, 1) + record(1, 0x14, 1))


def queue(index, size, desc, driver, device, vector):
    return (common(0x16, index, 2) + common(0x18, size, 2) +
            common(0x20, desc, 4) + common(0x24, 0, 4) +
            common(0x28, driver, 4) + common(0x2c, 0, 4) +
            common(0x30, device, 4) + common(0x34, 0, 4) +
            common(0x1a, vector, 2) + common(0x1c, 1, 2))


def split_seed():
    desc, avail, used, buffer = LOW_RAM, LOW_RAM + 0x1000, LOW_RAM + 0x2000, LOW_RAM + 0x3000
    data = common(0x10, 0, 2) + negotiate(VERSION_1_HIGH) + queue(0, 16, desc, avail, used, 1)
    data += common(0x14, 15, 1)
    # One writable descriptor, then avail ring entry 0 and avail idx 1.
    data += ram(desc, buffer) + ram(desc + 8, 64 | 2 << 32)
    data += ram(avail, 1 << 16)
    data += record(2, 0x3000, 2, 0) + record(6, 0) + record(1, 0x1000, 1)
    return data


def packed_seed():
    desc, driver, device, buffer = LOW_RAM, LOW_RAM + 0x1000, LOW_RAM + 0x2000, LOW_RAM + 0x3000
    data = common(0x10, 0, 2) + negotiate(VERSION_1_HIGH | RING_PACKED_HIGH) + queue(0, 10, desc, driver, device, 1)
    data += common(0x14, 15, 1)
    # addr, len 64, id 0, flags WRITE | AVAIL (wrap counter 1).
    data += ram(desc, buffer) + ram(desc + 8, 64 | (2 | 1 << 7) << 48)
    data += record(2, 0x3000, 2, 0) + record(6, 0) + record(7, 0)
    return data


def window_seed():
    data = record(4, 0x12, 2, 0) + record(3, 0x14, 1, 1) + record(4, 0x2000, 4, 0)
    data += record(3, 0x4008, 4, 0x41) + record(3, 0x1, 1, 0, flags=0x40) + record(3, 0x7ffe, 4, 0xffffffff)
    return data


def main():
    directory = 'tests/fuzz/corpus/fuzz_virtio_pci'
    os.makedirs(directory, exist_ok=True)
    for name, data in (('split_request', split_seed()), ('packed_request', packed_seed()),
                       ('pci_cfg_window', window_seed())):
        with open(os.path.join(directory, name), 'wb') as out:
            out.write(data)


if __name__ == '__main__':
    main()
