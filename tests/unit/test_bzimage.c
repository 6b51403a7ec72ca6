#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <asm/bootparam.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot_image.h"
#include "boot/bzimage.h"
#include "unit/boot_fixture.h"
#include "unit/boot_test_images.h"

#define MiB (1ull << 20)

static int setup(void **state)
{
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    return boot_fixture_setup(state, 64 * MiB, image, size);
}

static int setup_small(void **state)
{
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    return boot_fixture_setup(state, 32 * MiB, image, size);
}

static int load(struct boot_fixture *fixture, const struct boot_image *initrd, const char *cmdline)
{
    return boot_fixture_load(fixture, "bzImage.test", initrd, cmdline, 1);
}

static struct boot_params *zero_page(struct boot_fixture *fixture)
{
    return gpa_to_hva(&fixture->memory, LAYOUT_ZERO_PAGE_GPA, sizeof(struct boot_params));
}

/* Parses and expects EXIT_STATUS_USAGE with `needle` in the message. */
static void expect_parse_error(struct boot_fixture *fixture, const char *needle)
{
    struct bzimage_info info;
    assert_int_equal(bzimage_parse(fixture->image, fixture->size, &info, &fixture->error), -1);
    assert_usage_error(&fixture->error, needle);
    /* The whole load path fails the same way, naming the file. */
    assert_int_equal(load(fixture, NULL, NULL), -1);
    assert_usage_error(&fixture->error, "bzImage.test");
    assert_usage_error(&fixture->error, needle);
}

static void expect_load_error(struct boot_fixture *fixture, const struct boot_image *initrd, const char *cmdline,
                              const char *needle)
{
    assert_int_equal(load(fixture, initrd, cmdline), -1);
    assert_usage_error(&fixture->error, needle);
}

static void test_parse_valid_header(void **state)
{
    struct boot_fixture *fixture = *state;
    struct bzimage_info info;
    assert_true(bzimage_detect(fixture->image, fixture->size));
    assert_int_equal(bzimage_parse(fixture->image, fixture->size, &info, &fixture->error), 0);
    assert_int_equal(info.protocol_version, 0x020f);
    assert_int_equal(info.setup_size, TEST_BZIMAGE_SETUP_SIZE);
    assert_int_equal(info.kernel_offset, TEST_BZIMAGE_SETUP_SIZE);
    assert_int_equal(info.kernel_size, TEST_BZIMAGE_KERNEL_SIZE);
    assert_int_equal(info.pref_address, TEST_BZIMAGE_PREF_ADDRESS);
    assert_int_equal(info.memory_needed, TEST_BZIMAGE_INIT_SIZE);
    assert_int_equal(info.cmdline_size, TEST_BZIMAGE_CMDLINE_SIZE);
    assert_int_equal(info.initrd_addr_max, 0x7fffffff);
    assert_true(info.relocatable);
    /* Header runs from 0x1f1 to 0x202 + 0x6a. */
    assert_int_equal(info.header_length, 0x202 + 0x6a - 0x1f1);
}

static void test_setup_sects_zero_means_four(void **state)
{
    struct boot_fixture *fixture = *state;
    struct bzimage_info info;
    test_bzimage_header(fixture->image)->setup_sects = 0;
    test_bzimage_header(fixture->image)->syssize = (uint32_t)((fixture->size - 5 * 512) / 16);
    assert_int_equal(bzimage_parse(fixture->image, fixture->size, &info, &fixture->error), 0);
    assert_int_equal(info.setup_size, 5 * 512);
}

