#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtq_packed (see the input layout in fuzz_virtq_packed.c).

Run from the repository root: python3 tests/fuzz/make_corpus_virtq_packed.py
"""
import os
import struct

OUT = "tests/fuzz/corpus/fuzz_virtq_packed"
AVAIL, USED = 1 << 7, 1 << 15
NEXT, WRITE, INDIRECT = 1, 2, 4
DESC, DRIVER, DEVICE, TABLE, BUF = 0x100, 0x80, 0x84, 0x300, 0x400
POP, PUSH, NOTIFY, DISABLE, ENABLE, POKE, RESET = 0, 2, 3, 4, 5, 6, 7


def avail(wrap):
    return AVAIL if wrap else USED


def seed(name, size, flags, ops, image, capacity=16, concurrent=False):
    capacity_byte = (capacity - 1) | (0x80 if concurrent else 0)
    header = struct.pack("<HBHHHBB", size - 1, flags, DESC, DRIVER, DEVICE, capacity_byte, len(ops))
    body = b"".join(bytes(op) for op in ops)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(header + body + bytes(image))


def image_with(descs, table=(), driver_event=(0, 0)):
    image = bytearray(0x600)
    for slot, (addr, length, ident, flags) in descs.items():
        struct.pack_into("<QIHH", image, DESC + 16 * slot, addr, length, ident, flags)
    for i, (addr, length, flags) in enumerate(table):
        struct.pack_into("<QIHH", image, TABLE + 16 * i, addr, length, 0, flags)
    struct.pack_into("<HH", image, DRIVER, *driver_event)
    return image


def poke16(gpa, value):
    return [[POKE, gpa & 0xFF, gpa >> 8, value & 0xFF], [POKE, (gpa + 1) & 0xFF, (gpa + 1) >> 8, value >> 8]]


os.makedirs(OUT, exist_ok=True)
# One readable and one writable buffer in one chain, then a single one.
seed("chain", 8, 0, [[POP, 0, 0, 0], [PUSH, 0, 16, 0], [NOTIFY, 0, 0, 0], [POP, 0, 0, 0], [PUSH, 0, 0, 0]],
     image_with({0: (BUF, 16, 1, avail(True) | NEXT), 1: (BUF + 16, 32, 1, avail(True) | WRITE),
                 2: (BUF, 8, 0, avail(True))}))
# A two-slot ring going round: after two completions slot 0 is re-offered in lap 0.
seed("wrap", 2, 1, [[POP, 0, 0, 0], [PUSH, 0, 1, 0], [POP, 0, 0, 0], [PUSH, 0, 1, 0], [ENABLE, 0, 0, 0]]
     + poke16(DESC + 14, avail(False)) + [[POP, 0, 0, 0], [NOTIFY, 0, 0, 0], [PUSH, 0, 4, 0]],
     image_with({0: (BUF, 16, 0, avail(True) | WRITE), 1: (BUF, 16, 1, avail(True) | WRITE)}))
# An indirect table of three entries.
seed("indirect", 4, 2, [[POP, 0, 0, 0], [PUSH, 0, 64, 0], [NOTIFY, 0, 0, 0]],
     image_with({0: (TABLE, 48, 3, avail(True) | INDIRECT)},
                table=[(BUF, 16, 0), (BUF + 16, 16, 0), (BUF + 32, 64, WRITE)]))
# EVENT_IDX: the driver asks to hear of used slot 1 (wrap 1); kicks are toggled.
seed("event_idx", 4, 1, [[DISABLE, 0, 0, 0], [POP, 0, 0, 0], [POP, 0, 0, 0], [PUSH, 1, 4, 0], [NOTIFY, 0, 0, 0],
                          [PUSH, 0, 4, 0], [NOTIFY, 0, 0, 0], [ENABLE, 0, 0, 0]],
     image_with({0: (BUF, 16, 0, avail(True) | WRITE), 1: (BUF, 16, 1, avail(True) | WRITE)},
                driver_event=(1 | 1 << 15, 2)))
# Hostile: the same id twice in flight.
seed("same_id", 8, 0, [[POP, 0, 0, 0], [POP, 0, 0, 0], [PUSH, 0, 0, 0]],
     image_with({0: (BUF, 16, 5, avail(True)), 1: (BUF, 16, 5, avail(True))}))
# Hostile: a chain over the whole ring.
seed("loop", 4, 0, [],
     image_with({s: (BUF, 0, 0, avail(True) | NEXT) for s in range(4)}))
# No operations: drain mode.
seed("drain", 16, 3, [],
     image_with({s: (BUF + s * 8, 8, s, avail(True) | (WRITE if s % 2 else 0)) for s in range(16)}))
# Hostile: slot 0 re-offered in the next lap while the chain that used it is still in flight.
seed("overcommit", 4, 0, [[POP, 0, 0, 0]] + poke16(DESC + 14, avail(False)) + [[POP, 0, 0, 0]],
     image_with({0: (BUF, 16, 0, avail(True) | NEXT), 1: (BUF, 16, 0, avail(True) | NEXT),
                 2: (BUF, 16, 0, avail(True)), 3: (BUF, 16, 1, avail(True) | NEXT)}))
# Concurrent guest: every descriptor is rewritten right after the device copied it.
seed("concurrent_chain", 8, 0, [[POP, 0, 0, 0], [PUSH, 0, 16, 0], [POP, 0, 0, 0]],
     image_with({0: (BUF, 16, 1, avail(True) | NEXT), 1: (BUF + 16, 32, 1, avail(True) | WRITE),
                 2: (BUF, 8, 0, avail(True))}), concurrent=True)
seed("concurrent_indirect", 4, 2, [[POP, 0, 0, 0], [PUSH, 0, 64, 0]],
     image_with({0: (TABLE, 48, 3, avail(True) | INDIRECT)},
                table=[(BUF, 16, 0), (BUF + 16, 16, 0), (BUF + 32, 64, WRITE)]), concurrent=True)
# A request held across a reset: the re-enabled ring offers the same id again; the old request's push must fail.
seed("reset_with_held", 8, 1, [[POP, 0, 0, 0], [RESET, 1, 0, 0], [POP, 0, 0, 0], [PUSH, 0, 16, 0], [PUSH, 0, 8, 0],
                               [NOTIFY, 0, 0, 0]],
     image_with({0: (BUF, 16, 0, avail(True) | WRITE)}))
