#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void expect_entry(const struct e820_map *map, unsigned index, uint64_t addr, uint64_t size, uint32_t type)
{
    assert_true(index < map->count);
    assert_int_equal(map->entries[index].addr, addr);
    assert_int_equal(map->entries[index].size, size);
    assert_int_equal(map->entries[index].type, type);
}

static void test_low_memory_only(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error;
    assert_int_equal(guest_memory_create(&memory, 256 * MiB, &error), 0);
    struct e820_map map;
    assert_int_equal(e820_build(&memory, &map, &error), 0);
    assert_int_equal(map.count, 4);
    expect_entry(&map, 0, 0, LAYOUT_EBDA_START, E820_TYPE_RAM);
    /* The reserved range covers the ACPI tables. */
    expect_entry(&map, 1, LAYOUT_EBDA_START, 0x100000 - LAYOUT_EBDA_START, E820_TYPE_RESERVED);
    assert_true(LAYOUT_ACPI_START >= LAYOUT_EBDA_START && LAYOUT_ACPI_END <= 0x100000);
    expect_entry(&map, 2, 0x100000, 256 * MiB - 0x100000, E820_TYPE_RAM);
    /* Linux uses the MCFG area only when the map reserves it. */
    expect_entry(&map, 3, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
    assert_int_equal(e820_low_ram_end(&memory), 256 * MiB);
    assert_int_equal(e820_ram_end(&memory), 256 * MiB);
    guest_memory_destroy(&memory);
}

static void test_memory_above_4g(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error;
    /* 3 GiB below the hole, 1 GiB above 4 GiB (mapped lazily, never touched). */
    assert_int_equal(guest_memory_create(&memory, 4 * GiB, &error), 0);
    struct e820_map map;
    assert_int_equal(e820_build(&memory, &map, &error), 0);
    assert_int_equal(map.count, 5);
    expect_entry(&map, 2, 0x100000, GUEST_MMIO_HOLE_START - 0x100000, E820_TYPE_RAM);
    expect_entry(&map, 3, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
    expect_entry(&map, 4, GUEST_HIGH_RAM_START, 1 * GiB, E820_TYPE_RAM);
    assert_int_equal(e820_ram_end(&memory), GUEST_HIGH_RAM_START + 1 * GiB);
    /* The PCI windows stay out of RAM: the 32-bit one is the hole, the 64-bit one follows the last byte. */
    assert_int_equal(LAYOUT_PCI_MMIO32_START, GUEST_MMIO_HOLE_START);
    assert_true(layout_pci_mmio64_start(e820_ram_end(&memory)) >= e820_ram_end(&memory));
    assert_int_equal(e820_low_ram_end(&memory), GUEST_MMIO_HOLE_START);
    guest_memory_destroy(&memory);
}

static void test_regions_sorted(void **state)
{
    (void)state;
    struct guest_memory memory;
    memset(&memory, 0, sizeof(memory));
    struct error error;
    /* Added out of order: the map must still be sorted by address. */
    assert_int_equal(guest_memory_add_region(&memory, 0x200000000ull, 0x1000, &error), 0);
    assert_int_equal(guest_memory_add_region(&memory, 0, 4 * MiB, &error), 0);
    assert_int_equal(guest_memory_add_region(&memory, 0x100000000ull, 0x2000, &error), 0);
    struct e820_map map;
    assert_int_equal(e820_build(&memory, &map, &error), 0);
    assert_int_equal(map.count, 6);
    expect_entry(&map, 2, 0x100000, 3 * MiB, E820_TYPE_RAM);
    expect_entry(&map, 3, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
    expect_entry(&map, 4, 0x100000000ull, 0x2000, E820_TYPE_RAM);
    expect_entry(&map, 5, 0x200000000ull, 0x1000, E820_TYPE_RAM);
    for (unsigned i = 1; i < map.count; i++)
        assert_true(map.entries[i].addr >= map.entries[i - 1].addr + map.entries[i - 1].size);
    guest_memory_destroy(&memory);
}

static void test_too_little_low_memory(void **state)
{
    (void)state;
    struct guest_memory memory;
    struct error error;
    assert_int_equal(guest_memory_create(&memory, 1 * MiB, &error), 0);
    struct e820_map map;
    assert_int_equal(e820_build(&memory, &map, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "above 1 MiB"));
    guest_memory_destroy(&memory);

    /* No region at 0 at all. */
    memset(&memory, 0, sizeof(memory));
    assert_int_equal(guest_memory_add_region(&memory, 0x100000000ull, 16 * MiB, &error), 0);
    assert_int_equal(e820_build(&memory, &map, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_int_equal(e820_low_ram_end(&memory), 0);
    guest_memory_destroy(&memory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_memory_only),
        cmocka_unit_test(test_memory_above_4g),
        cmocka_unit_test(test_regions_sorted),
        cmocka_unit_test(test_too_little_low_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
