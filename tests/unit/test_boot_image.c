/*
 * Boot files read straight into guest RAM: a streamed bzImage and initrd load
 * the same bytes as in-memory ones, boot_image_place refuses ranges outside
 * the file or RAM and a file that shrank, kernel_file_open keeps only the
 * head; guest RAM is mapped on 2 MiB boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <asm/bootparam.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "boot/boot_image.h"
#include "boot/kernel_file.h"
#include "unit/boot_fixture.h"
#include "unit/boot_test_images.h"

#define MiB (1ull << 20)

/* One guest and one scratch directory for the whole group: each test writes its own file names. */
struct fixture {
    struct guest_memory memory;
    char directory[64];
    char path[160];
};

static int group_setup(void **state)
{
    static struct fixture fixture;
    snprintf(fixture.directory, sizeof(fixture.directory), "/tmp/kestrel-image-XXXXXX");
    *state = &fixture;
    return boot_scratch_setup(&fixture.memory, 64 * MiB, fixture.directory);
}

static int group_teardown(void **state)
{
    struct fixture *fixture = *state;
    return boot_scratch_teardown(&fixture->memory, fixture->directory);
}

static const char *write_file(struct fixture *fixture, const char *name, const void *data, size_t size)
{
    snprintf(fixture->path, sizeof(fixture->path), "%s/%s", fixture->directory, name);
    FILE *file = fopen(fixture->path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
    return fixture->path;
}

/* --kernel-entry bzimage streams both files: the guest holds exactly the file's kernel and initrd bytes. */
static void test_streamed_bzimage_and_initrd_load_their_bytes(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    char kernel[160], initrd[160];
    snprintf(kernel, sizeof(kernel), "%s", write_file(fixture, "vmlinuz", image, size));
    enum { INITRD_SIZE = 3 * 4096 + 123 };
    uint8_t *initrd_bytes = malloc(INITRD_SIZE);
    for (size_t i = 0; i < INITRD_SIZE; i++)
        initrd_bytes[i] = (uint8_t)(i * 7 + 3);
    snprintf(initrd, sizeof(initrd), "%s", write_file(fixture, "initrd.img", initrd_bytes, INITRD_SIZE));
    /* Dirty guest RAM first: every byte the guest reads must come from the files. */
    memset(gpa_to_hva(&fixture->memory, 0, 64 * MiB), 0xee, 64 * MiB);
    struct boot_request request = {.kernel_path = kernel, .initrd_path = initrd, .cmdline = "console=ttyS0",
                                   .cpu_count = 1, .kernel_entry = BOOT_KERNEL_ENTRY_BZIMAGE,
                                   .cache_directory = fixture->directory};
    struct boot_entry entry;
    struct error error = {0};
    if (boot_load(&fixture->memory, &request, &entry, &error) < 0)
        fail_msg("%s", error.message);
    assert_memory_equal(gpa_to_hva(&fixture->memory, TEST_BZIMAGE_PREF_ADDRESS, TEST_BZIMAGE_KERNEL_SIZE),
                        image + TEST_BZIMAGE_SETUP_SIZE, TEST_BZIMAGE_KERNEL_SIZE);
    const struct boot_params *params = gpa_to_hva(&fixture->memory, LAYOUT_ZERO_PAGE_GPA, sizeof(*params));
    assert_int_equal(params->hdr.ramdisk_size, INITRD_SIZE);
    assert_memory_equal(gpa_to_hva(&fixture->memory, params->hdr.ramdisk_image, INITRD_SIZE), initrd_bytes,
                        INITRD_SIZE);
    /* The header the kernel reads back came from the file's head. */
    assert_memory_equal(&params->hdr.header, "HdrS", 4);
    assert_int_equal(params->hdr.cmdline_size, TEST_BZIMAGE_CMDLINE_SIZE);
    free(initrd_bytes);
    free(image);
}

/* A streamed image whose file is shorter than its size says (it shrank after the stat): a usage error. */
static void test_place_reports_a_file_that_shrank(void **state)
{
    struct fixture *fixture = *state;
    const uint8_t bytes[100] = {1};
    struct kernel_file file;
    struct error error = {0};
    assert_int_equal(kernel_file_open(write_file(fixture, "short", bytes, sizeof(bytes)), "initrd", 1 * MiB, &file,
                                      &error), 0);
    struct boot_image image = kernel_file_image(&file, "short");
    assert_true(image.streamed);
    image.size = 8192; /* as if the file had been 8 KiB at the stat */
    assert_int_equal(boot_image_place(&fixture->memory, 0x200000, &image, 0, 8192, &error), -1);
    assert_usage_error(&error, "short shrank while being read (100 of 8192 bytes)");
    kernel_file_release(&file);
    assert_int_equal(file.fd, -1);
}

static void test_place_refuses_ranges_outside_the_file_or_ram(void **state)
{
    struct fixture *fixture = *state;
    uint8_t bytes[4096];
    memset(bytes, 0x11, sizeof(bytes));
    struct kernel_file file;
    struct error error = {0};
    assert_int_equal(kernel_file_open(write_file(fixture, "page", bytes, sizeof(bytes)), "initrd", 1 * MiB, &file,
                                      &error), 0);
    struct boot_image image = kernel_file_image(&file, "page");
    assert_int_equal(boot_image_place(&fixture->memory, 0, &image, 1, 4096, &error), -1);
    assert_usage_error(&error, "lie outside the file");
    assert_int_equal(boot_image_place(&fixture->memory, 0, &image, UINT64_MAX, 2, &error), -1);
    assert_usage_error(&error, "lie outside the file");
    assert_int_equal(boot_image_place(&fixture->memory, 64 * MiB - 4095, &image, 0, 4096, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_FAILURE);
    assert_non_null(strstr(error.message, "is not in guest RAM"));
    /* In range: the bytes land, from the file. */
    assert_int_equal(boot_image_place(&fixture->memory, 64 * MiB - 4096, &image, 0, 4096, &error), 0);
    assert_memory_equal(gpa_to_hva(&fixture->memory, 64 * MiB - 4096, 4096), bytes, 4096);
    kernel_file_release(&file);
}

static void test_open_keeps_only_the_head(void **state)
{
    struct fixture *fixture = *state;
    size_t size = 3 * BOOT_IMAGE_HEAD_SIZE;
    uint8_t *bytes = malloc(size);
    for (size_t i = 0; i < size; i++)
        bytes[i] = (uint8_t)(i >> 4);
    struct kernel_file file;
    struct error error = {0};
    assert_int_equal(kernel_file_open(write_file(fixture, "big", bytes, size), "kernel", 1 * MiB, &file, &error), 0);
    assert_int_equal(file.size, size);
    assert_int_equal(file.head_size, BOOT_IMAGE_HEAD_SIZE);
    assert_null(file.data);
    assert_memory_equal(file.head, bytes, BOOT_IMAGE_HEAD_SIZE);
    /* Then the whole of it, for the paths that need it in memory. */
    assert_int_equal(kernel_file_read_all(&file, "big", "kernel", &error), 0);
    assert_memory_equal(file.data, bytes, size);
    assert_false(kernel_file_image(&file, "big").streamed);
    kernel_file_release(&file);

    assert_int_equal(kernel_file_open(write_file(fixture, "tiny", bytes, 10), "kernel", 1 * MiB, &file, &error), 0);
    assert_int_equal(file.head_size, 10);
    assert_int_equal(kernel_file_image(&file, "tiny").head_size, 10);
    kernel_file_release(&file);
    free(bytes);
}

/* Guest RAM starts on a transparent-huge-page boundary, whatever the size. */
static void test_guest_ram_is_2mib_aligned(void **state)
{
    (void)state;
    const uint64_t sizes[] = {4096, 3 * MiB + 4096, 64 * MiB};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct guest_memory memory;
        struct error error;
        assert_int_equal(guest_memory_create(&memory, sizes[i], &error), 0);
        assert_int_equal((uintptr_t)memory.regions[0].host % GUEST_MEMORY_HUGE_PAGE_SIZE, 0);
        /* The whole size is usable (the alignment's padding was trimmed around it, not into it). */
        memset(memory.regions[0].host, 0x5a, sizes[i]);
        guest_memory_destroy(&memory);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_bzimage_and_initrd_load_their_bytes),
        cmocka_unit_test(test_place_reports_a_file_that_shrank),
        cmocka_unit_test(test_place_refuses_ranges_outside_the_file_or_ram),
        cmocka_unit_test(test_open_keeps_only_the_head),
        cmocka_unit_test(test_guest_ram_is_2mib_aligned),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
