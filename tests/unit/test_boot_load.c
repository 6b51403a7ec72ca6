#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <asm/bootparam.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "boot/kernel_file.h"
#include "boot/pvh_start_info.h"
#include "unit/boot_fixture.h"
#include "unit/boot_test_images.h"
#include "util/log.h"

#define MiB (1ull << 20)

struct fixture {
    struct guest_memory memory;
    char directory[64];
    char path[128];
    struct error error;
    struct boot_entry entry;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-boot-XXXXXX");
    *state = fixture;
    return boot_scratch_setup(&fixture->memory, 64 * MiB, fixture->directory);
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    int result = boot_scratch_teardown(&fixture->memory, fixture->directory);
    free(fixture);
    return result;
}

/* Writes `size` bytes to DIRECTORY/name and returns the path (in a per-call static slot). */
static const char *write_file(struct fixture *fixture, const char *name, const void *data, size_t size)
{
    static char paths[4][160];
    static unsigned next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof(paths[0]), "%s/%s", fixture->directory, name);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
    return path;
}

static int boot(struct fixture *fixture, const char *kernel, const char *initrd, const char *cmdline,
                unsigned cpu_count)
{
    struct boot_request request = {
        .kernel_path = kernel,
        .initrd_path = initrd,
        .cmdline = cmdline,
        .cpu_count = cpu_count,
        .cache_directory = fixture->directory, /* never the user's own cache */
    };
    memset(&fixture->error, 0, sizeof(fixture->error));
    return boot_load(&fixture->memory, &request, &fixture->entry, &fixture->error);
}

static void expect_usage(struct fixture *fixture, const char *needle)
{
    assert_usage_error(&fixture->error, needle);
    assert_null(strchr(fixture->error.message, '\n'));
}

static void test_bzimage_file_boots(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    const char *kernel = write_file(fixture, "vmlinuz", image, size);
    const uint8_t initrd_bytes[3000] = { 1, 2, 3 };
    const char *initrd = write_file(fixture, "initrd.img", initrd_bytes, sizeof(initrd_bytes));
    assert_int_equal(boot(fixture, kernel, initrd, "console=ttyS0", 4), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(fixture->entry.entry_gpa, TEST_BZIMAGE_PREF_ADDRESS + 0x200);
    const struct boot_params *params = gpa_to_hva(&fixture->memory, LAYOUT_ZERO_PAGE_GPA, sizeof(*params));
    assert_int_equal(params->hdr.ramdisk_size, sizeof(initrd_bytes));
    assert_memory_equal(gpa_to_hva(&fixture->memory, params->hdr.ramdisk_image, sizeof(initrd_bytes)), initrd_bytes,
                        sizeof(initrd_bytes));
    assert_string_equal((const char *)gpa_to_hva(&fixture->memory, params->hdr.cmd_line_ptr, 14), "console=ttyS0");
    /* The MADT (found through the RSDP) lists 4 CPUs: checked in detail by test_acpi. */
    assert_memory_equal(gpa_to_hva(&fixture->memory, params->acpi_rsdp_addr, 8), "RSD PTR ", 8);
    free(image);
}

static void test_elf_file_boots(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_elf_create(&size, 8);
    const char *kernel = write_file(fixture, "vmlinux", image, size);
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 1), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_PVH_32BIT);
    assert_int_equal(fixture->entry.entry_gpa, TEST_ELF_ENTRY);
    assert_int_equal(fixture->entry.boot_info_gpa, LAYOUT_PVH_START_INFO_GPA);
    const struct hvm_start_info *info = gpa_to_hva(&fixture->memory, LAYOUT_PVH_START_INFO_GPA, sizeof(*info));
    assert_int_equal(info->magic, HVM_START_MAGIC_VALUE);
    assert_string_equal((const char *)gpa_to_hva(&fixture->memory, info->cmdline_paddr, 1), "");
    free(image);
}

static void test_missing_kernel(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(boot(fixture, "/nonexistent/vmlinuz", NULL, NULL, 1), -1);
    expect_usage(fixture, "cannot open kernel /nonexistent/vmlinuz: No such file or directory");
}

