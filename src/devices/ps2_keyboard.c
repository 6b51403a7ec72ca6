#include "devices/ps2_keyboard.h"

#include <string.h>

enum {
    /* Every byte from 0xED up is a command; below that, an argument (or a set-3 key code). */
    COMMAND_FIRST = 0xed,
    COMMAND_SET_LEDS = 0xed,
    COMMAND_ECHO = 0xee,
    COMMAND_SCANCODE_SET = 0xf0,
    COMMAND_GET_ID = 0xf2,
    COMMAND_SET_TYPEMATIC = 0xf3,
    COMMAND_ENABLE = 0xf4,
    COMMAND_DISABLE = 0xf5,   /* also restores the defaults */
    COMMAND_SET_DEFAULTS = 0xf6,
    COMMAND_SET3_ALL_FIRST = 0xf7, /* 0xF7-0xFA: every key typematic / make-break / make / all */
    COMMAND_SET3_ALL_LAST = 0xfa,
    COMMAND_SET3_KEYS_FIRST = 0xfb, /* 0xFB-0xFD: the same for the key codes that follow */
    COMMAND_SET3_KEYS_LAST = 0xfd,
    COMMAND_RESEND = 0xfe,
    COMMAND_RESET = 0xff,

    ID_FIRST = 0xab,
    ID_SECOND = 0x83, /* an MF2 keyboard; a translating controller turns it into 0x41 */
    DEFAULT_SCANCODE_SET = 2,
    DEFAULT_TYPEMATIC = 0x2b, /* 10.9 characters/s after 500 ms */
    RELEASE_BIT_SET1 = 0x80,
    SEQUENCE_MAX = PS2_KEYBOARD_QUEUE_SIZE,
};

/* Each key's make code in the three sets; `extended` keys carry 0xE0 first in sets 1 and 2. */
struct key_scancodes {
    uint8_t set1, set2, set3;
    bool extended;
};

static const struct key_scancodes key_scancodes[PS2_KEY_COUNT] = {
    [PS2_KEY_LEFT_CTRL] = {.set1 = 0x1d, .set2 = 0x14, .set3 = 0x11},
    [PS2_KEY_LEFT_ALT] = {.set1 = 0x38, .set2 = 0x11, .set3 = 0x19},
    [PS2_KEY_DELETE] = {.set1 = 0x53, .set2 = 0x71, .set3 = 0x64, .extended = true},
};

static void queue_push(struct ps2_keyboard *keyboard, uint8_t byte)
{
    if (keyboard->queue_count >= PS2_KEYBOARD_QUEUE_SIZE) {
        keyboard->dropped_bytes++;
        return;
    }
    keyboard->queue[(keyboard->queue_head + keyboard->queue_count) % PS2_KEYBOARD_QUEUE_SIZE] = byte;
    keyboard->queue_count++;
}

static void queue_clear(struct ps2_keyboard *keyboard)
{
    keyboard->queue_head = 0;
    keyboard->queue_count = 0;
}

static void restore_defaults(struct ps2_keyboard *keyboard)
{
    keyboard->typematic = DEFAULT_TYPEMATIC;
    keyboard->key_list = false;
    keyboard->pending_command = 0;
}

void ps2_keyboard_init(struct ps2_keyboard *keyboard)
{
    memset(keyboard, 0, sizeof(*keyboard));
    keyboard->scancode_set = DEFAULT_SCANCODE_SET;
    restore_defaults(keyboard);
}

bool ps2_keyboard_has_output(const struct ps2_keyboard *keyboard)
{
    return keyboard->queue_count != 0;
}

uint8_t ps2_keyboard_take(struct ps2_keyboard *keyboard)
{
    if (!keyboard->queue_count)
        return keyboard->last_sent;
    uint8_t byte = keyboard->queue[keyboard->queue_head];
    keyboard->queue_head = (keyboard->queue_head + 1) % PS2_KEYBOARD_QUEUE_SIZE;
    keyboard->queue_count--;
    keyboard->last_sent = byte;
    return byte;
}

/* The argument of a command that takes one; returns false when the byte is not a valid argument for it. */
static bool take_argument(struct ps2_keyboard *keyboard, uint8_t command, uint8_t argument)
{
    switch (command) {
    case COMMAND_SET_LEDS:
        keyboard->leds = argument & 0x07;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        return true;
    case COMMAND_SET_TYPEMATIC:
        if (argument & 0x80)
            return false;
        keyboard->typematic = argument;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        return true;
    case COMMAND_SCANCODE_SET:
        if (argument > 3)
            return false;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        if (argument == 0)
            queue_push(keyboard, keyboard->scancode_set);
        else
            keyboard->scancode_set = argument;
        return true;
    default:
        return false;
    }
}