static void test_load_fills_zero_page(void **state)
{
    struct boot_fixture *fixture = *state;
    assert_int_equal(load(fixture, NULL, "console=ttyS0 quiet"), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(fixture->entry.entry_gpa, TEST_BZIMAGE_PREF_ADDRESS + 0x200);
    assert_int_equal(fixture->entry.boot_info_gpa, LAYOUT_ZERO_PAGE_GPA);

    struct boot_params *params = zero_page(fixture);
    assert_int_equal(params->hdr.boot_flag, 0xaa55);
    assert_memory_equal(&params->hdr.header, "HdrS", 4);
    assert_int_equal(params->hdr.version, 0x020f);
    assert_int_equal(params->hdr.type_of_loader, 0xff);
    assert_int_equal(params->hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP), LOADED_HIGH | CAN_USE_HEAP);
    assert_int_not_equal(params->hdr.heap_end_ptr, 0);
    assert_int_equal(params->hdr.code32_start, TEST_BZIMAGE_PREF_ADDRESS);
    assert_int_equal(params->hdr.cmd_line_ptr, LAYOUT_CMDLINE_GPA);
    assert_int_equal(params->ext_cmd_line_ptr, 0);
    assert_int_equal(params->hdr.ramdisk_image, 0);
    assert_int_equal(params->hdr.ramdisk_size, 0);
    assert_int_equal(params->acpi_rsdp_addr, LAYOUT_ACPI_START);
    assert_int_equal(params->hdr.cmdline_size, TEST_BZIMAGE_CMDLINE_SIZE);
    /* Nothing past the setup header comes from the file. */
    assert_int_equal(params->sentinel, 0);

    const char *cmdline = gpa_to_hva(&fixture->memory, LAYOUT_CMDLINE_GPA, 64);
    assert_string_equal(cmdline, "console=ttyS0 quiet");

    assert_int_equal(params->e820_entries, 4); /* low RAM split, high low RAM, the PCI ECAM */
    assert_int_equal(params->e820_table[0].addr, 0);
    assert_int_equal(params->e820_table[0].size, LAYOUT_EBDA_START);
    assert_int_equal(params->e820_table[0].type, E820_TYPE_RAM);
    assert_int_equal(params->e820_table[1].addr, LAYOUT_EBDA_START);
    assert_int_equal(params->e820_table[1].type, E820_TYPE_RESERVED);
    assert_int_equal(params->e820_table[2].addr, 0x100000);
    assert_int_equal(params->e820_table[2].size, 64 * MiB - 0x100000);
    assert_int_equal(params->e820_table[2].type, E820_TYPE_RAM);

    /* The protected-mode code is at the load address, byte for byte. */
    const uint8_t *loaded = gpa_to_hva(&fixture->memory, TEST_BZIMAGE_PREF_ADDRESS, TEST_BZIMAGE_KERNEL_SIZE);
    assert_memory_equal(loaded, fixture->image + TEST_BZIMAGE_SETUP_SIZE, TEST_BZIMAGE_KERNEL_SIZE);
}

static void test_load_places_initrd_at_top_of_low_ram(void **state)
{
    struct boot_fixture *fixture = *state;
    uint8_t initrd_bytes[10000];
    for (size_t i = 0; i < sizeof(initrd_bytes); i++)
        initrd_bytes[i] = (uint8_t)(i * 13);
    struct boot_image initrd = { .data = initrd_bytes, .size = sizeof(initrd_bytes), .name = "initrd.test" };
    assert_int_equal(load(fixture, &initrd, NULL), 0);

    struct boot_params *params = zero_page(fixture);
    uint64_t gpa = params->hdr.ramdisk_image | ((uint64_t)params->ext_ramdisk_image << 32);
    assert_int_equal(params->hdr.ramdisk_size, sizeof(initrd_bytes));
    assert_int_equal(gpa & 0xfff, 0);
    assert_true(gpa + sizeof(initrd_bytes) <= 64 * MiB);
    assert_true(gpa + sizeof(initrd_bytes) > 64 * MiB - 0x1000);
    assert_true(gpa >= TEST_BZIMAGE_PREF_ADDRESS + TEST_BZIMAGE_INIT_SIZE);
    assert_memory_equal(gpa_to_hva(&fixture->memory, gpa, sizeof(initrd_bytes)), initrd_bytes, sizeof(initrd_bytes));
    const char *cmdline = gpa_to_hva(&fixture->memory, LAYOUT_CMDLINE_GPA, 1);
    assert_string_equal(cmdline, "");
}

static void test_initrd_respects_initrd_addr_max(void **state)
{
    struct boot_fixture *fixture = *state;
    /* The kernel occupies 16..20 MiB; allow the initrd only up to 24 MiB. */
    test_bzimage_header(fixture->image)->initrd_addr_max = 24 * MiB - 1;
    uint8_t initrd_bytes[4096] = { 7 };
    struct boot_image initrd = { .data = initrd_bytes, .size = sizeof(initrd_bytes), .name = "initrd.test" };
    assert_int_equal(load(fixture, &initrd, NULL), 0);
    assert_int_equal(zero_page(fixture)->hdr.ramdisk_image, 24 * MiB - 4096);
}

