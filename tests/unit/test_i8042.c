#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/i8042_fixture.h"

enum {
    DATA = LAYOUT_I8042_DATA_PORT,
    COMMAND = LAYOUT_I8042_COMMAND_PORT,
    STATUS_OBF = 0x01,
    STATUS_SYS = 0x04,
    STATUS_CMD = 0x08,
    STATUS_AUX = 0x20,
    STATUS_TIMEOUT = 0x40,
    CTR_KEYBOARD_INTERRUPT = 0x01,
    CTR_KEYBOARD_DISABLE = 0x10,
    CTR_TRANSLATE = 0x40,
};

static int setup(void **state)
{
    struct i8042_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    i8042_fixture_init(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct i8042_fixture *f = *state;
    i8042_fixture_destroy(f);
    free(f);
    return 0;
}

/* What Linux's i8042 driver does at probe: flush, self test, CTR read/write. */
static void test_linux_probe(void **state)
{
    struct i8042_fixture *f = *state;
    uint8_t status = port_in8(&f->pio, COMMAND);
    assert_int_not_equal(status, 0xff);
    assert_int_equal(status & STATUS_OBF, 0);
    assert_true(status & STATUS_SYS);

    port_out8(&f->pio, COMMAND, 0xaa);
    status = port_in8(&f->pio, COMMAND);
    assert_true(status & STATUS_OBF);
    assert_true(status & STATUS_CMD);
    assert_int_equal(port_in8(&f->pio, DATA), 0x55);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);

    port_out8(&f->pio, COMMAND, 0x20);
    uint8_t ctr = port_in8(&f->pio, DATA);
    assert_int_equal(ctr & 0x04, 0x04); /* system flag */
    port_out8(&f->pio, COMMAND, 0x60);
    port_out8(&f->pio, DATA, 0x47);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_CMD, 0); /* last write was data */
    port_out8(&f->pio, COMMAND, 0x20);
    assert_int_equal(port_in8(&f->pio, DATA), 0x47);

    port_out8(&f->pio, COMMAND, 0xab);
    assert_int_equal(port_in8(&f->pio, DATA), 0x00);
    port_out8(&f->pio, COMMAND, 0xa9);
    assert_int_equal(port_in8(&f->pio, DATA), 0x00);

    /* AUX and keyboard enable/disable are visible in the CTR. */
    port_out8(&f->pio, COMMAND, 0xa7);
    port_out8(&f->pio, COMMAND, 0x20);
    assert_int_equal(port_in8(&f->pio, DATA) & 0x20, 0x20);
    port_out8(&f->pio, COMMAND, 0xa8);
    port_out8(&f->pio, COMMAND, 0x20);
    assert_int_equal(port_in8(&f->pio, DATA) & 0x20, 0);
    port_out8(&f->pio, COMMAND, 0xad);
    port_out8(&f->pio, COMMAND, 0x20);
    assert_int_equal(port_in8(&f->pio, DATA) & 0x10, 0x10);
    port_out8(&f->pio, COMMAND, 0xae);
    port_out8(&f->pio, COMMAND, 0x20);
    assert_int_equal(port_in8(&f->pio, DATA) & 0x10, 0);
    assert_int_equal(recording_stop_count(&f->recorder), 0);
}

static void test_aux_loop_raises_irq12(void **state)
{
    struct i8042_fixture *f = *state;
    port_out8(&f->pio, COMMAND, 0x60);
    port_out8(&f->pio, DATA, 0x47 | 0x02); /* enable the AUX interrupt */
    port_out8(&f->pio, COMMAND, 0xd3);
    port_out8(&f->pio, DATA, 0x5a);
    uint8_t status = port_in8(&f->pio, COMMAND);
    assert_int_equal(status & (STATUS_OBF | STATUS_AUX), STATUS_OBF | STATUS_AUX);
    assert_true(recording_irq(&f->recorder, 12));
    assert_false(recording_irq(&f->recorder, 1));
    assert_int_equal(port_in8(&f->pio, DATA), 0x5a);
    assert_false(recording_irq(&f->recorder, 12));
    assert_int_equal(f->recorder.bad_irq_calls, 0);
}

static void test_keyboard_answers_and_mouse_times_out(void **state)
{
    struct i8042_fixture *f = *state;
    port_out8(&f->pio, DATA, 0xff); /* keyboard reset */
    uint8_t status = port_in8(&f->pio, COMMAND);
    assert_int_equal(status & (STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX), STATUS_OBF);
    assert_true(recording_irq(&f->recorder, 1)); /* KBDINT is on after power-up */
    assert_int_equal(port_in8(&f->pio, DATA), 0xfa);
    assert_true(recording_irq(&f->recorder, 1)); /* the self-test byte follows, with its own edge */
    assert_int_equal(f->recorder.rising_edges[1], 2);
    assert_int_equal(port_in8(&f->pio, DATA), 0xaa);
    assert_false(recording_irq(&f->recorder, 1));
    /* Nothing queued: the data port repeats the last byte and does not block. */
    assert_int_equal(port_in8(&f->pio, DATA), 0xaa);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);

    port_out8(&f->pio, COMMAND, 0xd4);
    port_out8(&f->pio, DATA, 0xf2);
    status = port_in8(&f->pio, COMMAND);
    assert_int_equal(status & (STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX), STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX);
    assert_false(recording_irq(&f->recorder, 12)); /* AUX interrupt is off */
    assert_int_equal(port_in8(&f->pio, DATA), 0xfe);
}