static void run_command(struct ps2_keyboard *keyboard, uint8_t command)
{
    switch (command) {
    case COMMAND_SET_LEDS:
    case COMMAND_SET_TYPEMATIC:
    case COMMAND_SCANCODE_SET:
        keyboard->pending_command = command;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        break;
    case COMMAND_ECHO:
        queue_push(keyboard, PS2_KEYBOARD_ECHO);
        break;
    case COMMAND_GET_ID:
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        queue_push(keyboard, ID_FIRST);
        queue_push(keyboard, ID_SECOND);
        break;
    case COMMAND_ENABLE:
        queue_clear(keyboard);
        keyboard->scanning = true;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        break;
    case COMMAND_DISABLE:
        queue_clear(keyboard);
        restore_defaults(keyboard);
        keyboard->scanning = false;
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        break;
    case COMMAND_SET_DEFAULTS:
        queue_clear(keyboard);
        restore_defaults(keyboard);
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        break;
    case COMMAND_RESEND:
        queue_push(keyboard, keyboard->last_sent);
        break;
    case COMMAND_RESET:
        queue_clear(keyboard);
        restore_defaults(keyboard);
        keyboard->scancode_set = DEFAULT_SCANCODE_SET;
        keyboard->leds = 0;
        keyboard->scanning = true; /* a keyboard scans after its self test */
        queue_push(keyboard, PS2_KEYBOARD_ACK);
        queue_push(keyboard, PS2_KEYBOARD_SELF_TEST_PASSED);
        break;
    default:
        if (command >= COMMAND_SET3_ALL_FIRST && command <= COMMAND_SET3_ALL_LAST) {
            queue_push(keyboard, PS2_KEYBOARD_ACK);
        } else if (command >= COMMAND_SET3_KEYS_FIRST && command <= COMMAND_SET3_KEYS_LAST) {
            keyboard->key_list = true;
            queue_push(keyboard, PS2_KEYBOARD_ACK);
        } else {
            /* Not a command this keyboard knows (0xEF, 0xF1, or a stray argument). */
            queue_push(keyboard, PS2_KEYBOARD_RESEND);
        }
        break;
    }
}

void ps2_keyboard_write(struct ps2_keyboard *keyboard, uint8_t byte)
{
    if (byte < COMMAND_FIRST) {
        if (keyboard->pending_command) {
            /* An invalid argument is refused and the command keeps waiting for a good one. */
            if (take_argument(keyboard, keyboard->pending_command, byte))
                keyboard->pending_command = 0;
            else
                queue_push(keyboard, PS2_KEYBOARD_RESEND);
            return;
        }
        if (keyboard->key_list) {
            queue_push(keyboard, PS2_KEYBOARD_ACK);
            return;
        }
    }
    /* A command cancels an argument or key list still awaited, as on real keyboards. */
    keyboard->pending_command = 0;
    keyboard->key_list = false;
    run_command(keyboard, byte);
}

/* One key's make or break code in `set`; returns its length (at most 3). */
static unsigned encode_key(uint8_t set, enum ps2_key key, bool release, uint8_t *out)
{
    const struct key_scancodes *codes = &key_scancodes[key];
    unsigned length = 0;
    if (set == 3) {
        if (release)
            out[length++] = PS2_KEYBOARD_BREAK_PREFIX;
        out[length++] = codes->set3;
        return length;
    }
    if (codes->extended)
        out[length++] = PS2_KEYBOARD_EXTENDED_PREFIX;
    if (set == 1) {
        out[length++] = (uint8_t)(codes->set1 | (release ? RELEASE_BIT_SET1 : 0));
        return length;
    }
    if (release)
        out[length++] = PS2_KEYBOARD_BREAK_PREFIX;
    out[length++] = codes->set2;
    return length;
}

enum ps2_keyboard_press_result ps2_keyboard_press(struct ps2_keyboard *keyboard, const enum ps2_key *keys,
                                                  unsigned count)
{
    if (!keyboard->scanning)
        return PS2_KEYBOARD_NOT_SCANNING;
    uint8_t sequence[SEQUENCE_MAX + 3];
    unsigned length = 0;
    bool fits = true;
    for (unsigned step = 0; step < 2 * count && fits; step++) {
        bool release = step >= count;
        enum ps2_key key = keys[release ? 2 * count - 1 - step : step];
        if ((unsigned)key >= PS2_KEY_COUNT)
            continue;
        length += encode_key(keyboard->scancode_set, key, release, sequence + length);
        fits = length <= SEQUENCE_MAX;
    }
    if (!fits || length > PS2_KEYBOARD_QUEUE_SIZE - keyboard->queue_count) {
        /* Half a sequence would leave modifiers held down in the guest: drop all of it. */
        keyboard->dropped_bytes += length;
        return PS2_KEYBOARD_QUEUE_FULL;
    }
    for (unsigned i = 0; i < length; i++)
        queue_push(keyboard, sequence[i]);
    return PS2_KEYBOARD_PRESSED;
}
