#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot_image.h"
#include "boot/elf_pvh.h"
#include "boot/pvh_start_info.h"
#include "unit/boot_fixture.h"
#include "unit/boot_test_images.h"

#define MiB (1ull << 20)

static int setup(void **state)
{
    size_t size;
    uint8_t *image = test_elf_create(&size, 8);
    return boot_fixture_setup(state, 64 * MiB, image, size);
}

static int load(struct boot_fixture *fixture, const struct boot_image *initrd, const char *cmdline)
{
    return boot_fixture_load(fixture, "vmlinux.test", initrd, cmdline, 2);
}

static void expect_parse_error(struct boot_fixture *fixture, const char *needle)
{
    struct elf_pvh_info info;
    assert_int_equal(elf_pvh_parse(fixture->image, fixture->size, &info, &fixture->error), -1);
    assert_usage_error(&fixture->error, needle);
    assert_int_equal(load(fixture, NULL, NULL), -1);
    assert_usage_error(&fixture->error, "kernel vmlinux.test: ");
    assert_usage_error(&fixture->error, needle);
}

static void test_parse_valid(void **state)
{
    struct boot_fixture *fixture = *state;
    struct elf_pvh_info info;
    assert_true(elf_detect(fixture->image, fixture->size));
    assert_int_equal(elf_pvh_parse(fixture->image, fixture->size, &info, &fixture->error), 0);
    assert_int_equal(info.entry, TEST_ELF_ENTRY);
    assert_int_equal(info.segment_count, 1);
    assert_int_equal(info.segments[0].paddr, TEST_ELF_SEGMENT_PADDR);
    assert_int_equal(info.segments[0].file_size, TEST_ELF_SEGMENT_FILESZ);
    assert_int_equal(info.segments[0].mem_size, TEST_ELF_SEGMENT_MEMSZ);
    assert_int_equal(info.end_paddr, TEST_ELF_SEGMENT_PADDR + TEST_ELF_SEGMENT_MEMSZ);
}

static void test_parse_four_byte_entry_note(void **state)
{
    struct boot_fixture *fixture = *state;
    free(fixture->image);
    fixture->image = test_elf_create(&fixture->size, 4);
    struct elf_pvh_info info;
    assert_int_equal(elf_pvh_parse(fixture->image, fixture->size, &info, &fixture->error), 0);
    assert_int_equal(info.entry, TEST_ELF_ENTRY);
}

static void test_load_segments_and_start_info(void **state)
{
    struct boot_fixture *fixture = *state;
    /* Dirty the bss range first: the loader must zero it. */
    uint8_t *segment = gpa_to_hva(&fixture->memory, TEST_ELF_SEGMENT_PADDR, TEST_ELF_SEGMENT_MEMSZ);
    memset(segment, 0xaa, TEST_ELF_SEGMENT_MEMSZ);

    uint8_t initrd_bytes[5000];
    memset(initrd_bytes, 0x3c, sizeof(initrd_bytes));
    struct boot_image initrd = { .data = initrd_bytes, .size = sizeof(initrd_bytes), .name = "initrd.test" };
    assert_int_equal(load(fixture, &initrd, "console=hvc0"), 0);

    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_PVH_32BIT);
    assert_int_equal(fixture->entry.entry_gpa, TEST_ELF_ENTRY);
    assert_int_equal(fixture->entry.boot_info_gpa, LAYOUT_PVH_START_INFO_GPA);

    assert_memory_equal(segment, fixture->image + TEST_ELF_SEGMENT_OFFSET, TEST_ELF_SEGMENT_FILESZ);
    for (size_t i = TEST_ELF_SEGMENT_FILESZ; i < TEST_ELF_SEGMENT_MEMSZ; i++)
        assert_int_equal(segment[i], 0);

    struct hvm_start_info start_info;
    assert_int_equal(guest_memory_read(&fixture->memory, LAYOUT_PVH_START_INFO_GPA, &start_info, sizeof(start_info)),
                     0);
    assert_int_equal(start_info.magic, 0x336ec578);
    assert_int_equal(start_info.version, 1);
    assert_int_equal(start_info.cmdline_paddr, LAYOUT_CMDLINE_GPA);
    assert_string_equal((const char *)gpa_to_hva(&fixture->memory, LAYOUT_CMDLINE_GPA, 13), "console=hvc0");
    assert_int_equal(start_info.rsdp_paddr, LAYOUT_ACPI_START);
    assert_memory_equal(gpa_to_hva(&fixture->memory, start_info.rsdp_paddr, 8), "RSD PTR ", 8);
    assert_int_equal(start_info.memmap_paddr, LAYOUT_PVH_MEMMAP_GPA);
    assert_int_equal(start_info.memmap_entries, 4); /* with the reserved PCI ECAM */
    assert_int_equal(start_info.reserved, 0);

    struct hvm_memmap_table_entry memmap[3];
    assert_int_equal(guest_memory_read(&fixture->memory, start_info.memmap_paddr, memmap, sizeof(memmap)), 0);
    assert_int_equal(memmap[0].addr, 0);
    assert_int_equal(memmap[0].size, LAYOUT_EBDA_START);
    assert_int_equal(memmap[0].type, E820_TYPE_RAM);
    assert_int_equal(memmap[1].type, E820_TYPE_RESERVED);
    assert_int_equal(memmap[2].addr, 0x100000);
    assert_int_equal(memmap[2].size, 64 * MiB - 0x100000);
    assert_int_equal(memmap[2].type, E820_TYPE_RAM);

    assert_int_equal(start_info.nr_modules, 1);
    struct hvm_modlist_entry module;
    assert_int_equal(guest_memory_read(&fixture->memory, start_info.modlist_paddr, &module, sizeof(module)), 0);
    assert_int_equal(module.size, sizeof(initrd_bytes));
    assert_int_equal(module.paddr & 0xfff, 0);
    assert_true(module.paddr >= TEST_ELF_SEGMENT_PADDR + TEST_ELF_SEGMENT_MEMSZ);
    assert_true(module.paddr + module.size <= 64 * MiB);
    assert_true(module.paddr + module.size > 64 * MiB - 0x1000);
    assert_memory_equal(gpa_to_hva(&fixture->memory, module.paddr, module.size), initrd_bytes, sizeof(initrd_bytes));
}