static void test_missing_initrd(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    const char *kernel = write_file(fixture, "vmlinuz", image, size);
    assert_int_equal(boot(fixture, kernel, "/nonexistent/initrd", NULL, 1), -1);
    expect_usage(fixture, "cannot open initrd /nonexistent/initrd");
    free(image);
}

static void test_kernel_is_directory(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(boot(fixture, fixture->directory, NULL, NULL, 1), -1);
    expect_usage(fixture, "is a directory");
    assert_non_null(strstr(fixture->error.message, fixture->directory));
}

static void test_kernel_not_regular(void **state)
{
    struct fixture *fixture = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/fifo", fixture->directory);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* A FIFO with no writer: a blocking open would hang; the loader must refuse it at once. */
    assert_int_equal(boot(fixture, path, NULL, NULL, 1), -1);
    expect_usage(fixture, "is not a regular file");
    assert_int_equal(boot(fixture, "/dev/null", NULL, NULL, 1), -1);
    expect_usage(fixture, "/dev/null is not a regular file");
}

static void test_empty_kernel(void **state)
{
    struct fixture *fixture = *state;
    const char *kernel = write_file(fixture, "empty", "", 0);
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 1), -1);
    expect_usage(fixture, "is empty");
}

static void test_empty_initrd(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    const char *kernel = write_file(fixture, "vmlinuz", image, size);
    const char *initrd = write_file(fixture, "initrd", "", 0);
    assert_int_equal(boot(fixture, kernel, initrd, NULL, 1), -1);
    expect_usage(fixture, "initrd");
    expect_usage(fixture, "is empty");
    free(image);
}

static void test_unreadable_kernel(void **state)
{
    struct fixture *fixture = *state;
    const char *kernel = write_file(fixture, "secret", "x", 1);
    assert_int_equal(chmod(kernel, 0), 0);
    if (geteuid() != 0) {
        assert_int_equal(boot(fixture, kernel, NULL, NULL, 1), -1);
        expect_usage(fixture, "Permission denied");
        return;
    }
    /* Root reads mode-000 files, so the check runs in a child that drops to nobody. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        int status = boot(fixture, kernel, NULL, NULL, 1);
        bool ok = status == -1 && fixture->error.exit_status == EXIT_STATUS_USAGE &&
                  strstr(fixture->error.message, "cannot open kernel") &&
                  strstr(fixture->error.message, "Permission denied");
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_kernel_too_large(void **state)
{
    struct fixture *fixture = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/huge", fixture->directory);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    /* Sparse: the size check must reject it from fstat, before reading. */
    assert_int_equal(ftruncate(fd, (off_t)KERNEL_FILE_MAX_KERNEL_SIZE + 1), 0);
    close(fd);
    assert_int_equal(boot(fixture, path, NULL, NULL, 1), -1);
    expect_usage(fixture, "more than the limit of 256 MiB");
}

static void test_random_bytes(void **state)
{
    struct fixture *fixture = *state;
    uint8_t bytes[4096];
    srand(7);
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)rand();
    bytes[0] = 0; /* not accidentally ELF */
    const char *kernel = write_file(fixture, "random.bin", bytes, sizeof(bytes));
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 1), -1);
    expect_usage(fixture, "random.bin is not a Linux kernel (no bzImage header or ELF magic)");
}

static void test_bad_cpu_count(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    const char *kernel = write_file(fixture, "vmlinuz", image, size);
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 0), -1);
    expect_usage(fixture, "cannot boot 0 CPUs");
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 1000), -1);
    expect_usage(fixture, "cannot boot 1000 CPUs");
    free(image);
}

static void test_truncated_bzimage_file(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    const char *kernel = write_file(fixture, "cut.bzImage", image, size - 100);
    assert_int_equal(boot(fixture, kernel, NULL, NULL, 1), -1);
    expect_usage(fixture, "cut.bzImage: truncated");
    free(image);
}

