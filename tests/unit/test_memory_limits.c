/*
 * The --memory checks (src/vm_memory_limits.c) and the /proc/meminfo parser
 * behind them (src/util/host_memory.c), on synthetic inputs, and one real
 * read of /proc/meminfo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/host_memory.h"
#include "vm_memory_limits.h"

#define GIB (1ull << 30)

static int parse(const char *text, struct host_memory *memory)
{
    return host_memory_parse_meminfo(text, strlen(text), memory);
}

static void test_meminfo_available_and_swap(void **state)
{
    (void)state;
    struct host_memory memory;
    assert_int_equal(parse("MemTotal:       24522388 kB\n"
                           "MemFree:         1234567 kB\n"
                           "MemAvailable:   22867000 kB\n"
                           "SwapTotal:       2097148 kB\n"
                           "SwapFree:        1048576 kB\n"
                           "HugePages_Total:      40\n"
                           "HugePages_Free:       30\n"
                           "HugePages_Rsvd:        4\n"
                           "HugePages_Surp:        0\n"
                           "Hugepagesize:       2048 kB\n",
                           &memory),
                     0);
    assert_int_equal(memory.available_kib, 22867000);
    assert_int_equal(memory.swap_free_kib, 1048576);
    assert_int_equal(memory.huge_pages_free, 30);
    assert_int_equal(memory.huge_pages_reserved, 4);
    assert_int_equal(memory.huge_page_size_kib, 2048);
}

static void test_meminfo_without_swap_line_or_final_newline(void **state)
{
    (void)state;
    struct host_memory memory = {.swap_free_kib = 99};
    assert_int_equal(parse("MemAvailable: 4096 kB", &memory), 0);
    assert_int_equal(memory.available_kib, 4096);
    assert_int_equal(memory.swap_free_kib, 0);
}

static void test_meminfo_refuses_what_it_cannot_trust(void **state)
{
    (void)state;
    struct host_memory memory = {.available_kib = 7, .swap_free_kib = 7};
    static const char *const bad[] = {
        "",
        "MemTotal: 100 kB\nSwapFree: 5 kB\n",               /* no MemAvailable (kernels before 3.14) */
        "MemAvailable: kB\n",                               /* no digits */
        "MemAvailable: 12 MB\n",                            /* a unit it does not know */
        "MemAvailable: 12 kB trailing\n",                   /* more after the unit */
        "MemAvailable: -12 kB\n",                           /* a sign */
        "MemAvailable: 99999999999999999999999 kB\n",       /* overflows 64 bits */
        "MemAvailable: 10 kB\nMemAvailable: 20 kB\n",       /* twice: which one? */
        "MemAvailable: 10 kB\nSwapFree: 1 kB\nSwapFree: 1 kB\n",
        "MemAvailable: 10 kB\nSwapFree: lots\n",
        "MemAvailable: 10 kB\nHugePages_Free: 3 kB\n",   /* a count, not a size */
        "MemAvailable: 10 kB\nHugepagesize: 2048\n",     /* a size, not a count */
        "MemAvailable: 10 kB\nHugePages_Rsvd: 1\nHugePages_Rsvd: 1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &memory), -1);
        /* A refusal leaves the caller's struct alone. */
        assert_int_equal(memory.available_kib, 7);
    }
    /* A line that only starts like a needed one is someone else's. */
    assert_int_equal(parse("MemAvailableX: 1 kB\nMemAvailable: 2 kB\n", &memory), 0);
    assert_int_equal(memory.available_kib, 2);
}

static void test_meminfo_reads_this_host(void **state)
{
    (void)state;
    struct host_memory memory;
    struct error error = {0};
    assert_int_equal(host_memory_read(&memory, &error), 0);
    assert_true(memory.available_kib > 0);
}

