#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/acpi_pm.h"
#include "unit/recording_platform.h"
#include "unit/port_io.h"

enum {
    EVENT = LAYOUT_ACPI_PM1A_EVENT_PORT,
    CONTROL = LAYOUT_ACPI_PM1A_CONTROL_PORT,
    SLP_EN = 1 << 13,
};

struct fixture {
    struct recording_platform recorder;
    struct io_bus pio;
    struct acpi_pm pm;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    recording_platform_init(&f->recorder);
    io_bus_init(&f->pio, "pio");
    struct error error = {0};
    assert_int_equal(acpi_pm_create(&f->pm, &f->recorder.platform, &error), 0);
    assert_int_equal(acpi_pm_attach(&f->pm, &f->pio, &error), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    acpi_pm_destroy(&f->pm);
    recording_platform_destroy(&f->recorder);
    free(f);
    return 0;
}

static uint16_t sleep_value(unsigned type)
{
    return (uint16_t)(SLP_EN | type << 10);
}

static void test_s5_powers_off(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(port_in16(&f->pio, CONTROL) & 1, 1); /* SCI_EN: ACPI mode */
    port_out16(&f->pio, CONTROL, sleep_value(LAYOUT_ACPI_S5_SLEEP_TYPE) | 1);
    assert_int_equal(recording_stop_count(&f->recorder), 1);
    assert_int_equal(f->recorder.stops[0], PLATFORM_STOP_POWER_OFF);
    /* SLP_EN is write-only. */
    assert_int_equal(port_in16(&f->pio, CONTROL) & SLP_EN, 0);
}

static void test_other_sleep_types_do_not_stop(void **state)
{
    struct fixture *f = *state;
    for (unsigned type = 0; type < 8; type++) {
        if (type == LAYOUT_ACPI_S5_SLEEP_TYPE)
            continue;
        port_out16(&f->pio, CONTROL, sleep_value(type));
    }
    /* S5's type without SLP_EN only selects, it does not sleep. */
    port_out16(&f->pio, CONTROL, (uint16_t)(LAYOUT_ACPI_S5_SLEEP_TYPE << 10));
    assert_int_equal(recording_stop_count(&f->recorder), 0);
    assert_int_equal((port_in16(&f->pio, CONTROL) >> 10) & 7, LAYOUT_ACPI_S5_SLEEP_TYPE);
    /* ...and SLP_EN alone, in a byte write to the high half, completes it. */
    uint8_t high = (uint8_t)(SLP_EN >> 8) | (uint8_t)(LAYOUT_ACPI_S5_SLEEP_TYPE << 2);
    io_bus_write(&f->pio, CONTROL + 1, &high, 1);
    assert_int_equal(recording_stop_count(&f->recorder), 1);
    assert_int_equal(f->recorder.stops[0], PLATFORM_STOP_POWER_OFF);
}

static void test_sci_enable_is_sticky(void **state)
{
    struct fixture *f = *state;
    port_out16(&f->pio, CONTROL, 0);
    assert_int_equal(port_in16(&f->pio, CONTROL) & 1, 1);
    uint8_t low = 0;
    io_bus_write(&f->pio, CONTROL, &low, 1);
    io_bus_read(&f->pio, CONTROL, &low, 1);
    assert_int_equal(low & 1, 1);
}

static void test_event_block(void **state)
{
    struct fixture *f = *state;
    f->pm.status = 0x8101; /* as if WAK_STS, PWRBTN_STS and TMR_STS had been set */
    assert_int_equal(port_in16(&f->pio, EVENT), 0x8101);
    port_out16(&f->pio, EVENT, 0x0001); /* write 1 to clear */
    assert_int_equal(port_in16(&f->pio, EVENT), 0x8100);
    port_out16(&f->pio, EVENT, 0x0000);
    assert_int_equal(port_in16(&f->pio, EVENT), 0x8100);
    port_out16(&f->pio, EVENT + 2, 0x0120);
    assert_int_equal(port_in16(&f->pio, EVENT + 2), 0x0120);
    uint32_t both = 0;
    io_bus_read(&f->pio, EVENT, &both, 4);
    assert_int_equal(both, 0x01208100u);
    uint8_t byte = 0x81;
    io_bus_write(&f->pio, EVENT + 1, &byte, 1);
    assert_int_equal(port_in16(&f->pio, EVENT), 0x0000);
    /* An access past the 4-byte block goes nowhere. */
    io_bus_read(&f->pio, EVENT + 2, &both, 4);
    assert_int_equal(both, 0xffffffffu);
    assert_int_equal(recording_stop_count(&f->recorder), 0);
}

/* The API's Stop: the SCI follows PWRBTN_STS and PWRBTN_EN, and the guest's write-1-to-clear lowers it. */
static void test_power_button(void **state)
{
    struct fixture *f = *state;
    acpi_pm_press_power_button(&f->pm);
    assert_false(recording_irq(&f->recorder, LAYOUT_ACPI_SCI_IRQ)); /* not enabled yet */
    assert_int_equal(port_in16(&f->pio, EVENT) & ACPI_PM1_STATUS_PWRBTN, ACPI_PM1_STATUS_PWRBTN);
    port_out16(&f->pio, EVENT + 2, ACPI_PM1_STATUS_PWRBTN);
    assert_true(recording_irq(&f->recorder, LAYOUT_ACPI_SCI_IRQ));
    port_out16(&f->pio, EVENT, ACPI_PM1_STATUS_PWRBTN);
    assert_false(recording_irq(&f->recorder, LAYOUT_ACPI_SCI_IRQ));
    assert_int_equal(port_in16(&f->pio, EVENT) & ACPI_PM1_STATUS_PWRBTN, 0);
    acpi_pm_press_power_button(&f->pm);
    assert_true(recording_irq(&f->recorder, LAYOUT_ACPI_SCI_IRQ));
    assert_int_equal(recording_stop_count(&f->recorder), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_sleep_types_do_not_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sci_enable_is_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