static void test_load_without_initrd_has_no_module(void **state)
{
    struct boot_fixture *fixture = *state;
    assert_int_equal(load(fixture, NULL, NULL), 0);
    struct hvm_start_info start_info;
    assert_int_equal(guest_memory_read(&fixture->memory, LAYOUT_PVH_START_INFO_GPA, &start_info, sizeof(start_info)),
                     0);
    assert_int_equal(start_info.nr_modules, 0);
    assert_int_equal(start_info.modlist_paddr, 0);
}

static void test_other_architecture(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_header(fixture->image)->e_machine = EM_AARCH64;
    expect_parse_error(fixture, "an ELF for machine 183, not x86-64");
}

static void test_elf32(void **state)
{
    struct boot_fixture *fixture = *state;
    fixture->image[EI_CLASS] = ELFCLASS32;
    expect_parse_error(fixture, "a 32-bit ELF");
}

static void test_big_endian(void **state)
{
    struct boot_fixture *fixture = *state;
    fixture->image[EI_DATA] = ELFDATA2MSB;
    expect_parse_error(fixture, "big-endian");
}

static void test_not_executable(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_header(fixture->image)->e_type = ET_REL;
    expect_parse_error(fixture, "not an executable");
}

static void test_no_pvh_note(void **state)
{
    struct boot_fixture *fixture = *state;
    free(fixture->image);
    fixture->image = test_elf_create(&fixture->size, 0);
    expect_parse_error(fixture, "no Xen PVH entry note");
}

static void test_program_headers_outside_file(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_header(fixture->image)->e_phoff = fixture->size - 60;
    expect_parse_error(fixture, "program headers (2 at offset");
    test_elf_header(fixture->image)->e_phoff = UINT64_MAX - 8;
    expect_parse_error(fixture, "lie outside the file");
}

static void test_too_many_program_headers(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_header(fixture->image)->e_phnum = 1000;
    expect_parse_error(fixture, "1000 program headers");
}

static void test_wrong_program_header_size(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_header(fixture->image)->e_phentsize = 32;
    expect_parse_error(fixture, "program header size is 32");
}

static void test_segment_outside_file(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_filesz = TEST_ELF_SEGMENT_FILESZ + 1;
    expect_parse_error(fixture, "ELF segment 1 (0x1001 bytes at offset 0x1000) lies outside the file");
    test_elf_program(fixture->image, 1)->p_filesz = 0x10;
    test_elf_program(fixture->image, 1)->p_offset = UINT64_MAX - 4;
    expect_parse_error(fixture, "lies outside the file");
}

static void test_segment_filesz_above_memsz(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_memsz = 0x10;
    expect_parse_error(fixture, "more file bytes");
}

static void test_segment_wraps(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_paddr = UINT64_MAX - 0x100;
    expect_parse_error(fixture, "wraps the address space");
}

static void test_segment_in_boot_area(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_paddr = 0x8000;
    expect_parse_error(fixture, "overlaps the boot area below 1 MiB");
}

