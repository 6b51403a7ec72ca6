/* KESTREL_TSAN_TEST: the timer thread and the "vCPU" share the RTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/rtc.h"
#include "unit/recording_platform.h"

enum { INDEX = LAYOUT_RTC_PORT, DATA = LAYOUT_RTC_PORT + 1 };

static struct timespec fake_now;

static void fake_clock(struct timespec *now)
{
    *now = fake_now;
}

struct fixture {
    struct io_bus pio;
    struct rtc rtc;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    io_bus_init(&f->pio, "pio");
    struct error error = {0};
    assert_int_equal(rtc_create(&f->rtc, &error), 0);
    assert_int_equal(rtc_attach(&f->rtc, &f->pio, &error), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rtc_destroy(&f->rtc);
    free(f);
    return 0;
}

static uint8_t cmos_read(struct fixture *f, uint8_t index)
{
    uint8_t value = 0;
    io_bus_write(&f->pio, INDEX, &index, 1);
    io_bus_read(&f->pio, DATA, &value, 1);
    return value;
}

static void cmos_write(struct fixture *f, uint8_t index, uint8_t value)
{
    io_bus_write(&f->pio, INDEX, &index, 1);
    io_bus_write(&f->pio, DATA, &value, 1);
}

static void use_fake_time(struct fixture *f, int year, int month, int day, int hour, int minute, int second)
{
    struct tm tm = {
        .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
        .tm_hour = hour, .tm_min = minute, .tm_sec = second,
    };
    fake_now.tv_sec = timegm(&tm);
    fake_now.tv_nsec = 500000000;
    f->rtc.clock_now = fake_clock;
}

static void test_bcd_24_hour_default(void **state)
{
    struct fixture *f = *state;
    use_fake_time(f, 2026, 11, 25, 13, 5, 9); /* a Wednesday */
    assert_int_equal(cmos_read(f, RTC_REGISTER_B) & (RTC_B_BINARY | RTC_B_24_HOUR), RTC_B_24_HOUR);
    assert_int_equal(cmos_read(f, RTC_REGISTER_SECONDS), 0x09);
    assert_int_equal(cmos_read(f, RTC_REGISTER_MINUTES), 0x05);
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 0x13);
    assert_int_equal(cmos_read(f, RTC_REGISTER_WEEKDAY), 4);
    assert_int_equal(cmos_read(f, RTC_REGISTER_DAY), 0x25);
    assert_int_equal(cmos_read(f, RTC_REGISTER_MONTH), 0x11);
    assert_int_equal(cmos_read(f, RTC_REGISTER_YEAR), 0x26);
    assert_int_equal(cmos_read(f, RTC_REGISTER_CENTURY), 0x20);
    assert_int_equal(cmos_read(f, RTC_REGISTER_D), RTC_D_VALID);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), 0);
}

static void test_binary_and_12_hour(void **state)
{
    struct fixture *f = *state;
    use_fake_time(f, 1999, 12, 31, 23, 59, 58);
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_BINARY);
    assert_int_equal(cmos_read(f, RTC_REGISTER_SECONDS), 58);
    assert_int_equal(cmos_read(f, RTC_REGISTER_MINUTES), 59);
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 23);
    assert_int_equal(cmos_read(f, RTC_REGISTER_DAY), 31);
    assert_int_equal(cmos_read(f, RTC_REGISTER_MONTH), 12);
    assert_int_equal(cmos_read(f, RTC_REGISTER_YEAR), 99);
    assert_int_equal(cmos_read(f, RTC_REGISTER_CENTURY), 19);

    cmos_write(f, RTC_REGISTER_B, RTC_B_BINARY); /* 12-hour binary: 11 PM */
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 0x80 | 11);
    cmos_write(f, RTC_REGISTER_B, 0); /* 12-hour BCD */
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 0x80 | 0x11);
    use_fake_time(f, 2000, 1, 1, 0, 30, 0); /* midnight is 12 AM */
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 0x12);
    use_fake_time(f, 2000, 1, 1, 12, 30, 0); /* noon is 12 PM */
    assert_int_equal(cmos_read(f, RTC_REGISTER_HOURS), 0x92);
    assert_int_equal(cmos_read(f, RTC_REGISTER_WEEKDAY), 7); /* Saturday */
    assert_int_equal(cmos_read(f, RTC_REGISTER_CENTURY), 0x20);
}

