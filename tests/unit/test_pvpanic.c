#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/pvpanic.h"
#include "unit/recording_platform.h"

static void test_pvpanic_events(void **state)
{
    (void)state;
    struct recording_platform recorder;
    recording_platform_init(&recorder);
    struct io_bus pio;
    io_bus_init(&pio, "pio");
    struct pvpanic pvpanic;
    struct error error = {0};
    assert_int_equal(pvpanic_create(&pvpanic, &recorder.platform, &error), 0);
    assert_int_equal(pvpanic_attach(&pvpanic, &pio, &error), 0);

    uint8_t value = 0;
    io_bus_read(&pio, LAYOUT_PVPANIC_PORT, &value, 1);
    assert_int_equal(value, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);

    value = 0;
    io_bus_write(&pio, LAYOUT_PVPANIC_PORT, &value, 1);
    value = PVPANIC_CRASH_LOADED; /* logged only */
    io_bus_write(&pio, LAYOUT_PVPANIC_PORT, &value, 1);
    assert_int_equal(recording_stop_count(&recorder), 0);

    value = PVPANIC_PANICKED;
    io_bus_write(&pio, LAYOUT_PVPANIC_PORT, &value, 1);
    assert_int_equal(recording_stop_count(&recorder), 1);
    assert_int_equal(recorder.stops[0], PLATFORM_STOP_PANIC);

    value = 0xff;
    io_bus_write(&pio, LAYOUT_PVPANIC_PORT, &value, 1);
    assert_int_equal(recording_stop_count(&recorder), 2);
    assert_int_equal(recorder.stops[1], PLATFORM_STOP_PANIC);

    /* The port is one byte wide: a 16-bit access does not reach it. */
    uint16_t wide = PVPANIC_PANICKED;
    io_bus_write(&pio, LAYOUT_PVPANIC_PORT, &wide, 2);
    assert_int_equal(recording_stop_count(&recorder), 2);

    pvpanic_destroy(&pvpanic);
    recording_platform_destroy(&recorder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pvpanic_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
