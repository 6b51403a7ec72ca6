#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtq_split: a few small, valid split-ring layouts.

Input format (see tests/fuzz/fuzz_virtq_split.c): a 64-byte header
(size_log2, features, segment capacity, op count, desc/avail/used gpa as
little-endian u32, 48 op bytes), then guest RAM contents from gpa 0.
"""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_virtq_split")
EVENT_IDX, INDIRECT, CONCURRENT, WRAPPING = 1, 2, 4, 0x80
NEXT, WRITE, INDIRECT_FLAG = 1, 2, 4


def op(kind, amount=0):
    """An op byte with op % 6 == kind and op >> 3 == amount (searched, since both come from one byte)."""
    for value in range(256):
        if value % 6 == kind and (value >> 3) == amount:
            return value
    for value in range(256):
        if value % 6 == kind:
            return value
    raise ValueError(kind)


POP, PUSH, DISABLE, ENABLE, NOTIFY, PUBLISH = range(6)


def seed(size_log2, features, capacity, ops, desc, avail, used, ram):
    header = struct.pack("<BBBBIII", size_log2, features, capacity, len(ops), desc, avail, used)
    header += bytes(ops).ljust(48, b"\0")
    assert len(header) == 64
    return header + bytes(ram)


def ram_with(size, descriptors, heads, desc=0x0, avail=0x100, extra=()):
    ram = bytearray(0x400)
    for index, (addr, length, flags, nxt) in descriptors.items():
        struct.pack_into("<QIHH", ram, desc + 16 * index, addr, length, flags, nxt)
    struct.pack_into("<HH", ram, avail, 0, len(heads))
    for slot, head in enumerate(heads):
        struct.pack_into("<H", ram, avail + 4 + 2 * (slot % size), head)
    for gpa, data in extra:
        if len(ram) < gpa + len(data):
            ram.extend(bytes(gpa + len(data) - len(ram)))
        ram[gpa:gpa + len(data)] = data
    return ram


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    basic_ops = [op(POP, 3), op(PUSH, 15), op(PUSH, 31), op(NOTIFY), op(DISABLE), op(ENABLE), op(POP, 1), op(PUSH, 1)]

    # Size 8, a readable+writable chain and a single writable buffer.
    ram = ram_with(8, {0: (0x300, 16, NEXT, 1), 1: (0x310, 64, WRITE, 0), 2: (0x20000, 512, WRITE, 0)}, [0, 2])
    seeds["simple_chains"] = seed(3, 0, 8, basic_ops, 0x0, 0x100, 0x200, ram)

    # EVENT_IDX + INDIRECT: head 3 points at a 3-entry table at 0x380.
    table = b"".join(struct.pack("<QIHH", *entry) for entry in
                     [(0x300, 8, NEXT, 1), (0x308, 8, NEXT, 2), (0x20100, 256, WRITE, 0)])
    ram = ram_with(8, {3: (0x380, len(table), INDIRECT_FLAG, 0), 4: (0x300, 4, 0, 0)}, [3, 4],
                   extra=[(0x380, table)])
    seeds["indirect_event_idx"] = seed(3, EVENT_IDX | INDIRECT, 16, basic_ops + [op(PUBLISH, 1), op(POP, 2)],
                                       0x0, 0x100, 0x200, ram)

    # Same layout with a concurrent guest rewriting entries after each read.
    seeds["indirect_concurrent"] = seed(3, EVENT_IDX | INDIRECT | CONCURRENT, 16, basic_ops,
                                        0x0, 0x100, 0x200, ram)

    # Size 16: a 16-descriptor chain, the longest allowed.
    chain = {i: (0x300 + i, 1, NEXT if i < 15 else 0, i + 1) for i in range(16)}
    ram = ram_with(16, chain, [0], desc=0x0, avail=0x100)
    seeds["longest_chain"] = seed(4, 0, 31, [op(POP, 0), op(PUSH, 0)], 0x0, 0x100, 0x200, ram)

    # Size 4 with the used ring in high RAM (zero-filled there), wrapping avail slots.
    ram = ram_with(4, {0: (0x300, 32, WRITE, 0), 1: (0x20000, 8, 0, 0)}, [1, 0, 1, 0])
    seeds["used_ring_in_high_ram"] = seed(2, EVENT_IDX, 4, [op(POP, 1), op(PUSH, 0), op(PUSH, 0), op(NOTIFY),
                                                            op(POP, 1), op(PUSH, 31), op(PUSH, 0)],
                                          0x0, 0x100, 0x20200, ram)

    # Wrapping descriptors: rings placed validly (descriptor table at 0, avail ring at 0x8000, used ring at
    # 0x20000), and descriptor 1 (selected by the top byte of the descriptor word) moved to 2^64 - 0x10, so
    # its 64 bytes wrap back to gpa 0x30. Head 2 is fine; the chain at head 0 must break the queue.
    ram = bytearray(0x8010)
    for index, (addr, length, flags, nxt) in {0: (0x300, 16, NEXT, 1), 1: (0x10, 64, WRITE, 0),
                                              2: (0x300, 8, 0, 0)}.items():
        struct.pack_into("<QIHH", ram, 16 * index, addr, length, flags, nxt)
    struct.pack_into("<HHHH", ram, 0x8000, 0, 2, 2, 0)
    seeds["wrapping_descriptors"] = seed(3, WRAPPING | EVENT_IDX, 8, [op(POP, 1), op(PUSH, 3), op(POP, 1), op(NOTIFY)],
                                         1 << 25, 0, 0, ram)

    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as output:
            output.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
