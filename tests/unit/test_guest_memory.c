/* Guest RAM: regions with holes, the overflow-safe gpa_to_hva, copies, and the PC layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mem/guest_memory.h"

enum { KIB = 1024 };
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

/* Two regions, [0, 64 KiB) and [128 KiB, 192 KiB), with a hole between them. */
static int two_regions_setup(void **state)
{
    static struct guest_memory memory;
    struct error error = { 0 };
    memset(&memory, 0, sizeof(memory));
    assert_int_equal(guest_memory_add_region(&memory, 0, 64 * KIB, &error), 0);
    assert_int_equal(guest_memory_add_region(&memory, 128 * KIB, 64 * KIB, &error), 0);
    *state = &memory;
    return 0;
}

static int two_regions_teardown(void **state)
{
    guest_memory_destroy(*state);
    return 0;
}

static void test_ranges_inside_a_region(void **state)
{
    struct guest_memory *memory = *state;
    uint8_t *low = memory->regions[0].host;
    uint8_t *high = memory->regions[1].host;
    assert_ptr_equal(gpa_to_hva(memory, 0, 1), low);
    assert_ptr_equal(gpa_to_hva(memory, 0x1234, 16), low + 0x1234);
    assert_ptr_equal(gpa_to_hva(memory, 0, 64 * KIB), low);           /* the whole region */
    assert_ptr_equal(gpa_to_hva(memory, 64 * KIB - 1, 1), low + 64 * KIB - 1);
    assert_ptr_equal(gpa_to_hva(memory, 128 * KIB, 64 * KIB), high);
    assert_ptr_equal(gpa_to_hva(memory, 128 * KIB + 5, 7), high + 5);
    assert_int_equal(guest_memory_total_size(memory), 128 * KIB);
}

static void test_ranges_in_or_across_the_hole_fail(void **state)
{
    struct guest_memory *memory = *state;
    assert_null(gpa_to_hva(memory, 64 * KIB, 1));            /* first byte of the hole */
    assert_null(gpa_to_hva(memory, 100 * KIB, 16));          /* inside the hole */
    assert_null(gpa_to_hva(memory, 128 * KIB - 1, 2));       /* ends in the next region */
    assert_null(gpa_to_hva(memory, 64 * KIB - 8, 16));       /* straddles the region end */
    assert_null(gpa_to_hva(memory, 0, 64 * KIB + 1));        /* one byte too long */
    assert_null(gpa_to_hva(memory, 0, 192 * KIB));           /* spans both regions and the hole */
    assert_null(gpa_to_hva(memory, 192 * KIB, 1));           /* past the end of RAM */
    assert_null(gpa_to_hva(memory, 192 * KIB - 1, 2));
}

static void test_wrapping_ranges_fail(void **state)
{
    struct guest_memory *memory = *state;
    assert_null(gpa_to_hva(memory, UINT64_MAX, 1));
    assert_null(gpa_to_hva(memory, UINT64_MAX - 0xf, 0x20));      /* gpa + len wraps to 0x10 */
    assert_null(gpa_to_hva(memory, 0x10, UINT64_MAX));             /* len wraps */
    assert_null(gpa_to_hva(memory, 128 * KIB + 1, UINT64_MAX - 1));
    assert_null(gpa_to_hva(memory, 0, UINT64_MAX));
}

static void test_zero_length_ranges(void **state)
{
    struct guest_memory *memory = *state;
    uint8_t *low = memory->regions[0].host;
    /* An empty range inside a region, or ending at its end, needs no byte and succeeds. */
    assert_ptr_equal(gpa_to_hva(memory, 0, 0), low);
    assert_ptr_equal(gpa_to_hva(memory, 0x100, 0), low + 0x100);
    assert_ptr_equal(gpa_to_hva(memory, 64 * KIB, 0), low + 64 * KIB);
    /* An empty range in the hole or far outside RAM is still rejected. */
    assert_null(gpa_to_hva(memory, 100 * KIB, 0));
    assert_null(gpa_to_hva(memory, UINT64_MAX, 0));
}

