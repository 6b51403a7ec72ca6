#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/i8042.h"
#include "unit/recording_platform.h"
#include "unit/port_io.h"

enum {
    DATA = LAYOUT_I8042_DATA_PORT,
    COMMAND = LAYOUT_I8042_COMMAND_PORT,
    STATUS_OBF = 0x01,
    STATUS_SYS = 0x04,
    STATUS_CMD = 0x08,
    STATUS_AUX = 0x20,
    STATUS_TIMEOUT = 0x40,
};

struct fixture {
    struct recording_platform recorder;
    struct io_bus pio;
    struct i8042 controller;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    recording_platform_init(&f->recorder);
    io_bus_init(&f->pio, "pio");
    struct error error = {0};
    assert_int_equal(i8042_create(&f->controller, &f->recorder.platform, &error), 0);
    assert_int_equal(i8042_attach(&f->controller, &f->pio, &error), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    i8042_destroy(&f->controller);
    recording_platform_destroy(&f->recorder);
    free(f);
    return 0;
}

/* What Linux's i8042 driver does at probe: flush, self test, CTR read/write. */
static void test_linux_probe(void **state)
{
    struct fixture *f = *state;
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
    struct fixture *f = *state;
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

static void test_absent_keyboard_times_out(void **state)
{
    struct fixture *f = *state;
    port_out8(&f->pio, DATA, 0xff); /* keyboard reset */
    uint8_t status = port_in8(&f->pio, COMMAND);
    assert_int_equal(status & (STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX), STATUS_OBF | STATUS_TIMEOUT);
    assert_true(recording_irq(&f->recorder, 1)); /* KBDINT is on after power-up */
    assert_int_equal(port_in8(&f->pio, DATA), 0xfe);
    assert_false(recording_irq(&f->recorder, 1));
    /* Nothing queued: the data port repeats the last byte and does not block. */
    assert_int_equal(port_in8(&f->pio, DATA), 0xfe);
    assert_int_equal(port_in8(&f->pio, COMMAND) & STATUS_OBF, 0);

    port_out8(&f->pio, COMMAND, 0xd4);
    port_out8(&f->pio, DATA, 0xf2);
    status = port_in8(&f->pio, COMMAND);
    assert_int_equal(status & (STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX), STATUS_OBF | STATUS_TIMEOUT | STATUS_AUX);
    assert_false(recording_irq(&f->recorder, 12)); /* AUX interrupt is off */
    assert_int_equal(port_in8(&f->pio, DATA), 0xfe);
}

static void test_reset_requests_stop(void **state)
{
    struct fixture *f = *state;
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
    struct fixture *f = *state;
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
        cmocka_unit_test_setup_teardown(test_absent_keyboard_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_requests_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