/*
 * The real Debian kernel, when the environment names it (it is not in the
 * repository): KESTREL_TEST_BZIMAGE=/path/vmlinuz, KESTREL_TEST_VMLINUX=/path/vmlinux.
 */
static void test_real_kernel(void **state, const char *variable, enum boot_kernel_entry kernel_entry,
                             enum boot_entry_mode mode)
{
    struct fixture *fixture = *state;
    const char *path = getenv(variable);
    struct guest_memory memory;
    struct error error;
    assert_int_equal(guest_memory_create(&memory, 512 * MiB, &error), 0);
    struct boot_request request = { .kernel_path = path, .cmdline = "console=ttyS0", .cpu_count = 2,
                                    .kernel_entry = kernel_entry, .cache_directory = fixture->directory };
    if (boot_load(&memory, &request, &fixture->entry, &error) < 0)
        fail_msg("%s", error.message);
    assert_int_equal(fixture->entry.mode, mode);
    if (mode == BOOT_ENTRY_LINUX_64BIT)
        assert_int_equal(fixture->entry.entry_gpa, 0x1000200);
    else
        assert_true(fixture->entry.entry_gpa >= 0x1000000 && fixture->entry.entry_gpa < 0x4000000);
    guest_memory_destroy(&memory);
}

static void test_real_bzimage(void **state)
{
    test_real_kernel(state, "KESTREL_TEST_BZIMAGE", BOOT_KERNEL_ENTRY_BZIMAGE, BOOT_ENTRY_LINUX_64BIT);
}

/* Debian's bzImage (xz) through the host-decompressed PVH path: cold, then from the cache. */
static void test_real_bzimage_pvh(void **state)
{
    for (int pass = 0; pass < 2; pass++) {
        uint64_t lines = log_lines_written();
        test_real_kernel(state, "KESTREL_TEST_BZIMAGE", BOOT_KERNEL_ENTRY_AUTO, BOOT_ENTRY_PVH_32BIT);
        assert_int_equal(log_lines_written(), lines);
    }
}

static void test_real_vmlinux(void **state)
{
    test_real_kernel(state, "KESTREL_TEST_VMLINUX", BOOT_KERNEL_ENTRY_AUTO, BOOT_ENTRY_PVH_32BIT);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    struct CMUnitTest tests[] = {
        TEST(test_bzimage_file_boots),
        TEST(test_elf_file_boots),
        TEST(test_missing_kernel),
        TEST(test_missing_initrd),
        TEST(test_kernel_is_directory),
        TEST(test_kernel_not_regular),
        TEST(test_empty_kernel),
        TEST(test_empty_initrd),
        TEST(test_unreadable_kernel),
        TEST(test_kernel_too_large),
        TEST(test_random_bytes),
        TEST(test_bad_cpu_count),
        TEST(test_truncated_bzimage_file),
        TEST(test_real_bzimage),
        TEST(test_real_bzimage_pvh),
        TEST(test_real_vmlinux),
    };
    /*
     * The real-kernel tests need the files the environment names (make check
     * sets both). Without them they are reported as skips with their reason,
     * after cmocka's own results (cmocka 1.1 cannot give a skip a reason).
     */
    struct CMUnitTest selected[sizeof(tests) / sizeof(tests[0])];
    const char *missing[sizeof(tests) / sizeof(tests[0])];
    size_t count = 0, missing_count = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        const char *variable = NULL;
        if (tests[i].test_func == test_real_bzimage || tests[i].test_func == test_real_bzimage_pvh)
            variable = "KESTREL_TEST_BZIMAGE";
        else if (tests[i].test_func == test_real_vmlinux)
            variable = "KESTREL_TEST_VMLINUX";
        if (variable && (!getenv(variable) || !*getenv(variable))) {
            missing[missing_count++] = variable;
            continue;
        }
        selected[count++] = tests[i];
    }
    int failures = _cmocka_run_group_tests("boot_load", selected, count, NULL, NULL);
    for (size_t i = 0; i < missing_count; i++)
        printf("ok - real kernel from %s # SKIP no-guest-kernel: %s is not set\n", missing[i], missing[i]);
    return failures;
}