/* What Linux's i8042_controller_init does to the CTR, then i8042_enable_kbd_port. */
static void linux_enable_keyboard_port(struct i8042_fixture *f, bool translate)
{
    port_out8(&f->pio, COMMAND, 0x20);
    uint8_t ctr = port_in8(&f->pio, DATA);
    assert_true(ctr & CTR_TRANSLATE); /* as firmware leaves it */
    ctr = (uint8_t)((ctr | CTR_KEYBOARD_DISABLE) & ~CTR_KEYBOARD_INTERRUPT);
    if (!translate)
        ctr &= (uint8_t)~CTR_TRANSLATE;
    port_out8(&f->pio, COMMAND, 0x60);
    port_out8(&f->pio, DATA, ctr);
    ctr = (uint8_t)((ctr & ~CTR_KEYBOARD_DISABLE) | CTR_KEYBOARD_INTERRUPT);
    port_out8(&f->pio, COMMAND, 0x60);
    port_out8(&f->pio, DATA, ctr);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);
}

/* The guest's interrupt handler: each expected byte arrives with one IRQ 1 edge, no timeout, no AUX flag. */
static void expect_keyboard_bytes(struct i8042_fixture *f, const uint8_t *expected, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        unsigned edges = f->recorder.rising_edges[1];
        uint8_t status = port_in8(&f->pio, COMMAND);
        if ((status & (STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX)) != STATUS_OBF)
            fail_msg("byte %zu: status 0x%02x", i, status);
        assert_true(recording_irq(&f->recorder, 1));
        uint8_t byte = port_in8(&f->pio, DATA);
        if (byte != expected[i])
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, byte, expected[i]);
        if (i + 1 < count)
            assert_int_equal(f->recorder.rising_edges[1], edges + 1);
    }
}

static void expect_keyboard_quiet(struct i8042_fixture *f)
{
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);
    assert_false(recording_irq(&f->recorder, 1));
}

#define EXPECT_BYTES(f, ...)                                                                                 \
    do {                                                                                                     \
        const uint8_t expected_[] = {__VA_ARGS__};                                                           \
        expect_keyboard_bytes(f, expected_, sizeof(expected_));                                              \
        expect_keyboard_quiet(f);                                                                            \
    } while (0)

/* Linux's atkbd probe and set-up as it runs on a translating port (the default), then Ctrl-Alt-Del. */
static void test_atkbd_translated_then_ctrl_alt_del(void **state)
{
    struct i8042_fixture *f = *state;
    struct error error = {0};
    linux_enable_keyboard_port(f, true);
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), -1); /* no driver yet */
    assert_non_null(strstr(error.message, "no keyboard enabled"));
    port_out8(&f->pio, DATA, 0xf2);
    EXPECT_BYTES(f, 0xfa, 0xab, 0x41); /* GET ID: 0x83 translated, as atkbd expects */
    port_out8(&f->pio, DATA, 0xf5);
    EXPECT_BYTES(f, 0xfa);
    port_out8(&f->pio, DATA, 0xed);
    EXPECT_BYTES(f, 0xfa);
    port_out8(&f->pio, DATA, 0x00);
    EXPECT_BYTES(f, 0xfa);
    port_out8(&f->pio, DATA, 0xf3);
    EXPECT_BYTES(f, 0xfa);
    port_out8(&f->pio, DATA, 0x00);
    EXPECT_BYTES(f, 0xfa);
    i8042_fixture_enable_keyboard(f);

    unsigned edges = f->recorder.rising_edges[1];
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), 0);
    assert_int_equal(f->recorder.rising_edges[1], edges + 1);
    /* Set 1: Ctrl, Alt, E0 Delete pressed, then released in reverse. */
    EXPECT_BYTES(f, 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);
    assert_int_equal(i8042_keyboard_dropped_bytes(&f->controller), 0);
    assert_int_equal(recording_stop_count(&f->recorder), 0);
}

static void test_untranslated_port_gets_set_2(void **state)
{
    struct i8042_fixture *f = *state;
    struct error error = {0};
    linux_enable_keyboard_port(f, false);
    port_out8(&f->pio, DATA, 0xf2);
    EXPECT_BYTES(f, 0xfa, 0xab, 0x83);
    i8042_fixture_enable_keyboard(f);
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), 0);
    EXPECT_BYTES(f, 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14);
}