static void test_read_and_write_helpers(void **state)
{
    struct guest_memory *memory = *state;
    const char message[] = "kestrel guest memory";
    char back[sizeof(message)] = { 0 };
    assert_int_equal(guest_memory_write(memory, 128 * KIB + 0x40, message, sizeof(message)), 0);
    assert_int_equal(guest_memory_read(memory, 128 * KIB + 0x40, back, sizeof(back)), 0);
    assert_string_equal(back, message);
    assert_memory_equal((uint8_t *)memory->regions[1].host + 0x40, message, sizeof(message));

    /* Failing copies touch nothing. */
    memset(back, 'x', sizeof(back));
    assert_int_equal(guest_memory_read(memory, 64 * KIB - 4, back, 8), -1);
    assert_int_equal(back[0], 'x');
    assert_int_equal(guest_memory_write(memory, 64 * KIB - 4, message, 8), -1);
    assert_int_equal(((uint8_t *)memory->regions[0].host)[64 * KIB - 4], 0);
    assert_int_equal(guest_memory_write(memory, UINT64_MAX - 2, message, 8), -1);
    assert_int_equal(guest_memory_read(memory, 192 * KIB, back, 1), -1);
    /* Zero-length copies inside RAM succeed. */
    assert_int_equal(guest_memory_read(memory, 0, back, 0), 0);
    assert_int_equal(guest_memory_write(memory, 0, message, 0), 0);
}

/* Advice only for ranges inside one region; lengths and addresses that would wrap are refused. */
static void test_advise_huge_pages_checks_the_range(void **state)
{
    const struct guest_memory *memory = *state;
    assert_false(guest_memory_advise_huge_pages(memory, 0, 0));
    assert_false(guest_memory_advise_huge_pages(memory, 60 * KIB, 8 * KIB));  /* into the hole */
    assert_false(guest_memory_advise_huge_pages(memory, 64 * KIB, 4 * KIB));  /* the hole */
    assert_false(guest_memory_advise_huge_pages(memory, UINT64_MAX - 100, 50));
    assert_false(guest_memory_advise_huge_pages(memory, 128 * KIB, UINT64_MAX));
    assert_false(guest_memory_advise_huge_pages(memory, 190 * KIB, 2 * KIB + 1)); /* rounds out past the end */
}

/* Where the host has transparent huge pages, an unaligned range inside RAM is advised (rounded out to pages). */
static void test_advise_huge_pages_inside_ram(void **state)
{
    const struct guest_memory *memory = *state;
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
        skip();
    assert_true(guest_memory_advise_huge_pages(memory, 1000, 5000));
    assert_true(guest_memory_advise_huge_pages(memory, 128 * KIB + 1, 64 * KIB - 1));
}

/* Whole pages are dropped, partial ones cleared; bytes outside the range keep their value. */
static void test_zero_ranges(void **state)
{
    const struct guest_memory *memory = *state;
    uint8_t *low = gpa_to_hva(memory, 0, 64 * KIB);
    memset(low, 0x55, 64 * KIB);
    assert_int_equal(guest_memory_zero(memory, 60 * KIB, 8 * KIB), -1); /* into the hole */
    assert_int_equal(guest_memory_zero(memory, UINT64_MAX - 10, 20), -1);
    assert_int_equal(low[60 * KIB], 0x55); /* a refused range changes nothing */
    assert_int_equal(guest_memory_zero(memory, 1000, 20000), 0);
    for (size_t i = 0; i < 64 * KIB; i++)
        assert_int_equal(low[i], i >= 1000 && i < 21000 ? 0 : 0x55);
    assert_int_equal(guest_memory_zero(memory, 30000, 7), 0); /* inside one page */
    assert_int_equal(low[29999], 0x55);
    assert_int_equal(low[30006], 0);
    assert_int_equal(low[30007], 0x55);
    assert_int_equal(guest_memory_zero(memory, 32 * KIB, 32 * KIB), 0); /* aligned, up to the region's end */
    assert_int_equal(low[32 * KIB - 1], 0x55);
    assert_int_equal(low[64 * KIB - 1], 0);
    assert_int_equal(guest_memory_zero(memory, 0, 0), 0);
}

