#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_i8042_keyboard (run from the repository root).

Each seed is a sequence a real guest (Linux's i8042 and atkbd drivers) or
the host sends, in the fuzzer's record format: op 0 data write, 1 command
write, 2 data read, 3 status read, 4 SendCtrlAltDel.
"""
import os

OUT = 'tests/fuzz/corpus/fuzz_i8042_keyboard'


def data(byte):
    return bytes([0, byte])


def command(byte):
    return bytes([1, byte])


READ, STATUS, CTRL_ALT_DEL = bytes([2]), bytes([3]), bytes([4])


def keyboard(byte, replies):
    """A byte to the keyboard and the guest's interrupt handler reading each reply."""
    return data(byte) + (STATUS + READ) * replies


# i8042_controller_init: flush, self test, CTR read, CTR write (port disabled, no KBDINT), enable the port.
CONTROLLER_INIT = (STATUS + command(0xaa) + STATUS + READ + command(0x20) + READ +
                   command(0x60) + data(0x54) + command(0x60) + data(0x45))
# atkbd_probe, atkbd_reset_state, atkbd_activate.
ATKBD = (keyboard(0xf2, 3) + keyboard(0xf5, 1) + keyboard(0xed, 1) + keyboard(0x00, 1) +
         keyboard(0xf3, 1) + keyboard(0x00, 1) + keyboard(0xf4, 1))

SEEDS = {
    'linux_atkbd_ctrl_alt_del': CONTROLLER_INIT + ATKBD + CTRL_ALT_DEL + (STATUS + READ) * 8,
    'untranslated_set3': (command(0x60) + data(0x05) + ATKBD + keyboard(0xf0, 1) + keyboard(0x03, 1) +
                          keyboard(0xfb, 1) + keyboard(0x11, 1) + keyboard(0xf8, 1) + CTRL_ALT_DEL +
                          (STATUS + READ) * 9),
    'never_reads': ATKBD + CTRL_ALT_DEL * 6 + command(0xad) + CTRL_ALT_DEL + command(0xae) + READ * 12,
    'reset_echo_resend': keyboard(0xff, 2) + keyboard(0xee, 1) + keyboard(0xfe, 1) + keyboard(0xf1, 1) +
                         keyboard(0xf0, 1) + keyboard(0x00, 2) + command(0xd2) + data(0x1c) + READ +
                         command(0xd4) + data(0xf2) + READ,
}

os.makedirs(OUT, exist_ok=True)
for name, seed in SEEDS.items():
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(seed)