static void test_initrd_too_big_for_initrd_addr_max(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->initrd_addr_max = 22 * MiB - 1;
    size_t size = 3 * MiB;
    uint8_t *initrd_bytes = calloc(1, size);
    struct boot_image initrd = { .data = initrd_bytes, .size = size, .name = "big-initrd.img" };
    expect_load_error(fixture, &initrd, NULL, "initrd big-initrd.img (3145728 bytes) does not fit");
    assert_non_null(strstr(fixture->error.message, "initrd_addr_max 0x15fffff"));
    assert_non_null(strstr(fixture->error.message, "64 MiB"));
    free(initrd_bytes);
}

static void test_initrd_too_big_for_memory(void **state)
{
    struct boot_fixture *fixture = *state;
    size_t size = 48 * MiB; /* the kernel needs 16..20 MiB, so 44 MiB is the most that fits */
    uint8_t *initrd_bytes = calloc(1, size);
    struct boot_image initrd = { .data = initrd_bytes, .size = size, .name = "huge.img" };
    expect_load_error(fixture, &initrd, NULL, "initrd huge.img");
    assert_non_null(strstr(fixture->error.message, "does not fit"));
    free(initrd_bytes);
}

static void test_cmdline_longer_than_cmdline_size(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->cmdline_size = 16;
    expect_load_error(fixture, NULL, "0123456789abcdefX", "command line is 17 bytes, longer than the 16 bytes");
    /* Exactly cmdline_size is fine. */
    assert_int_equal(load(fixture, NULL, "0123456789abcdef"), 0);
}

static void test_cmdline_longer_than_layout_limit(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->cmdline_size = 0xffffffff;
    size_t length = LAYOUT_CMDLINE_MAX + 5;
    char *cmdline = malloc(length + 1);
    memset(cmdline, 'a', length);
    cmdline[length] = 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "command line is %zu bytes", length);
    expect_load_error(fixture, NULL, cmdline, needle);
    free(cmdline);
}

static void test_truncated_setup(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->setup_sects = 40;
    expect_parse_error(fixture, "truncated: the header claims 40 setup sectors");
}

static void test_truncated_kernel_code(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->syssize = TEST_BZIMAGE_KERNEL_SIZE / 16 + 1;
    expect_parse_error(fixture, "truncated: the header claims 8208 bytes of protected-mode code");
}

static void test_file_cut_short(void **state)
{
    struct boot_fixture *fixture = *state;
    fixture->size = TEST_BZIMAGE_SETUP_SIZE + 100;
    expect_parse_error(fixture, "truncated");
    fixture->size = 0x240;
    expect_parse_error(fixture, "too short for a bzImage setup header");
}

static void test_protocol_too_old(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->version = 0x020b;
    expect_parse_error(fixture, "boot protocol 2.11 is too old");
}

static void test_no_64bit_entry(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
    expect_parse_error(fixture, "no 64-bit entry point");
}

static void test_bad_boot_flag(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->boot_flag = 0x1234;
    expect_parse_error(fixture, "boot flag is 0x1234");
}

static void test_zimage_rejected(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->loadflags = 0;
    expect_parse_error(fixture, "zImage");
}

static void test_short_header_length(void **state)
{
    struct boot_fixture *fixture = *state;
    fixture->image[0x201] = 0x20; /* header would end at 0x222, before init_size */
    expect_parse_error(fixture, "setup header ends at 0x222");
}

static void test_bad_kernel_alignment(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->kernel_alignment = 0x300000;
    expect_parse_error(fixture, "invalid kernel_alignment 0x300000");
}

static void test_zero_syssize(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->syssize = 0;
    expect_parse_error(fixture, "syssize 0");
}

static void test_kernel_does_not_fit_memory(void **state)
{
    struct boot_fixture *fixture = *state; /* 32 MiB of RAM */
    /*
     * 16 MiB + 20 MiB is past the end. Loading the relocatable kernel lower
     * would not help (its decompressor moves back up to pref_address), so
     * this is an error, not a fallback.
     */
    test_bzimage_header(fixture->image)->init_size = 20 * MiB;
    expect_load_error(fixture, NULL, NULL, "kernel bzImage.test needs 0x1400000 bytes of RAM at 0x1000000");
    assert_non_null(strstr(fixture->error.message, "(32 MiB)"));
}

static void test_pref_address_in_boot_area(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->pref_address = 0x10000;
    expect_load_error(fixture, NULL, NULL, "wants to load at 0x10000 (pref_address), inside the boot area");
}