static void test_add_region_rejects_bad_regions(void **state)
{
    struct guest_memory *memory = *state;
    struct error error = { 0 };
    assert_int_equal(guest_memory_add_region(memory, 1 * MIB, 0, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_int_equal(guest_memory_add_region(memory, 1 * MIB + 1, 4 * KIB, &error), -1);
    assert_int_equal(guest_memory_add_region(memory, 1 * MIB, 4 * KIB + 1, &error), -1);
    assert_non_null(strstr(error.message, "page aligned"));
    assert_int_equal(guest_memory_add_region(memory, UINT64_MAX - 0xfff, 8 * KIB, &error), -1);
    assert_non_null(strstr(error.message, "wraps"));
    /* Overlaps with either existing region. */
    assert_int_equal(guest_memory_add_region(memory, 60 * KIB, 8 * KIB, &error), -1);
    assert_non_null(strstr(error.message, "overlap"));
    assert_int_equal(guest_memory_add_region(memory, 64 * KIB, 128 * KIB, &error), -1);
    assert_int_equal(memory->region_count, 2);
    /* The hole itself can still be filled. */
    assert_int_equal(guest_memory_add_region(memory, 64 * KIB, 64 * KIB, &error), 0);
    assert_non_null(gpa_to_hva(memory, 64 * KIB, 64 * KIB));
}

static void test_region_count_is_bounded(void **state)
{
    (void)state;
    struct guest_memory memory = { 0 };
    struct error error = { 0 };
    for (unsigned i = 0; i < GUEST_MEMORY_MAX_REGIONS; i++)
        assert_int_equal(guest_memory_add_region(&memory, i * 2 * 4 * KIB, 4 * KIB, &error), 0);
    assert_int_equal(guest_memory_add_region(&memory, 1 * GIB, 4 * KIB, &error), -1);
    assert_non_null(strstr(error.message, "too many"));
    guest_memory_destroy(&memory);
    assert_int_equal(memory.region_count, 0);
}

static void test_create_below_the_hole(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error = { 0 };
    assert_int_equal(guest_memory_create(&memory, 256 * MIB, &error), 0);
    assert_int_equal(memory.region_count, 1);
    assert_int_equal(memory.regions[0].gpa, 0);
    assert_int_equal(memory.regions[0].size, 256 * MIB);
    assert_non_null(gpa_to_hva(&memory, 256 * MIB - 1, 1));
    assert_null(gpa_to_hva(&memory, 256 * MIB, 1));
    guest_memory_destroy(&memory);

    /* Exactly up to the hole: still one region. */
    assert_int_equal(guest_memory_create(&memory, GUEST_MMIO_HOLE_START, &error), 0);
    assert_int_equal(memory.region_count, 1);
    assert_null(gpa_to_hva(&memory, GUEST_MMIO_HOLE_START, 1));
    guest_memory_destroy(&memory);
}

static void test_create_above_the_hole(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error = { 0 };
    assert_int_equal(guest_memory_create(&memory, 4 * GIB, &error), 0);
    assert_int_equal(memory.region_count, 2);
    assert_int_equal(memory.regions[0].gpa, 0);
    assert_int_equal(memory.regions[0].size, GUEST_MMIO_HOLE_START);
    assert_int_equal(memory.regions[1].gpa, GUEST_HIGH_RAM_START);
    assert_int_equal(memory.regions[1].size, 4 * GIB - GUEST_MMIO_HOLE_START);
    assert_int_equal(guest_memory_total_size(&memory), 4 * GIB);
    /* The MMIO hole [3 GiB, 4 GiB) is not RAM; both sides of it are. */
    assert_non_null(gpa_to_hva(&memory, GUEST_MMIO_HOLE_START - 1, 1));
    assert_null(gpa_to_hva(&memory, GUEST_MMIO_HOLE_START, 1));
    assert_null(gpa_to_hva(&memory, 0xFEE00000ull, 4)); /* the LAPIC page */
    assert_null(gpa_to_hva(&memory, GUEST_MMIO_HOLE_START - 8, 16));
    assert_non_null(gpa_to_hva(&memory, GUEST_HIGH_RAM_START, 1));
    assert_non_null(gpa_to_hva(&memory, 5 * GIB - 1, 1));
    assert_null(gpa_to_hva(&memory, 5 * GIB, 1));
    /* Data written above 4 GiB reads back. */
    uint64_t value = 0x1122334455667788ull, back = 0;
    assert_int_equal(guest_memory_write(&memory, GUEST_HIGH_RAM_START + 0x10, &value, sizeof(value)), 0);
    assert_int_equal(guest_memory_read(&memory, GUEST_HIGH_RAM_START + 0x10, &back, sizeof(back)), 0);
    assert_int_equal(back, value);
    guest_memory_destroy(&memory);
}

static void test_create_rejects_bad_sizes(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error = { 0 };
    assert_int_equal(guest_memory_create(&memory, 0, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "--memory"));
    error = (struct error){ 0 };
    assert_int_equal(guest_memory_create(&memory, 4 * KIB + 1, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "4 KiB"));
    /* A size whose high part would end past 2^64. */
    error = (struct error){ 0 };
    assert_int_equal(guest_memory_create(&memory, UINT64_MAX & ~0xfffull, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_int_equal(memory.region_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranges_inside_a_region, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_ranges_in_or_across_the_hole_fail, two_regions_setup,
                                        two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_wrapping_ranges_fail, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_ranges, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_read_and_write_helpers, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_advise_huge_pages_checks_the_range, two_regions_setup,
                                        two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_advise_huge_pages_inside_ram, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_zero_ranges, two_regions_setup, two_regions_teardown),
        cmocka_unit_test_setup_teardown(test_add_region_rejects_bad_regions, two_regions_setup,
                                        two_regions_teardown),
        cmocka_unit_test(test_region_count_is_bounded),
        cmocka_unit_test(test_create_below_the_hole),
        cmocka_unit_test(test_create_above_the_hole),
        cmocka_unit_test(test_create_rejects_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
