/* The i8042's set-2 to set-1 translation (CTR bit 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "devices/i8042_translate.h"

static uint8_t translate_one(uint8_t byte)
{
    struct i8042_translator translator = {0};
    uint8_t out = 0;
    assert_true(i8042_translate(&translator, byte, &out));
    return out;
}

/* Set-2 codes 0x01-0x7F map one to one onto set-1 codes 0x01-0x7F: a typo in the table breaks this. */
static void test_low_half_is_a_permutation(void **state)
{
    (void)state;
    bool seen[0x80] = {false};
    for (unsigned code = 0x01; code < 0x80; code++) {
        uint8_t out = translate_one((uint8_t)code);
        if (out == 0 || out >= 0x80 || seen[out])
            fail_msg("set-2 0x%02x translates to 0x%02x (zero, high, or a duplicate)", code, out);
        seen[out] = true;
    }
    assert_int_equal(translate_one(0x00), 0xff);
}

static void test_known_keys(void **state)
{
    (void)state;
    const struct {
        uint8_t set2, set1;
    } keys[] = {
        {0x76, 0x01}, /* Esc */ {0x16, 0x02}, /* 1 */    {0x1c, 0x1e}, /* A */    {0x14, 0x1d}, /* LCtrl */
        {0x11, 0x38}, /* LAlt */ {0x71, 0x53}, /* Delete/KP. */ {0x5a, 0x1c}, /* Enter */
        {0x29, 0x39}, /* Space */ {0x05, 0x3b}, /* F1 */ {0x07, 0x58}, /* F12 */ {0x83, 0x41}, /* F7 */
        {0x84, 0x54}, /* Alt-SysRq */ {0xe0, 0xe0}, {0xe1, 0xe1}, {0xfa, 0xfa}, {0xaa, 0xaa},
        {0xab, 0xab}, {0xee, 0xee}, {0xfe, 0xfe},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_int_equal(translate_one(keys[i].set2), keys[i].set1);
}

/* 0xF0 is swallowed and marks the next byte as a release (bit 7), once. */
static void test_break_prefix(void **state)
{
    (void)state;
    struct i8042_translator translator = {0};
    const uint8_t set2[] = {0xe0, 0xf0, 0x71, 0xf0, 0x11, 0x14};
    const uint8_t set1[] = {0xe0, 0xd3, 0xb8, 0x1d};
    size_t produced = 0;
    for (size_t i = 0; i < sizeof(set2); i++) {
        uint8_t out;
        if (i8042_translate(&translator, set2[i], &out)) {
            assert_true(produced < sizeof(set1));
            assert_int_equal(out, set1[produced]);
            produced++;
        }
    }
    assert_int_equal(produced, sizeof(set1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_half_is_a_permutation),
        cmocka_unit_test(test_known_keys),
        cmocka_unit_test(test_break_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
