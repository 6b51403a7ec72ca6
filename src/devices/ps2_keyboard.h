#ifndef KESTREL_DEVICES_PS2_KEYBOARD_H
#define KESTREL_DEVICES_PS2_KEYBOARD_H

/*
 * A PS/2 (AT) keyboard: the device behind the i8042's first port. It answers
 * the command protocol Linux's atkbd driver speaks (ACK 0xFA, reset with its
 * 0xAA self-test byte, GET ID 0xAB 0x83, LEDs, typematic, enable/disable,
 * scancode sets 1-3, echo, resend; anything else 0xFE) and turns key presses
 * into scancodes of the selected set. The bytes it sends wait in its own
 * bounded queue until the controller takes them (i8042.c, which also
 * translates set 2 to set 1 when its CTR says so).
 *
 * Not thread-safe: the controller owns it and calls it under its lock.
 *
 * It powers up with scanning off (as firmware that ran 0xF5 leaves it), so
 * keys are only accepted once the guest's driver has enabled it (0xF4, or a
 * reset): a guest with no keyboard driver is told apart from one that reads.
 */

#include <stdbool.h>
#include <stdint.h>

enum {
    PS2_KEYBOARD_QUEUE_SIZE = 32,
    PS2_KEYBOARD_ACK = 0xfa,
    PS2_KEYBOARD_RESEND = 0xfe,
    PS2_KEYBOARD_SELF_TEST_PASSED = 0xaa,
    PS2_KEYBOARD_ECHO = 0xee,
    PS2_KEYBOARD_BREAK_PREFIX = 0xf0, /* sets 2 and 3 */
    PS2_KEYBOARD_EXTENDED_PREFIX = 0xe0,
};

/* The keys kestrel can press; scancodes in ps2_keyboard.c. */
enum ps2_key {
    PS2_KEY_LEFT_CTRL,
    PS2_KEY_LEFT_ALT,
    PS2_KEY_DELETE,
    PS2_KEY_COUNT,
};

enum ps2_keyboard_press_result {
    PS2_KEYBOARD_PRESSED,
    PS2_KEYBOARD_NOT_SCANNING, /* the guest never enabled it, or disabled it (0xF5) */
    PS2_KEYBOARD_QUEUE_FULL,   /* the guest is not reading: the whole sequence was dropped */
};

struct ps2_keyboard {
    uint8_t queue[PS2_KEYBOARD_QUEUE_SIZE]; /* bytes for the controller */
    unsigned queue_head;
    unsigned queue_count;
    uint8_t pending_command; /* a command waiting for its argument byte, 0 if none */
    bool key_list;           /* after a set-3 key-type command: key codes until the next command */
    bool scanning;
    uint8_t scancode_set;    /* 1, 2 or 3 */
    uint8_t leds;            /* bit 0 Scroll Lock, 1 Num Lock, 2 Caps Lock */
    uint8_t typematic;       /* rate and delay, as the guest set them */
    uint8_t last_sent;       /* what 0xFE resends */
    uint64_t dropped_bytes;  /* lost to a full queue: replies and key presses */
};

/* Power-on state: set 2, scanning off, nothing queued. */
void ps2_keyboard_init(struct ps2_keyboard *keyboard);

/* A byte from the host (the guest's write through the controller). */
void ps2_keyboard_write(struct ps2_keyboard *keyboard, uint8_t byte);

bool ps2_keyboard_has_output(const struct ps2_keyboard *keyboard);
/* The next byte for the controller; call only when ps2_keyboard_has_output. */
uint8_t ps2_keyboard_take(struct ps2_keyboard *keyboard);

/*
 * Presses `keys` in order and releases them in reverse, as scancodes of the
 * current set. All or nothing: if the queue cannot hold the whole sequence,
 * none of it is queued and its bytes count as dropped.
 */
enum ps2_keyboard_press_result ps2_keyboard_press(struct ps2_keyboard *keyboard, const enum ps2_key *keys,
                                                  unsigned count);

#endif
