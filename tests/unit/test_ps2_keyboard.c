/* The PS/2 keyboard's command protocol, as Linux's atkbd speaks it, and its key sequences in sets 1-3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "devices/ps2_keyboard.h"

static const enum ps2_key ctrl_alt_del[] = {PS2_KEY_LEFT_CTRL, PS2_KEY_LEFT_ALT, PS2_KEY_DELETE};

/* Sends `command` and checks that exactly `expected` comes back. */
static void expect_reply(struct ps2_keyboard *keyboard, uint8_t command, const uint8_t *expected, unsigned count)
{
    ps2_keyboard_write(keyboard, command);
    for (unsigned i = 0; i < count; i++) {
        if (!ps2_keyboard_has_output(keyboard))
            fail_msg("command 0x%02x: %u bytes of reply, expected %u", command, i, count);
        uint8_t byte = ps2_keyboard_take(keyboard);
        if (byte != expected[i])
            fail_msg("command 0x%02x: reply byte %u is 0x%02x, expected 0x%02x", command, i, byte, expected[i]);
    }
    if (ps2_keyboard_has_output(keyboard))
        fail_msg("command 0x%02x: more than %u bytes of reply", command, count);
}

#define EXPECT(keyboard, command, ...)                                                                       \
    do {                                                                                                     \
        const uint8_t expected_[] = {__VA_ARGS__};                                                           \
        expect_reply(keyboard, command, expected_, sizeof(expected_));                                       \
    } while (0)

static void expect_sequence(struct ps2_keyboard *keyboard, const uint8_t *expected, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        assert_true(ps2_keyboard_has_output(keyboard));
        uint8_t byte = ps2_keyboard_take(keyboard);
        if (byte != expected[i])
            fail_msg("scancode byte %u is 0x%02x, expected 0x%02x", i, byte, expected[i]);
    }
    assert_false(ps2_keyboard_has_output(keyboard));
}

static void test_power_on_is_quiet_and_not_scanning(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    assert_false(ps2_keyboard_has_output(&keyboard));
    assert_int_equal(keyboard.scancode_set, 2);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_NOT_SCANNING);
    assert_false(ps2_keyboard_has_output(&keyboard));
    assert_int_equal(keyboard.dropped_bytes, 0);
}

/* atkbd's probe and set-up on a translated port: GET ID, deactivate, LEDs off, typematic, enable. */
static void test_atkbd_setup(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xf2, 0xfa, 0xab, 0x83);
    EXPECT(&keyboard, 0xf5, 0xfa);
    assert_false(keyboard.scanning);
    EXPECT(&keyboard, 0xed, 0xfa);
    EXPECT(&keyboard, 0x00, 0xfa);
    EXPECT(&keyboard, 0xf3, 0xfa);
    EXPECT(&keyboard, 0x00, 0xfa);
    assert_int_equal(keyboard.typematic, 0);
    EXPECT(&keyboard, 0xf4, 0xfa);
    assert_true(keyboard.scanning);
    /* Later LED updates, as the input layer sends them. */
    EXPECT(&keyboard, 0xed, 0xfa);
    EXPECT(&keyboard, 0x02, 0xfa);
    assert_int_equal(keyboard.leds, 0x02);
    EXPECT(&keyboard, 0xf6, 0xfa); /* atkbd_cleanup at reboot: defaults, still scanning */
    assert_true(keyboard.scanning);
    assert_int_equal(keyboard.typematic, 0x2b);
}

static void test_reset_echo_resend_and_unknown(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xff, 0xfa, 0xaa);
    assert_true(keyboard.scanning); /* a keyboard scans after its self test */
    EXPECT(&keyboard, 0xee, 0xee);
    EXPECT(&keyboard, 0xfe, 0xee); /* resend: the last byte sent */
    EXPECT(&keyboard, 0xef, 0xfe);
    EXPECT(&keyboard, 0xf1, 0xfe);
    EXPECT(&keyboard, 0x00, 0xfe); /* an argument with no command */
    EXPECT(&keyboard, 0x55, 0xfe);
    /* Set-3 commands: all keys, and a key list that runs until the next command. */
    EXPECT(&keyboard, 0xf8, 0xfa);
    EXPECT(&keyboard, 0xfb, 0xfa);
    EXPECT(&keyboard, 0x11, 0xfa);
    EXPECT(&keyboard, 0x19, 0xfa);
    EXPECT(&keyboard, 0xf4, 0xfa);
    EXPECT(&keyboard, 0x11, 0xfe);
}