static void test_segment_outside_ram(void **state)
{
    struct boot_fixture *fixture = *state;
    /* Parses fine (the file is consistent) but 1 GiB is past the 64 MiB of RAM. */
    test_elf_program(fixture->image, 1)->p_paddr = 1ull << 30;
    uint64_t entry = (1ull << 30) + 0x40;
    memcpy(fixture->image + TEST_ELF_NOTE_OFFSET + 12 + 4 + 20 + 12 + 4, &entry, 8);
    struct elf_pvh_info info;
    assert_int_equal(elf_pvh_parse(fixture->image, fixture->size, &info, &fixture->error), 0);
    assert_int_equal(load(fixture, NULL, NULL), -1);
    assert_int_equal(fixture->error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(fixture->error.message, "kernel vmlinux.test segment at 0x40000000-0x40003000 lies "
                                                   "outside guest RAM (64 MiB)"));
}

static void test_segment_straddles_end_of_ram(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_paddr = 64 * MiB - 0x1000;
    uint64_t entry = 64 * MiB - 0x1000 + 0x40;
    memcpy(fixture->image + TEST_ELF_NOTE_OFFSET + 12 + 4 + 20 + 12 + 4, &entry, 8);
    assert_int_equal(load(fixture, NULL, NULL), -1);
    assert_int_equal(fixture->error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(fixture->error.message, "outside guest RAM"));
}

static void test_entry_outside_segments(void **state)
{
    struct boot_fixture *fixture = *state;
    uint64_t entry = 0x2000000;
    memcpy(fixture->image + TEST_ELF_NOTE_OFFSET + 12 + 4 + 20 + 12 + 4, &entry, 8);
    expect_parse_error(fixture, "PVH entry point 0x2000000 is not inside a loaded segment");
}

static void test_entry_above_4g(void **state)
{
    struct boot_fixture *fixture = *state;
    uint64_t entry = 0x100000040ull;
    memcpy(fixture->image + TEST_ELF_NOTE_OFFSET + 12 + 4 + 20 + 12 + 4, &entry, 8);
    expect_parse_error(fixture, "not a 32-bit address");
}

static void test_note_runs_past_segment(void **state)
{
    struct boot_fixture *fixture = *state;
    /* First note's name claims 0xfffffff0 bytes: the 4-byte rounding must not wrap. */
    Elf64_Nhdr *note = (Elf64_Nhdr *)(fixture->image + TEST_ELF_NOTE_OFFSET);
    note->n_namesz = 0xfffffffd;
    expect_parse_error(fixture, "runs past its PT_NOTE segment");
    note->n_namesz = 4;
    note->n_descsz = 0xffffffff;
    expect_parse_error(fixture, "note data (4294967295 bytes) runs past");
}

static void test_note_segment_outside_file(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 0)->p_offset = fixture->size;
    expect_parse_error(fixture, "ELF note segment 0");
}

static void test_bad_entry_note_size(void **state)
{
    struct boot_fixture *fixture = *state;
    free(fixture->image);
    fixture->image = test_elf_create(&fixture->size, 6);
    expect_parse_error(fixture, "has 6 bytes of data, not 4 or 8");
}

static void test_no_loadable_segment(void **state)
{
    struct boot_fixture *fixture = *state;
    test_elf_program(fixture->image, 1)->p_type = PT_NULL;
    expect_parse_error(fixture, "no loadable segment");
}

static void test_truncated_header(void **state)
{
    struct boot_fixture *fixture = *state;
    fixture->size = 40;
    expect_parse_error(fixture, "too short for its header");
}

static void test_initrd_does_not_fit(void **state)
{
    struct boot_fixture *fixture = *state;
    size_t size = 48 * MiB; /* RAM above the kernel's end (16 MiB + 12 KiB) is just under 48 MiB */
    uint8_t *initrd_bytes = calloc(1, size);
    struct boot_image initrd = { .data = initrd_bytes, .size = size, .name = "big.cpio" };
    assert_int_equal(load(fixture, &initrd, NULL), -1);
    assert_int_equal(fixture->error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(fixture->error.message, "initrd big.cpio (50331648 bytes) does not fit"));
    free(initrd_bytes);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, boot_fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_parse_valid),
        TEST(test_parse_four_byte_entry_note),
        TEST(test_load_segments_and_start_info),
        TEST(test_load_without_initrd_has_no_module),
        TEST(test_other_architecture),
        TEST(test_elf32),
        TEST(test_big_endian),
        TEST(test_not_executable),
        TEST(test_no_pvh_note),
        TEST(test_program_headers_outside_file),
        TEST(test_too_many_program_headers),
        TEST(test_wrong_program_header_size),
        TEST(test_segment_outside_file),
        TEST(test_segment_filesz_above_memsz),
        TEST(test_segment_wraps),
        TEST(test_segment_in_boot_area),
        TEST(test_segment_outside_ram),
        TEST(test_segment_straddles_end_of_ram),
        TEST(test_entry_outside_segments),
        TEST(test_entry_above_4g),
        TEST(test_note_runs_past_segment),
        TEST(test_note_segment_outside_file),
        TEST(test_bad_entry_note_size),
        TEST(test_no_loadable_segment),
        TEST(test_truncated_header),
        TEST(test_initrd_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
