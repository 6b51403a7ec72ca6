#ifndef KESTREL_DEVICES_I8042_TRANSLATE_H
#define KESTREL_DEVICES_I8042_TRANSLATE_H

/*
 * The i8042's scancode translation (CTR bit 6): what a PC controller does to
 * every byte from the keyboard port when translation is on. A set-2 byte
 * becomes its set-1 counterpart through the controller's fixed table, and the
 * set-2 break prefix 0xF0 is swallowed and sets bit 7 of the byte after it,
 * which is how set 1 marks a release. Replies (0xFA, 0xAA, 0xEE, 0xFE, 0xAB)
 * pass unchanged; GET ID's 0x83 becomes 0x41, as Linux's atkbd expects of a
 * translated keyboard.
 */

#include <stdbool.h>
#include <stdint.h>

struct i8042_translator {
    bool release_pending; /* 0xF0 seen: the next byte is a release */
};

/* Returns true with `*out` set when `byte` yields a byte for the host; false for a swallowed 0xF0. */
bool i8042_translate(struct i8042_translator *translator, uint8_t byte, uint8_t *out);

#endif
