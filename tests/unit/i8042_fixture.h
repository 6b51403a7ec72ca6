#ifndef KESTREL_TESTS_UNIT_I8042_FIXTURE_H
#define KESTREL_TESTS_UNIT_I8042_FIXTURE_H

/*
 * An i8042 on its own PIO bus with a recording platform, as the i8042 tests
 * drive it through the guest's port accesses. Include after <cmocka.h>.
 */

#include <stdlib.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/i8042.h"
#include "unit/port_io.h"
#include "unit/recording_platform.h"

struct i8042_fixture {
    struct recording_platform recorder;
    struct io_bus pio;
    struct i8042 controller;
};

static inline void i8042_fixture_init(struct i8042_fixture *fixture)
{
    recording_platform_init(&fixture->recorder);
    io_bus_init(&fixture->pio, "pio");
    struct error error = {0};
    assert_int_equal(i8042_create(&fixture->controller, &fixture->recorder.platform, &error), 0);
    assert_int_equal(i8042_attach(&fixture->controller, &fixture->pio, &error), 0);
}

static inline void i8042_fixture_destroy(struct i8042_fixture *fixture)
{
    i8042_destroy(&fixture->controller);
    recording_platform_destroy(&fixture->recorder);
}

/* What atkbd_activate sends last: 0xF4, and its ACK read back. */
static inline void i8042_fixture_enable_keyboard(struct i8042_fixture *fixture)
{
    port_out8(&fixture->pio, LAYOUT_I8042_DATA_PORT, 0xf4);
    assert_int_equal(port_in8(&fixture->pio, LAYOUT_I8042_DATA_PORT), 0xfa);
}

#endif
