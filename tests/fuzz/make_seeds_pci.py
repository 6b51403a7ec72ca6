#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_pci_config and fuzz_msix (run from the repository root).

Each seed is a plausible driver sequence in the fuzzer's record format, so
the fuzzer starts from states a real guest reaches: Linux's type 1 probe,
BAR sizing and placement, MSI-X set up masked, unmasked and fired.
"""
import os
import struct

SIZE_INDEX = {1: 0, 2: 1, 4: 2, 8: 3}
ECAM_SLOT3 = 3 << 15


def pci_record(kind, where, size=4, value=None):
    data = bytes([kind | SIZE_INDEX[size] << 3]) + struct.pack('<I', where)
    if value is not None:
        data += value.to_bytes(size, 'little')
    return data


def latch(address):
    return pci_record(0, 0, 4, address)


def cfc_read(port_offset, size=4):
    return pci_record(1, 4 + port_offset, size)


def ecam_read(offset, size=4):
    return pci_record(3, ECAM_SLOT3 + offset, size)


def ecam_write(offset, value, size=4):
    return pci_record(4, ECAM_SLOT3 + offset, size, value)


def window_write(offset, value, size=4):
    return pci_record(6, offset, size, value)


def window_read(offset, size=4):
    return pci_record(5, offset, size)


def fire(vector):
    return pci_record(7, vector, 4)


def pci_seeds():
    probe = latch(0x80000000) + cfc_read(0) + latch(0x80001800) + cfc_read(0) + cfc_read(2, 2) + \
        latch(0x80001808) + cfc_read(3, 1) + ecam_read(0) + ecam_read(0x34, 1) + ecam_read(0x40) + ecam_read(0x100)
    sizing = ecam_write(0x04, 0, 2) + ecam_write(0x10, 0xffffffff) + ecam_read(0x10) + \
        ecam_write(0x18, 0xffffffff) + ecam_write(0x1c, 0xffffffff) + ecam_read(0x18) + ecam_read(0x1c) + \
        ecam_write(0x10, 0xc0000000) + ecam_write(0x18, 0xc0010000) + ecam_write(0x1c, 0) + \
        ecam_write(0x04, 0x0006, 2) + window_write(0x8, 0x1234) + window_read(0x8)
    table = 0x10000
    msix = sizing + ecam_write(0x42, 0xc000, 2) + window_write(table + 16, 0xfee00000) + \
        window_write(table + 20, 0) + window_write(table + 24, 0x41) + window_write(table + 28, 0) + \
        fire(1) + window_read(table + 0x2000) + ecam_write(0x42, 0x8000, 2) + fire(1) + \
        window_write(0x100, 1) + window_write(table + 28, 1) + fire(1) + window_read(table + 0x2000, 8)
    moves = sizing + ecam_write(0x10, 0xfee00000) + window_read(0x8) + ecam_write(0x10, 0xc0010000) + \
        ecam_write(0x13, 0xd0, 1) + ecam_write(0x18, 0x0, 4) + ecam_write(0x1c, 0x1, 4) + \
        pci_record(5, 0x80000000, 4) + ecam_write(0x04, 0, 2)
    return {'linux_probe': probe, 'bar_sizing': sizing, 'msix_setup': msix, 'bar_moves': moves}


def msix_record(kind, where, size=4, value=b''):
    return bytes([kind | SIZE_INDEX[size] << 3]) + struct.pack('<H', where) + value


def msix_seeds():
    enable_masked = msix_record(2, 0xc000)
    entry = msix_record(5, 3, 4, struct.pack('<IIII', 0xfee00000, 0, 0x43, 0))
    sequence = enable_masked + entry + msix_record(3, 3) + msix_record(0, 0x800) + msix_record(2, 0x8000) + \
        msix_record(3, 3) + msix_record(1, 3 * 16 + 12, 4, struct.pack('<I', 1)) + msix_record(3, 3) + \
        msix_record(1, 3 * 16 + 12, 4, struct.pack('<I', 0)) + msix_record(0, 0x808, 8) + msix_record(4, 0)
    widths = msix_record(2, 0x8000) + msix_record(0, 0x30, 8) + msix_record(1, 0x31, 2, b'\xff\xff') + \
        msix_record(0, 0x42f, 1) + msix_record(1, 0x800, 4, b'\xff\xff\xff\xff') + msix_record(0, 0x430, 4)
    return {'enable_fire_unmask': sequence, 'odd_widths': widths}


def write(target, seeds):
    directory = os.path.join('tests/fuzz/corpus', target)
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), 'wb') as f:
            f.write(data)


write('fuzz_pci_config', pci_seeds())
write('fuzz_msix', msix_seeds())