static void test_update_in_progress_window(void **state)
{
    struct fixture *f = *state;
    use_fake_time(f, 2026, 1, 1, 0, 0, 0);
    fake_now.tv_nsec = 999900000;
    assert_int_equal(cmos_read(f, RTC_REGISTER_A) & RTC_A_UPDATE_IN_PROGRESS, RTC_A_UPDATE_IN_PROGRESS);
    fake_now.tv_nsec = 0;
    assert_int_equal(cmos_read(f, RTC_REGISTER_A), 0x26);
    /* UIP is read-only; the rest of register A is the guest's. */
    cmos_write(f, RTC_REGISTER_A, 0xa6);
    assert_int_equal(cmos_read(f, RTC_REGISTER_A), 0x26);
}

static unsigned from_bcd(uint8_t value)
{
    return (value >> 4) * 10 + (value & 0x0f);
}

/* The guest's clock is the host's UTC clock. */
static void test_matches_host_time(void **state)
{
    struct fixture *f = *state;
    /* With the real clock, UIP must clear within a few reads: never stuck. */
    int reads = 0;
    while ((cmos_read(f, RTC_REGISTER_A) & RTC_A_UPDATE_IN_PROGRESS) && reads < 100000)
        reads++;
    assert_true(reads < 100000);

    /* Like Linux: read everything, and again if the seconds moved meanwhile. */
    struct tm tm = {0};
    for (int attempt = 0; attempt < 5; attempt++) {
        uint8_t seconds = cmos_read(f, RTC_REGISTER_SECONDS);
        tm.tm_sec = (int)from_bcd(seconds);
        tm.tm_min = (int)from_bcd(cmos_read(f, RTC_REGISTER_MINUTES));
        tm.tm_hour = (int)from_bcd(cmos_read(f, RTC_REGISTER_HOURS));
        tm.tm_mday = (int)from_bcd(cmos_read(f, RTC_REGISTER_DAY));
        tm.tm_mon = (int)from_bcd(cmos_read(f, RTC_REGISTER_MONTH)) - 1;
        tm.tm_year = (int)(from_bcd(cmos_read(f, RTC_REGISTER_CENTURY)) * 100 +
                           from_bcd(cmos_read(f, RTC_REGISTER_YEAR))) - 1900;
        if (cmos_read(f, RTC_REGISTER_SECONDS) == seconds)
            break;
    }
    time_t guest = timegm(&tm);
    time_t host = time(NULL);
    long difference = (long)(host - guest);
    /* Reading spans at most one second boundary; allow two for a slow sanitizer run. */
    assert_true(difference >= -2 && difference <= 2);
}

