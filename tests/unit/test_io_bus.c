/* KESTREL_TSAN_TEST: exit counters are bumped from every vCPU thread at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/io_bus.h"

struct fake_device {
    uint64_t last_offset;
    uint32_t last_size;
    uint8_t last_written[8];
    unsigned reads;
    unsigned writes;
};

static void fake_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    struct fake_device *fake = device;
    fake->reads++;
    fake->last_offset = offset;
    fake->last_size = size;
    memset(data, 0x5a, size);
}

static void fake_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct fake_device *fake = device;
    fake->writes++;
    fake->last_offset = offset;
    fake->last_size = size;
    memcpy(fake->last_written, data, size);
}

static const struct io_device_ops fake_ops = {.read = fake_read, .write = fake_write};

static void test_dispatch_with_offset(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0}, b = {0};
    struct error error = {0};
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "serial", &fake_ops, &a, &error), 0);
    assert_int_equal(io_bus_register(&bus, 0x70, 2, "rtc", &fake_ops, &b, &error), 0);

    uint8_t value = 0x41;
    io_bus_write(&bus, 0x3f8 + 3, &value, 1);
    assert_int_equal(a.writes, 1);
    assert_int_equal(a.last_offset, 3);
    assert_int_equal(a.last_size, 1);
    assert_int_equal(a.last_written[0], 0x41);
    assert_int_equal(b.writes, 0);

    uint16_t word = 0;
    io_bus_read(&bus, 0x70, &word, 2);
    assert_int_equal(word, 0x5a5a);
    assert_int_equal(b.reads, 1);
    assert_int_equal(b.last_offset, 0);
    assert_int_equal(atomic_load(&bus.ranges[0].exit_count), 1);
    assert_int_equal(atomic_load(&bus.ranges[1].exit_count), 1);
    assert_int_equal(atomic_load(&bus.unclaimed_count), 0);
}

static void test_unclaimed_reads_all_ones(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0};
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "serial", &fake_ops, &a, NULL), 0);
    uint32_t value = 0;
    io_bus_read(&bus, 0x2f8, &value, 4);
    assert_int_equal(value, 0xffffffffu);
    io_bus_write(&bus, 0x3f7, &value, 1);
    assert_int_equal(a.reads + a.writes, 0);
    assert_int_equal(atomic_load(&bus.unclaimed_count), 2);
}

static void test_straddling_access_is_unclaimed(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0};
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "serial", &fake_ops, &a, NULL), 0);
    uint32_t value = 0;
    io_bus_read(&bus, 0x3fe, &value, 4); /* 0x3fe..0x401 crosses the end */
    assert_int_equal(value, 0xffffffffu);
    io_bus_write(&bus, 0x3ff, &value, 2);
    assert_int_equal(a.reads + a.writes, 0);
    io_bus_read(&bus, 0x3fc, &value, 4); /* ends exactly at the last port: claimed */
    assert_int_equal(a.reads, 1);
    assert_int_equal(a.last_offset, 4);
    assert_int_equal(atomic_load(&bus.unclaimed_count), 2);
}

static void test_invalid_sizes_are_unclaimed(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0};
    io_bus_init(&bus, "mmio");
    assert_int_equal(io_bus_register(&bus, 0x1000, 0x100, "dev", &fake_ops, &a, NULL), 0);
    uint8_t buffer[3] = {0};
    io_bus_read(&bus, 0x1000, buffer, 3);
    io_bus_write(&bus, 0x1000, buffer, 0);
    assert_int_equal(a.reads + a.writes, 0);
    assert_int_equal(buffer[0], 0xff);
    assert_int_equal(atomic_load(&bus.unclaimed_count), 2);
}

static void test_rejects_overlap_wrap_and_overflow(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0};
    struct error error = {0};
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x100, 0x10, "first", &fake_ops, &a, &error), 0);
    assert_int_equal(io_bus_register(&bus, 0x10f, 1, "tail", &fake_ops, &a, &error), -1);
    assert_non_null(strstr(error.message, "overlaps first"));
    assert_int_equal(io_bus_register(&bus, 0xf0, 0x11, "head", &fake_ops, &a, &error), -1);
    assert_int_equal(io_bus_register(&bus, 0x0, 0x1000, "around", &fake_ops, &a, &error), -1);
    assert_int_equal(io_bus_register(&bus, 0x104, 2, "inside", &fake_ops, &a, &error), -1);
    /* Adjacent on both sides is fine. */
    assert_int_equal(io_bus_register(&bus, 0xf0, 0x10, "below", &fake_ops, &a, &error), 0);
    assert_int_equal(io_bus_register(&bus, 0x110, 0x10, "above", &fake_ops, &a, &error), 0);

    assert_int_equal(io_bus_register(&bus, UINT64_MAX - 3, 8, "wrap", &fake_ops, &a, &error), -1);
    assert_non_null(strstr(error.message, "wraps"));
    /* The very last byte of the address space is a valid range. */
    assert_int_equal(io_bus_register(&bus, UINT64_MAX, 1, "last", &fake_ops, &a, &error), 0);
    uint8_t value = 0;
    io_bus_read(&bus, UINT64_MAX, &value, 1);
    assert_int_equal(value, 0x5a);
    uint16_t wide = 0;
    io_bus_read(&bus, UINT64_MAX, &wide, 2); /* would wrap: unclaimed */
    assert_int_equal(wide, 0xffff);
    assert_int_equal(atomic_load(&bus.unclaimed_count), 1);
    assert_int_equal(io_bus_register(&bus, 0x500, 0, "empty", &fake_ops, &a, &error), -1);
    assert_int_equal(bus.range_count, 4);

    for (unsigned i = bus.range_count; i < IO_BUS_MAX_RANGES; i++)
        assert_int_equal(io_bus_register(&bus, 0x10000 + i * 0x10, 0x10, "filler", &fake_ops, &a, &error), 0);
    assert_int_equal(io_bus_register(&bus, 0x900000, 1, "one too many", &fake_ops, &a, &error), -1);
    assert_non_null(strstr(error.message, "too many"));
}