static void test_address_end_follows_the_layout(void **state)
{
    (void)state;
    /* Below the 3 GiB hole: RAM ends low, the 32 GiB window starts at 4 GiB. */
    assert_int_equal(vm_memory_limits_address_end(512ull << 20), 4 * GIB + 32 * GIB);
    assert_int_equal(vm_memory_limits_address_end(3 * GIB), 4 * GIB + 32 * GIB);
    /* 4 GiB: 3 low, 1 above 4 GiB; the window at the next GiB. */
    assert_int_equal(vm_memory_limits_address_end(4 * GIB), 5 * GIB + 32 * GIB);
    assert_int_equal(vm_memory_limits_address_end(4 * GIB + 4096), 6 * GIB + 32 * GIB);
    assert_int_equal(vm_memory_limits_address_end(UINT64_MAX & ~0xfffull), 0);
    assert_int_equal(vm_memory_limits_address_end(UINT64_MAX - 4 * GIB), 0);
}

static void test_address_width(void **state)
{
    (void)state;
    struct error error = {0};
    /*
     * 36 bits = 64 GiB: 31 GiB of RAM is 3 below the hole and 28 above 4 GiB, ending at 32 GiB, and the window
     * ends exactly at 64 GiB. One more page moves the window up a GiB, past the limit.
     */
    assert_int_equal(vm_memory_limits_check_address_width(31 * GIB, 36, &error), 0);
    assert_int_equal(vm_memory_limits_check_address_width(31 * GIB + 4096, 36, &error), -1);
    assert_int_equal(error.exit_status, 2);
    assert_non_null(strstr(error.message, "--memory 31744 MiB does not fit the guest's 36-bit physical address space"));
    assert_int_equal(vm_memory_limits_check_address_width(UINT64_MAX & ~0xfffull, 52, &error), -1);
    assert_int_equal(vm_memory_limits_check_address_width(512ull << 20, 64, &error), 0);
}

static void test_host_backing(void **state)
{
    (void)state;
    struct error error = {0};
    struct host_memory host = {.available_kib = 512 * 1024, .swap_free_kib = 600 * 1024};
    assert_int_equal(vm_memory_limits_check_host(1 * GIB, &host, &error), 0);
    assert_int_equal(vm_memory_limits_check_host(1112ull << 20, &host, &error), 0);
    assert_int_equal(vm_memory_limits_check_host((1112ull << 20) + 4096, &host, &error), -1);
    assert_int_equal(error.exit_status, 2);
    assert_non_null(strstr(error.message, "MemAvailable 512 MiB + free swap 600 MiB"));
    assert_non_null(strstr(error.message, "overcommit=on"));
    host = (struct host_memory){.available_kib = UINT64_MAX, .swap_free_kib = UINT64_MAX};
    assert_int_equal(vm_memory_limits_check_host(UINT64_MAX & ~0xfffull, &host, &error), 0);
}

static void test_huge_pages(void **state)
{
    (void)state;
    struct error error = {0};
    struct host_memory host = {.huge_pages_free = 70, .huge_pages_reserved = 6, .huge_page_size_kib = 2048};
    assert_int_equal(vm_memory_limits_check_huge_pages(128ull << 20, &host, &error), 0);
    assert_int_equal(vm_memory_limits_check_huge_pages(130ull << 20, &host, &error), -1);
    assert_non_null(strstr(error.message, "130 MiB needs 65 huge pages of 2048 KiB, and the host has 64 free"));
    assert_int_equal(vm_memory_limits_check_huge_pages((128ull << 20) + 4096, &host, &error), -1);
    assert_non_null(strstr(error.message, "131076 KiB is not a multiple of the host's 2048 KiB huge pages"));
    host.huge_pages_reserved = 90; /* more reserved than free: a pool in flux, none usable */
    assert_int_equal(vm_memory_limits_check_huge_pages(2ull << 20, &host, &error), -1);
    host.huge_page_size_kib = 0;
    assert_int_equal(vm_memory_limits_check_huge_pages(2ull << 20, &host, &error), -1);
    assert_non_null(strstr(error.message, "no hugetlbfs"));
    assert_int_equal(error.exit_status, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meminfo_available_and_swap),
        cmocka_unit_test(test_meminfo_without_swap_line_or_final_newline),
        cmocka_unit_test(test_meminfo_refuses_what_it_cannot_trust),
        cmocka_unit_test(test_meminfo_reads_this_host),
        cmocka_unit_test(test_address_end_follows_the_layout),
        cmocka_unit_test(test_address_width),
        cmocka_unit_test(test_host_backing),
        cmocka_unit_test(test_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