static void test_index_masking_and_cmos_ram(void **state)
{
    struct fixture *f = *state;
    /* Bit 7 of the index is NMI disable, not address. */
    cmos_write(f, 0x80 | 0x40, 0x77);
    assert_int_equal(cmos_read(f, 0x40), 0x77);
    assert_int_equal(f->rtc.index, 0x40);
    cmos_write(f, 0xff, 0x12);
    assert_int_equal(cmos_read(f, 0x7f), 0x12);
    for (unsigned index = 0x0e; index < 0x80; index++) {
        if (index == RTC_REGISTER_CENTURY)
            continue;
        cmos_write(f, (uint8_t)index, (uint8_t)(index ^ 0x5a));
    }
    for (unsigned index = 0x0e; index < 0x80; index++) {
        if (index == RTC_REGISTER_CENTURY)
            continue;
        assert_int_equal(cmos_read(f, (uint8_t)index), index ^ 0x5a);
    }
    /* Clock writes do not move the clock; alarms are plain storage. */
    use_fake_time(f, 2026, 11, 25, 13, 5, 9);
    cmos_write(f, RTC_REGISTER_SECONDS, 0x42);
    assert_int_equal(cmos_read(f, RTC_REGISTER_SECONDS), 0x09);
    cmos_write(f, RTC_REGISTER_SECONDS_ALARM, 0x42);
    assert_int_equal(cmos_read(f, RTC_REGISTER_SECONDS_ALARM), 0x42);
    cmos_write(f, RTC_REGISTER_D, 0);
    assert_int_equal(cmos_read(f, RTC_REGISTER_D), RTC_D_VALID);
    /* The index port is write-only; a 16-bit access covers index then data. */
    uint16_t both = (uint16_t)(RTC_REGISTER_MINUTES | 0x55 << 8);
    io_bus_write(&f->pio, INDEX, &both, 2);
    assert_int_equal(cmos_read(f, RTC_REGISTER_MINUTES), 0x05);
    uint8_t byte = 0;
    io_bus_read(&f->pio, INDEX, &byte, 1);
    assert_int_equal(byte, 0xff);
}

static void advance_fake_ns(long ns)
{
    fake_now.tv_nsec += ns;
    while (fake_now.tv_nsec >= 1000000000L) {
        fake_now.tv_nsec -= 1000000000L;
        fake_now.tv_sec++;
    }
}

/* Register C's flags follow the clock for a polling guest. */
static void test_flags_follow_clock(void **state)
{
    struct fixture *f = *state;
    use_fake_time(f, 2026, 11, 25, 13, 5, 9);
    fake_now.tv_nsec = 100000000;
    cmos_read(f, RTC_REGISTER_C); /* acknowledge whatever the switch of clocks produced */
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), 0);

    /* A second later: an update, and (register A's default rate 6 is 1024 Hz)
     * a periodic flag; no IRQF since no interrupt is enabled. */
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_UPDATE | RTC_C_PERIODIC);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), 0);
    advance_fake_ns(2000000);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_PERIODIC);
    cmos_write(f, RTC_REGISTER_A, 0x20); /* no periodic rate */
    advance_fake_ns(2000000);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), 0);

    /* Alarm at 13:05:12 (BCD, 24-hour); it is 13:05:10 now. */
    cmos_write(f, RTC_REGISTER_SECONDS_ALARM, 0x12);
    cmos_write(f, RTC_REGISTER_MINUTES_ALARM, 0x05);
    cmos_write(f, RTC_REGISTER_HOURS_ALARM, 0x13);
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_UPDATE);
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_UPDATE | RTC_C_ALARM);
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_UPDATE);
    /* "Don't care" in every field: an alarm each second. */
    cmos_write(f, RTC_REGISTER_SECONDS_ALARM, 0xc0);
    cmos_write(f, RTC_REGISTER_MINUTES_ALARM, 0xff);
    cmos_write(f, RTC_REGISTER_HOURS_ALARM, 0xc0);
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_UPDATE | RTC_C_ALARM);

    /* With the update interrupt enabled, IRQF is set too. */
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_UPDATE_ENABLE);
    advance_fake_ns(1000000000L);
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), RTC_C_IRQ | RTC_C_UPDATE | RTC_C_ALARM);

    /* A host clock stepping back does not invent updates. */
    fake_now.tv_sec -= 3600;
    assert_int_equal(cmos_read(f, RTC_REGISTER_C), 0);
}