static void test_arguments(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xf3, 0xfa);
    EXPECT(&keyboard, 0x80, 0xfe); /* bit 7 must be 0: refused, the command still waits */
    EXPECT(&keyboard, 0x20, 0xfa);
    assert_int_equal(keyboard.typematic, 0x20);
    EXPECT(&keyboard, 0xf0, 0xfa);
    EXPECT(&keyboard, 0x00, 0xfa, 0x02);
    EXPECT(&keyboard, 0xf0, 0xfa);
    EXPECT(&keyboard, 0x05, 0xfe);
    EXPECT(&keyboard, 0x03, 0xfa);
    EXPECT(&keyboard, 0xf0, 0xfa);
    EXPECT(&keyboard, 0x00, 0xfa, 0x03);
    /* A command in place of an argument runs as a command. */
    EXPECT(&keyboard, 0xed, 0xfa);
    EXPECT(&keyboard, 0xf2, 0xfa, 0xab, 0x83);
    assert_int_equal(keyboard.leds, 0);
    EXPECT(&keyboard, 0x07, 0xfe);
    EXPECT(&keyboard, 0xff, 0xfa, 0xaa);
    assert_int_equal(keyboard.scancode_set, 2);
}

static void test_ctrl_alt_del_in_each_set(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xf4, 0xfa);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_PRESSED);
    const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
    expect_sequence(&keyboard, set2, sizeof(set2));

    EXPECT(&keyboard, 0xf0, 0xfa);
    EXPECT(&keyboard, 0x01, 0xfa);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_PRESSED);
    const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    expect_sequence(&keyboard, set1, sizeof(set1));

    EXPECT(&keyboard, 0xf0, 0xfa);
    EXPECT(&keyboard, 0x03, 0xfa);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_PRESSED);
    const uint8_t set3[] = {0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11};
    expect_sequence(&keyboard, set3, sizeof(set3));
    assert_int_equal(keyboard.dropped_bytes, 0);
}

static void test_disable_refuses_keys(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xf4, 0xfa);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_PRESSED);
    ps2_keyboard_write(&keyboard, 0xf5); /* clears what was queued, then ACKs */
    const uint8_t ack[] = {0xfa};
    expect_sequence(&keyboard, ack, 1);
    assert_int_equal(ps2_keyboard_press(&keyboard, ctrl_alt_del, 3), PS2_KEYBOARD_NOT_SCANNING);
    assert_false(ps2_keyboard_has_output(&keyboard));
}

/* A guest that never reads: the queue stops at its size, whole sequences are refused and counted. */
static void test_queue_is_bounded(void **state)
{
    (void)state;
    struct ps2_keyboard keyboard;
    ps2_keyboard_init(&keyboard);
    EXPECT(&keyboard, 0xf4, 0xfa);
    unsigned pressed = 0;
    for (int i = 0; i < 100; i++) {
        if (ps2_keyboard_press(&keyboard, ctrl_alt_del, 3) == PS2_KEYBOARD_PRESSED)
            pressed++;
        assert_true(keyboard.queue_count <= PS2_KEYBOARD_QUEUE_SIZE);
    }
    assert_int_equal(pressed, PS2_KEYBOARD_QUEUE_SIZE / 11);
    assert_int_equal(keyboard.queue_count, pressed * 11);
    assert_int_equal(keyboard.dropped_bytes, (100 - pressed) * 11);
    /* Replies to a full queue are lost and counted too. */
    while (keyboard.queue_count < PS2_KEYBOARD_QUEUE_SIZE)
        ps2_keyboard_write(&keyboard, 0xee);
    uint64_t dropped = keyboard.dropped_bytes;
    ps2_keyboard_write(&keyboard, 0xf2);
    assert_int_equal(keyboard.dropped_bytes, dropped + 3);
    /* Every byte the guest can write, in every state: bounded, no crash. */
    for (unsigned first = 0; first < 256; first++) {
        for (unsigned second = 0; second < 256; second += 17) {
            ps2_keyboard_write(&keyboard, (uint8_t)first);
            ps2_keyboard_write(&keyboard, (uint8_t)second);
            assert_true(keyboard.queue_count <= PS2_KEYBOARD_QUEUE_SIZE);
            assert_true(keyboard.scancode_set >= 1 && keyboard.scancode_set <= 3);
            if (second % 3 == 0)
                while (ps2_keyboard_has_output(&keyboard))
                    ps2_keyboard_take(&keyboard);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_on_is_quiet_and_not_scanning),
        cmocka_unit_test(test_atkbd_setup),
        cmocka_unit_test(test_reset_echo_resend_and_unknown),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_ctrl_alt_del_in_each_set),
        cmocka_unit_test(test_disable_refuses_keys),
        cmocka_unit_test(test_queue_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
