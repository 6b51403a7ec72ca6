/* boot_load() with --kernel-entry: the host-decompressed PVH path, its cache, and every fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/kernel_unpack.h"
#include "util/log.h"
#include "unit/boot_fixture.h"
#include "unit/compressed_kernel.h"

#define MiB (1ull << 20)

struct fixture {
    struct guest_memory memory;
    char directory[64];
    char cache[96];
    char kernel[128];
    struct error error;
    struct boot_entry entry;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-unpack-XXXXXX");
    *state = fixture;
    if (boot_scratch_setup(&fixture->memory, 64 * MiB, fixture->directory) < 0)
        return -1;
    snprintf(fixture->cache, sizeof(fixture->cache), "%s/cache", fixture->directory);
    snprintf(fixture->kernel, sizeof(fixture->kernel), "%s/vmlinuz", fixture->directory);
    return mkdir(fixture->cache, 0700);
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    int result = boot_scratch_teardown(&fixture->memory, fixture->directory);
    free(fixture);
    return result;
}

/* `size` by pointer: the image's builder sets it in the same call's argument list. */
static void write_kernel(struct fixture *fixture, uint8_t *image, const size_t *size_pointer)
{
    size_t size = *size_pointer;
    assert_non_null(image);
    FILE *file = fopen(fixture->kernel, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(image, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
    free(image);
}

static int boot_with_cmdline(struct fixture *fixture, enum boot_kernel_entry kernel_entry, const char *cmdline,
                             struct boot_peak_memory *peak)
{
    struct boot_request request = {
        .kernel_path = fixture->kernel,
        .cmdline = cmdline,
        .cpu_count = 1,
        .kernel_entry = kernel_entry,
        .cache_directory = fixture->cache,
        .peak = peak,
    };
    memset(&fixture->error, 0, sizeof(fixture->error));
    return boot_load(&fixture->memory, &request, &fixture->entry, &fixture->error);
}

static int boot(struct fixture *fixture, enum boot_kernel_entry kernel_entry, struct boot_peak_memory *peak)
{
    return boot_with_cmdline(fixture, kernel_entry, "console=ttyS0", peak);
}

static unsigned cache_files(struct fixture *fixture)
{
    DIR *dir = opendir(fixture->cache);
    assert_non_null(dir);
    unsigned count = 0;
    for (struct dirent *entry; (entry = readdir(dir));)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(dir);
    return count;
}

static void expect_pvh(struct fixture *fixture)
{
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_PVH_32BIT);
    assert_int_equal(fixture->entry.entry_gpa, TEST_ELF_ENTRY);
    /* The ELF's segment, not the bzImage's code, is at its physical address. */
    const uint8_t *loaded = gpa_to_hva(&fixture->memory, TEST_ELF_SEGMENT_PADDR, 2);
    assert_int_equal(loaded[0], 1);
    assert_int_equal(loaded[1], 8);
}

static void test_auto_decompresses_then_uses_the_cache(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    uint64_t lines = log_lines_written();
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    expect_pvh(fixture);
    assert_int_equal(cache_files(fixture), 1);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    expect_pvh(fixture);
    assert_int_equal(log_lines_written(), lines); /* the good path is silent */
}

static void test_unpack_reports_its_source(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_ZSTD, true, &size);
    struct kernel_unpack_options options = {.cache_directory = fixture->cache};
    struct kernel_unpacked unpacked;
    struct error error;
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), 0);
    assert_int_equal(unpacked.source, KERNEL_UNPACK_DECOMPRESSED);
    kernel_unpacked_release(&unpacked);
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), 0);
    assert_int_equal(unpacked.source, KERNEL_UNPACK_FROM_CACHE);
    assert_int_equal(unpacked.size, TEST_ELF_SIZE);
    kernel_unpacked_release(&unpacked);
    /* No usable cache: a failure unless uncached decompression is allowed (--kernel-entry pvh). */
    assert_int_equal(chmod(fixture->cache, 0777), 0);
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), -1);
    assert_non_null(strstr(error.message, "writable by others"));
    options.allow_uncached = true;
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), 0);
    assert_int_equal(unpacked.source, KERNEL_UNPACK_DECOMPRESSED_UNCACHED);
    assert_non_null(strstr(unpacked.cache_problem, "writable by others"));
    kernel_unpacked_release(&unpacked);
    free(image);
}

/* A kernel without PVH support pays for one decompression: then the cache answers, and pvh still asks again. */
static void test_verdict_without_pvh_is_remembered(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_ZSTD, false, &size);
    struct kernel_unpack_options options = {.cache_directory = fixture->cache};
    struct kernel_unpacked unpacked;
    struct error error;
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), -1);
    assert_false(unpacked.known_without_pvh);
    assert_non_null(strstr(error.message, "no Xen PVH entry note"));
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), -1);
    assert_true(unpacked.known_without_pvh);
    assert_non_null(strstr(error.message, "remembered in the cache"));
    options.allow_uncached = true;
    assert_int_equal(kernel_unpack(image, size, &options, &unpacked, &error), -1);
    assert_false(unpacked.known_without_pvh);
    assert_non_null(strstr(error.message, "no Xen PVH entry note"));
    free(image);
}

/*
 * Each case: auto boots the bzImage after one line, and remembers the verdict
 * (an empty cache entry), so the next auto boot neither decompresses nor
 * speaks; pvh decompresses again and is a usage error naming the reason.
 */