static void test_interrupt_line_follows_flags(void **state)
{
    struct fixture *f = *state;
    struct recording_platform recorder;
    recording_platform_init(&recorder);
    use_fake_time(f, 2026, 11, 25, 13, 5, 9);
    f->rtc.platform = &recorder.platform; /* delivery without the timer thread */
    f->rtc.irq = LAYOUT_RTC_IRQ;
    cmos_write(f, RTC_REGISTER_A, 0x20); /* no periodic flag in the way */
    cmos_read(f, RTC_REGISTER_C);
    advance_fake_ns(1000000000L);
    /* The update flag is set (checked at the next access) but not enabled: no interrupt. */
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_ALARM_ENABLE);
    assert_false(recording_irq(&recorder, LAYOUT_RTC_IRQ));
    uint8_t flags = cmos_read(f, RTC_REGISTER_C);
    assert_int_equal(flags, RTC_C_UPDATE);
    advance_fake_ns(1000000000L);
    /* Enabling a source whose flag is pending interrupts at once... */
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_UPDATE_ENABLE);
    assert_true(recording_irq(&recorder, LAYOUT_RTC_IRQ));
    /* ...and reading C acknowledges it. */
    assert_int_equal(cmos_read(f, RTC_REGISTER_C) & (RTC_C_IRQ | RTC_C_UPDATE), RTC_C_IRQ | RTC_C_UPDATE);
    assert_false(recording_irq(&recorder, LAYOUT_RTC_IRQ));
    assert_int_equal(recorder.rising_edges[LAYOUT_RTC_IRQ], 1);
    assert_int_equal(recorder.bad_irq_calls, 0);
    f->rtc.platform = NULL;
    recording_platform_destroy(&recorder);
}

/* Waits (bounded) for IRQ 8 to go high, then acknowledges it through register C. */
static uint8_t wait_and_acknowledge(struct fixture *f, struct recording_platform *recorder)
{
    for (int i = 0; i < 3000 && !recording_irq(recorder, LAYOUT_RTC_IRQ); i++)
        usleep(1000);
    assert_true(recording_irq(recorder, LAYOUT_RTC_IRQ));
    uint8_t flags = cmos_read(f, RTC_REGISTER_C);
    return flags;
}

static void test_timer_thread_interrupts(void **state)
{
    struct fixture *f = *state;
    struct recording_platform recorder;
    recording_platform_init(&recorder);
    struct error error = {0};
    assert_int_equal(rtc_start_interrupts(&f->rtc, &recorder.platform, LAYOUT_RTC_IRQ, &error), 0);
    cmos_read(f, RTC_REGISTER_C);
    /* Nothing enabled: the thread sleeps and the line stays low. */
    usleep(20000);
    assert_false(recording_irq(&recorder, LAYOUT_RTC_IRQ));

    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_UPDATE_ENABLE);
    uint8_t flags = wait_and_acknowledge(f, &recorder);
    assert_int_equal(flags & (RTC_C_IRQ | RTC_C_UPDATE), RTC_C_IRQ | RTC_C_UPDATE);

    /* Periodic at 8192 Hz asked, 1024 Hz delivered: several interrupts, each acknowledged. */
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR | RTC_B_PERIODIC_ENABLE);
    cmos_write(f, RTC_REGISTER_A, 0x23);
    for (int i = 0; i < 5; i++) {
        flags = wait_and_acknowledge(f, &recorder);
        assert_true(flags & RTC_C_IRQ);
        assert_true(flags & RTC_C_PERIODIC);
    }
    cmos_write(f, RTC_REGISTER_B, RTC_B_24_HOUR);
    cmos_read(f, RTC_REGISTER_C);
    assert_false(recording_irq(&recorder, LAYOUT_RTC_IRQ));
    assert_true(recorder.rising_edges[LAYOUT_RTC_IRQ] >= 6);
    assert_int_equal(recorder.bad_irq_calls, 0);
    rtc_stop_interrupts(&f->rtc);
    rtc_stop_interrupts(&f->rtc); /* idempotent; teardown's rtc_destroy calls it again */
    recording_platform_destroy(&recorder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bcd_24_hour_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_12_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_in_progress_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matches_host_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_masking_and_cmos_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_follow_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_line_follows_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_thread_interrupts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