static void test_print_stats_sorted_by_count(void **state)
{
    (void)state;
    struct io_bus bus;
    struct fake_device a = {0};
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x70, 2, "rtc", &fake_ops, &a, NULL), 0);
    assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "serial", &fake_ops, &a, NULL), 0);
    assert_int_equal(io_bus_register(&bus, 0x505, 1, "pvpanic", &fake_ops, &a, NULL), 0);
    uint8_t value = 0;
    for (int i = 0; i < 5; i++)
        io_bus_write(&bus, 0x3f8, &value, 1);
    for (int i = 0; i < 2; i++)
        io_bus_write(&bus, 0x71, &value, 1);
    io_bus_write(&bus, 0x1234, &value, 1);

    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    assert_non_null(out);
    io_bus_print_stats(&bus, out);
    fclose(out);
    char *serial = strstr(text, "serial");
    char *rtc = strstr(text, "rtc");
    char *pvpanic = strstr(text, "pvpanic");
    char *unclaimed = strstr(text, "(unclaimed)");
    assert_non_null(serial);
    assert_non_null(rtc);
    assert_non_null(pvpanic);
    assert_non_null(unclaimed);
    assert_true(serial < rtc && rtc < pvpanic && pvpanic < unclaimed);
    assert_non_null(strstr(serial, "0x000003f8-0x000003ff"));
    assert_non_null(strstr(serial, " 5 exits"));
    assert_non_null(strstr(rtc, " 2 exits"));
    assert_non_null(strstr(unclaimed, " 1 exits"));
    free(text);
}

static void counting_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    memset(data, 0, size);
}

static void counting_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    (void)data;
    (void)size;
}

static const struct io_device_ops counting_ops = {.read = counting_read, .write = counting_write};

enum { COUNTER_THREADS = 4 };

static void *hammer_bus(void *opaque)
{
    struct io_bus *bus = opaque;
    const char *scale = getenv("KESTREL_STRESS_SCALE");
    unsigned rounds = scale && strcmp(scale, "tsan") == 0 ? 5000 : 50000;
    for (unsigned i = 0; i < rounds; i++) {
        uint32_t value = 0;
        io_bus_read(bus, 0x3f8 + (i & 7), &value, 1);
        io_bus_write(bus, 0x70, &value, 1);
        io_bus_read(bus, 0x80, &value, 1); /* unclaimed */
    }
    return NULL;
}

static void test_concurrent_exit_counters(void **state)
{
    (void)state;
    struct io_bus bus;
    io_bus_init(&bus, "pio");
    assert_int_equal(io_bus_register(&bus, 0x3f8, 8, "serial", &counting_ops, NULL, NULL), 0);
    assert_int_equal(io_bus_register(&bus, 0x70, 2, "rtc", &counting_ops, NULL, NULL), 0);
    pthread_t threads[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_bus, &bus), 0);
    for (int i = 0; i < COUNTER_THREADS; i++)
        pthread_join(threads[i], NULL);
    const char *scale = getenv("KESTREL_STRESS_SCALE");
    uint64_t rounds = scale && strcmp(scale, "tsan") == 0 ? 5000 : 50000;
    assert_int_equal(atomic_load(&bus.ranges[0].exit_count), rounds * COUNTER_THREADS);
    assert_int_equal(atomic_load(&bus.ranges[1].exit_count), rounds * COUNTER_THREADS);
    assert_int_equal(atomic_load(&bus.unclaimed_count), rounds * COUNTER_THREADS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_with_offset),
        cmocka_unit_test(test_unclaimed_reads_all_ones),
        cmocka_unit_test(test_straddling_access_is_unclaimed),
        cmocka_unit_test(test_invalid_sizes_are_unclaimed),
        cmocka_unit_test(test_rejects_overlap_wrap_and_overflow),
        cmocka_unit_test(test_print_stats_sorted_by_count),
        cmocka_unit_test(test_concurrent_exit_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