/* A disabled port holds the keyboard's bytes back; keys are refused while it is disabled or after 0xF5. */
static void test_disabled_keyboard_refuses_keys(void **state)
{
    struct i8042_fixture *f = *state;
    struct error error = {0};
    linux_enable_keyboard_port(f, true);
    i8042_fixture_enable_keyboard(f);
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), 0);
    port_out8(&f->pio, COMMAND, 0xad); /* disable the port: the first byte is already in the output buffer */
    assert_int_equal(port_in8(&f->pio, DATA), 0x1d);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);
    assert_false(recording_irq(&f->recorder, 1));
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), -1);
    assert_non_null(strstr(error.message, "disabled its keyboard port"));
    port_out8(&f->pio, COMMAND, 0xae); /* enable: the rest follows */
    EXPECT_BYTES(f, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d);

    port_out8(&f->pio, DATA, 0xf5);
    EXPECT_BYTES(f, 0xfa);
    assert_int_equal(i8042_send_ctrl_alt_del(&f->controller, &error), -1);
    assert_non_null(strstr(error.message, "no keyboard enabled"));
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);
    assert_int_equal(i8042_keyboard_dropped_bytes(&f->controller), 0);
}

/* A guest that never reads: the controller holds one byte, the keyboard its bounded queue; the rest is refused. */
static void test_unread_keys_are_bounded(void **state)
{
    struct i8042_fixture *f = *state;
    struct error error = {0};
    linux_enable_keyboard_port(f, true);
    i8042_fixture_enable_keyboard(f);
    unsigned accepted = 0;
    for (int i = 0; i < 50; i++) {
        if (i8042_send_ctrl_alt_del(&f->controller, &error) == 0)
            accepted++;
        assert_true(f->controller.queue_count <= 1);
        assert_true(f->controller.keyboard.queue_count <= PS2_KEYBOARD_QUEUE_SIZE);
    }
    assert_true(accepted >= 1 && accepted < 50);
    assert_non_null(strstr(error.message, "not reading its keyboard"));
    assert_int_equal(i8042_keyboard_dropped_bytes(&f->controller), (50 - accepted) * 11);
    /* What was accepted arrives whole, one Ctrl-Alt-Del after another. */
    const uint8_t sequence[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    for (unsigned i = 0; i < accepted; i++)
        expect_keyboard_bytes(f, sequence, sizeof(sequence));
    expect_keyboard_quiet(f);
}

static void test_reset_requests_stop(void **state)
{
    struct i8042_fixture *f = *state;
    port_out8(&f->pio, COMMAND, 0xff); /* pulses nothing */
    port_out8(&f->pio, COMMAND, 0xd1);
    port_out8(&f->pio, DATA, 0x03); /* reset line stays high */
    assert_int_equal(recording_stop_count(&f->recorder), 0);
    port_out8(&f->pio, COMMAND, 0xd0);
    assert_int_equal(port_in8(&f->pio, DATA), 0x03);

    port_out8(&f->pio, COMMAND, 0xfe); /* what Linux's reboot=k does */
    assert_int_equal(recording_stop_count(&f->recorder), 1);
    assert_int_equal(f->recorder.stops[0], PLATFORM_STOP_RESET);

    port_out8(&f->pio, COMMAND, 0xd1);
    port_out8(&f->pio, DATA, 0x02); /* bit 0 clear: reset */
    assert_int_equal(recording_stop_count(&f->recorder), 2);
    assert_int_equal(f->recorder.stops[1], PLATFORM_STOP_RESET);
}

static void test_queue_is_bounded(void **state)
{
    struct i8042_fixture *f = *state;
    for (int i = 0; i < 100; i++)
        port_out8(&f->pio, COMMAND, 0xaa);
    assert_int_equal(f->controller.queue_count, I8042_QUEUE_SIZE);
    int reads = 0;
    while ((port_in8(&f->pio, COMMAND) & STATUS_OBF) && reads < 1000) {
        assert_int_equal(port_in8(&f->pio, DATA), 0x55);
        reads++;
    }
    assert_int_equal(reads, I8042_QUEUE_SIZE);
    /* Wider accesses straddle the one-port ranges and go nowhere. */
    uint16_t wide = 0;
    io_bus_read(&f->pio, DATA, &wide, 2);
    assert_int_equal(wide, 0xffff);
    /* Every command byte with every data byte: no crash, the queue stays bounded. */
    for (unsigned command = 0; command < 256; command++) {
        if (command >= 0xf0 && !(command & 1))
            continue; /* reset pulses, tested above */
        if (command == 0xd1)
            continue;
        port_out8(&f->pio, COMMAND, (uint8_t)command);
        port_out8(&f->pio, DATA, (uint8_t)(command * 7));
        port_in8(&f->pio, DATA);
        assert_true(f->controller.queue_count <= I8042_QUEUE_SIZE);
    }
    assert_int_equal(recording_stop_count(&f->recorder), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linux_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aux_loop_raises_irq12, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyboard_answers_and_mouse_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atkbd_translated_then_ctrl_alt_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untranslated_port_gets_set_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_keyboard_refuses_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_keys_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_requests_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