static void expect_fallback(struct fixture *fixture, const char *reason)
{
    uint64_t lines = log_lines_written();
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(log_lines_written(), lines + 1);
    assert_int_equal(cache_files(fixture), 1);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(log_lines_written(), lines + 1);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_PVH, NULL), -1);
    assert_usage_error(&fixture->error, "--kernel-entry pvh: kernel ");
    assert_usage_error(&fixture->error, reason);
}

static void test_payload_without_pvh_note(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_GZIP, false, &size), &size);
    expect_fallback(fixture, "cannot boot through PVH");
}

static void test_payload_not_elf(void **state)
{
    struct fixture *fixture = *state;
    uint8_t text[5000];
    memset(text, 'k', sizeof(text));
    size_t size;
    write_kernel(fixture, compressed_kernel_bzimage(KERNEL_COMPRESSION_LZ4, text, sizeof(text), 5000, &size), &size);
    expect_fallback(fixture, "not an ELF vmlinux");
}

static void test_corrupt_payload(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    uint8_t *image = compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size);
    image[TEST_BZIMAGE_SETUP_SIZE + 0x40 + 30] ^= 0xff;
    write_kernel(fixture, image, &size);
    expect_fallback(fixture, "xz payload is corrupt");
}

static void test_no_payload_fields(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, test_bzimage_create(&size), &size); /* payload_length 0 */
    expect_fallback(fixture, "too short to be compressed data");
}

static void test_corrupt_cache_entry_falls_back_then_heals(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    DIR *dir = opendir(fixture->cache);
    struct dirent *found;
    while ((found = readdir(dir)) && found->d_name[0] == '.')
        ;
    assert_non_null(found);
    char path[384];
    snprintf(path, sizeof(path), "%s/%s", fixture->cache, found->d_name);
    closedir(dir);
    FILE *file = fopen(path, "r+b");
    assert_int_equal(fseek(file, 4096 + 100, SEEK_SET), 0);
    fputc('X', file);
    fclose(file);
    uint64_t lines = log_lines_written();
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(log_lines_written(), lines + 1);
    assert_int_equal(cache_files(fixture), 0);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    expect_pvh(fixture);
}

static void test_unsafe_cache_directory(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    assert_int_equal(chmod(fixture->cache, 0757), 0);
    uint64_t lines = log_lines_written();
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, NULL), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(log_lines_written(), lines + 1);
    /* pvh decompresses anyway (one line about the cache) and writes nothing. */
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_PVH, NULL), 0);
    expect_pvh(fixture);
    assert_int_equal(log_lines_written(), lines + 2);
    assert_int_equal(cache_files(fixture), 0);
}

static void test_bzimage_entry(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_BZIMAGE, NULL), 0);
    assert_int_equal(fixture->entry.mode, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(cache_files(fixture), 0);
    /* An ELF is not a bzImage: asking for the bzImage entry is a mistake. */
    write_kernel(fixture, test_elf_create(&size, 8), &size);
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_BZIMAGE, NULL), -1);
    assert_usage_error(&fixture->error, "--kernel-entry bzimage: kernel ");
    assert_usage_error(&fixture->error, "is not a bzImage");
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_PVH, NULL), 0);
    expect_pvh(fixture);
}

/* --stats' peak: taken with the decompressed kernel still mapped, so it exceeds the guest's share. */
static void test_peak_memory(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    struct boot_peak_memory peak = {0};
    assert_int_equal(boot(fixture, BOOT_KERNEL_ENTRY_AUTO, &peak), 0);
    assert_true(peak.measured);
    assert_true(peak.usage.total_rss_kib > peak.usage.guest_rss_kib);
    assert_true(peak.usage.guest_rss_kib >= 8); /* at least the loaded segment and the boot pages */
}

/*
 * The vmlinux inside a bzImage is the same kernel, so the header's cmdline_size
 * binds the PVH path too: a longer command line is a usage error on every
 * entry, found before anything is decompressed or cached.
 */
static void test_cmdline_size_binds_the_payload(void **state)
{
    struct fixture *fixture = *state;
    size_t size;
    write_kernel(fixture, compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size), &size);
    char cmdline[TEST_BZIMAGE_CMDLINE_SIZE + 2];
    memset(cmdline, 'x', sizeof(cmdline) - 1);
    cmdline[sizeof(cmdline) - 1] = '\0';
    const enum boot_kernel_entry entries[] = {BOOT_KERNEL_ENTRY_AUTO, BOOT_KERNEL_ENTRY_PVH, BOOT_KERNEL_ENTRY_BZIMAGE};
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        assert_int_equal(boot_with_cmdline(fixture, entries[i], cmdline, NULL), -1);
        assert_int_equal(fixture->error.exit_status, EXIT_STATUS_USAGE);
        assert_non_null(strstr(fixture->error.message, "(cmdline_size)"));
    }
    assert_int_equal(cache_files(fixture), 0);
    /* At the limit it boots through PVH. */
    cmdline[TEST_BZIMAGE_CMDLINE_SIZE] = '\0';
    assert_int_equal(boot_with_cmdline(fixture, BOOT_KERNEL_ENTRY_AUTO, cmdline, NULL), 0);
    expect_pvh(fixture);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_auto_decompresses_then_uses_the_cache),
        TEST(test_unpack_reports_its_source),
        TEST(test_payload_without_pvh_note),
        TEST(test_verdict_without_pvh_is_remembered),
        TEST(test_payload_not_elf),
        TEST(test_corrupt_payload),
        TEST(test_no_payload_fields),
        TEST(test_corrupt_cache_entry_falls_back_then_heals),
        TEST(test_unsafe_cache_directory),
        TEST(test_bzimage_entry),
        TEST(test_peak_memory),
        TEST(test_cmdline_size_binds_the_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