static void test_misaligned_pref_address_reserves_aligned_range(void **state)
{
    struct boot_fixture *fixture = *state;
    /* The kernel would align itself up to 18 MiB and use init_size from there: the initrd must stay above. */
    test_bzimage_header(fixture->image)->pref_address = 16 * MiB + 4096;
    test_bzimage_header(fixture->image)->initrd_addr_max = 24 * MiB - 1;
    /* Would fit above 16 MiB + 4 KiB + init_size (20 MiB + 4 KiB), but not above 22 MiB. */
    size_t size = 2 * MiB + 4096;
    uint8_t *initrd_bytes = calloc(1, size);
    struct boot_image initrd = { .data = initrd_bytes, .size = size, .name = "initrd.test" };
    expect_load_error(fixture, &initrd, NULL, "does not fit between the kernel (ending at 0x1600000)");
    initrd.size = 2 * MiB;
    assert_int_equal(load(fixture, &initrd, NULL), 0);
    assert_int_equal(zero_page(fixture)->hdr.ramdisk_image, 22 * MiB);
    free(initrd_bytes);
}

static void test_fixed_kernel_too_big_for_memory(void **state)
{
    struct boot_fixture *fixture = *state; /* 32 MiB of RAM */
    test_bzimage_header(fixture->image)->init_size = 20 * MiB;
    test_bzimage_header(fixture->image)->relocatable_kernel = 0;
    expect_load_error(fixture, NULL, NULL, "needs 0x1400000 bytes of RAM at 0x1000000");
    test_bzimage_header(fixture->image)->relocatable_kernel = 1;
    test_bzimage_header(fixture->image)->init_size = 40 * MiB;
    expect_load_error(fixture, NULL, NULL, "needs 0x2800000 bytes of RAM");
}

static void test_file_cannot_set_platform_fields(void **state)
{
    struct boot_fixture *fixture = *state;
    struct setup_header *header = test_bzimage_header(fixture->image);
    header->setup_data = 0x12345678;
    header->hardware_subarch = 2; /* Xen */
    header->hardware_subarch_data = 0x999;
    header->ramdisk_image = 0x4000000;
    header->ramdisk_size = 0x1000;
    header->type_of_loader = 0x21;
    assert_int_equal(load(fixture, NULL, NULL), 0);
    struct boot_params *params = zero_page(fixture);
    assert_int_equal(params->hdr.setup_data, 0);
    assert_int_equal(params->hdr.hardware_subarch, 0);
    assert_int_equal(params->hdr.hardware_subarch_data, 0);
    assert_int_equal(params->hdr.ramdisk_image, 0);
    assert_int_equal(params->hdr.ramdisk_size, 0);
    assert_int_equal(params->hdr.type_of_loader, 0xff);
}

static void test_old_protocol_gets_no_rsdp_pointer(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->version = 0x020c;
    assert_int_equal(load(fixture, NULL, NULL), 0);
    assert_int_equal(zero_page(fixture)->acpi_rsdp_addr, 0);
}

static void test_no_initrd_allowed(void **state)
{
    struct boot_fixture *fixture = *state;
    test_bzimage_header(fixture->image)->initrd_addr_max = 0;
    uint8_t initrd_bytes[16] = { 0 };
    struct boot_image initrd = { .data = initrd_bytes, .size = sizeof(initrd_bytes), .name = "i" };
    expect_load_error(fixture, &initrd, NULL, "cannot take an initrd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_valid_header, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_setup_sects_zero_means_four, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_fills_zero_page, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_places_initrd_at_top_of_low_ram, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_initrd_respects_initrd_addr_max, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_initrd_too_big_for_initrd_addr_max, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_initrd_too_big_for_memory, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cmdline_longer_than_cmdline_size, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cmdline_longer_than_layout_limit, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_setup, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_kernel_code, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_file_cut_short, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_protocol_too_old, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_64bit_entry, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_boot_flag, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_zimage_rejected, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_short_header_length, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_kernel_alignment, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_zero_syssize, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_does_not_fit_memory, setup_small, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pref_address_in_boot_area, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_misaligned_pref_address_reserves_aligned_range, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fixed_kernel_too_big_for_memory, setup_small, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_file_cannot_set_platform_fields, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_old_protocol_gets_no_rsdp_pointer, setup, boot_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_initrd_allowed, setup, boot_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
