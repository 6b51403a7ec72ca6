/* The kernel cache: checked directories and entries, atomic stores, poisoning cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/kernel_cache.h"

#define MAX_SIZE (1ull << 20)

struct fixture {
    char directory[64];
    struct kernel_cache cache;
    uint8_t key[KERNEL_CACHE_HASH_SIZE];
    uint8_t content[10000];
    char entry_path[256];
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-cache-XXXXXX");
    if (!mkdtemp(fixture->directory))
        return -1;
    struct error error;
    if (kernel_cache_open_path(&fixture->cache, fixture->directory, &error) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(fixture->content); i++)
        fixture->content[i] = (uint8_t)(i * 13 + 5);
    kernel_cache_hash((const uint8_t *)"a bzImage", 9, fixture->key);
    char name[KERNEL_CACHE_NAME_MAX];
    kernel_cache_entry_name(fixture->key, name);
    snprintf(fixture->entry_path, sizeof(fixture->entry_path), "%s/%s", fixture->directory, name);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    kernel_cache_close(&fixture->cache);
    char command[256];
    snprintf(command, sizeof(command), "chmod -R u+w %s; rm -rf %s", fixture->directory, fixture->directory);
    if (system(command) != 0)
        return -1;
    free(fixture);
    return 0;
}

static unsigned count_files(const char *directory)
{
    DIR *dir = opendir(directory);
    assert_non_null(dir);
    unsigned count = 0;
    for (struct dirent *entry; (entry = readdir(dir));)
        count += entry->d_name[0] != '.' || (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0);
    closedir(dir);
    return count;
}

static void expect_message(const struct error *error, const char *needle)
{
    if (!strstr(error->message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", error->message, needle);
}

static void store(struct fixture *fixture)
{
    struct error error;
    if (kernel_cache_store(&fixture->cache, fixture->key, fixture->content, sizeof(fixture->content), &error) < 0)
        fail_msg("%s", error.message);
}

static int lookup(struct fixture *fixture, struct error *error)
{
    struct kernel_cache_entry entry;
    int found = kernel_cache_lookup(&fixture->cache, fixture->key, MAX_SIZE, &entry, error);
    if (found > 0) {
        assert_int_equal(entry.size, sizeof(fixture->content));
        assert_memory_equal(entry.content, fixture->content, sizeof(fixture->content));
        kernel_cache_entry_release(&entry);
    }
    return found;
}

static void test_hash_is_sha256(void **state)
{
    (void)state;
    uint8_t hash[KERNEL_CACHE_HASH_SIZE];
    kernel_cache_hash((const uint8_t *)"abc", 3, hash);
    char name[KERNEL_CACHE_NAME_MAX];
    kernel_cache_entry_name(hash, name);
    assert_string_equal(name, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.vmlinux");
}

static void test_store_then_lookup(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    assert_int_equal(lookup(fixture, &error), 0);
    store(fixture);
    assert_int_equal(lookup(fixture, &error), 1);
    struct stat status;
    assert_int_equal(stat(fixture->entry_path, &status), 0);
    assert_int_equal(status.st_mode & 0777, 0600);
    assert_int_equal(count_files(fixture->directory), 1); /* no temporary file left */
    /* Storing again replaces the entry atomically. */
    store(fixture);
    assert_int_equal(lookup(fixture, &error), 1);
    assert_int_equal(count_files(fixture->directory), 1);
}

static void corrupt_byte(const char *path, off_t offset)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, offset), 1);
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
    close(fd);
}

static void test_corrupt_content_is_detected_and_removed(void **state)
{
    struct fixture *fixture = *state;
    store(fixture);
    corrupt_byte(fixture->entry_path, 4096 + 5000);
    struct error error;
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "does not match its checksum (removed)");
    assert_int_equal(access(fixture->entry_path, F_OK), -1);
    assert_int_equal(lookup(fixture, &error), 0);
}

static void test_corrupt_header(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    store(fixture);
    corrupt_byte(fixture->entry_path, 0);
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "has no valid header");
    store(fixture);
    assert_int_equal(truncate(fixture->entry_path, 4096 + 100), 0);
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "truncated");
    store(fixture);
    assert_int_equal(truncate(fixture->entry_path, 100), 0);
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "impossible size");
}

/* An entry renamed to another bzImage's name must not boot for that bzImage. */
static void test_entry_for_another_bzimage(void **state)
{
    struct fixture *fixture = *state;
    store(fixture);
    uint8_t other[KERNEL_CACHE_HASH_SIZE];
    kernel_cache_hash((const uint8_t *)"another bzImage", 15, other);
    char name[KERNEL_CACHE_NAME_MAX];
    kernel_cache_entry_name(other, name);
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", fixture->directory, name);
    assert_int_equal(rename(fixture->entry_path, path), 0);
    memcpy(fixture->key, other, sizeof(other));
    struct error error;
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "is for another bzImage");
}

static void test_unsafe_entries(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    store(fixture);
    assert_int_equal(chmod(fixture->entry_path, 0666), 0);
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "writable by group or others");
    assert_int_equal(chmod(fixture->entry_path, 0600), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(fixture->entry_path, 65534, 65534), 0);
        assert_int_equal(lookup(fixture, &error), -1);
        expect_message(&error, "belongs to uid 65534");
    }
    /* A symlink named like the entry (pointing at a planted file) is refused, not followed. */
    char planted[128];
    snprintf(planted, sizeof(planted), "%s/planted", fixture->directory);
    assert_int_equal(rename(fixture->entry_path, planted), 0);
    assert_int_equal(symlink(planted, fixture->entry_path), 0);
    assert_int_equal(lookup(fixture, &error), -1);
    expect_message(&error, "symbolic link");
}

static void test_unsafe_directories(void **state)
{
    struct fixture *fixture = *state;
    struct kernel_cache cache;
    struct error error;
    assert_int_equal(chmod(fixture->directory, 0777), 0);
    assert_int_equal(kernel_cache_open_path(&cache, fixture->directory, &error), -1);
    expect_message(&error, "writable by others");
    assert_int_equal(chmod(fixture->directory, 0770), 0);
    assert_int_equal(kernel_cache_open_path(&cache, fixture->directory, &error), -1);
    expect_message(&error, "writable by its group");
    assert_int_equal(chmod(fixture->directory, 0700), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(fixture->directory, 65534, 65534), 0);
        assert_int_equal(kernel_cache_open_path(&cache, fixture->directory, &error), -1);
        expect_message(&error, "belongs to uid 65534");
        assert_int_equal(chown(fixture->directory, 0, 0), 0);
    }
    char link[128];
    snprintf(link, sizeof(link), "%s-link", fixture->directory);
    assert_int_equal(symlink(fixture->directory, link), 0);
    assert_int_equal(kernel_cache_open_path(&cache, link, &error), -1);
    unlink(link);
}

/* XDG_CACHE_HOME first, created 0700 when missing; a relative one is ignored for HOME/.cache. */
static void test_directory_from_environment(void **state)
{
    struct fixture *fixture = *state;
    char xdg[128];
    snprintf(xdg, sizeof(xdg), "%s/xdg/cache", fixture->directory);
    setenv("XDG_CACHE_HOME", xdg, 1);
    struct kernel_cache cache;
    struct error error;
    if (kernel_cache_open(&cache, &error) < 0)
        fail_msg("%s", error.message);
    char expected[160];
    snprintf(expected, sizeof(expected), "%s/kestrel", xdg);
    assert_string_equal(cache.directory, expected);
    struct stat status;
    assert_int_equal(stat(expected, &status), 0);
    assert_int_equal(status.st_mode & 0777, 0700);
    kernel_cache_close(&cache);

    setenv("XDG_CACHE_HOME", "relative/path", 1);
    setenv("HOME", fixture->directory, 1);
    assert_int_equal(kernel_cache_open(&cache, &error), 0);
    snprintf(expected, sizeof(expected), "%s/.cache/kestrel", fixture->directory);
    assert_string_equal(cache.directory, expected);
    kernel_cache_close(&cache);

    /* The base directory is vetted too: a world-writable XDG_CACHE_HOME is not used. */
    assert_int_equal(chmod(xdg, 0777), 0);
    setenv("XDG_CACHE_HOME", xdg, 1);
    assert_int_equal(kernel_cache_open(&cache, &error), -1);
    expect_message(&error, "writable by others");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_int_equal(kernel_cache_open(&cache, &error), -1);
    expect_message(&error, "neither XDG_CACHE_HOME nor HOME");
}

/* A write that fails part-way leaves neither a partial entry nor a temporary file. */
static void test_failed_store_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    kernel_cache_test_fail_write_after = 4096 + 3000;
    assert_int_equal(
        kernel_cache_store(&fixture->cache, fixture->key, fixture->content, sizeof(fixture->content), &error), -1);
    kernel_cache_test_fail_write_after = 0;
    expect_message(&error, "No space left");
    assert_int_equal(count_files(fixture->directory), 0);
    assert_int_equal(lookup(fixture, &error), 0);
    /* An old entry survives a failed replacement whole. */
    store(fixture);
    kernel_cache_test_fail_write_after = 100;
    assert_int_equal(
        kernel_cache_store(&fixture->cache, fixture->key, fixture->content, sizeof(fixture->content), &error), -1);
    kernel_cache_test_fail_write_after = 0;
    assert_int_equal(lookup(fixture, &error), 1);
    assert_int_equal(count_files(fixture->directory), 1);
}

/* File systems without O_TMPFILE (overlayfs before Linux 6.6): the named temporary file behaves the same. */
static void test_named_temporary_file(void **state)
{
    kernel_cache_test_named_temporary = true;
    test_store_then_lookup(state);
    struct fixture *fixture = *state;
    kernel_cache_test_fail_write_after = 5000;
    struct error error;
    assert_int_equal(
        kernel_cache_store(&fixture->cache, fixture->key, fixture->content, sizeof(fixture->content), &error), -1);
    kernel_cache_test_fail_write_after = 0;
    kernel_cache_test_named_temporary = false;
    assert_int_equal(count_files(fixture->directory), 1);
    assert_int_equal(lookup(fixture, &error), 1);
}

static void test_entry_over_the_size_limit(void **state)
{
    struct fixture *fixture = *state;
    store(fixture);
    struct kernel_cache_entry entry;
    struct error error;
    assert_int_equal(kernel_cache_lookup(&fixture->cache, fixture->key, 1000, &entry, &error), -1);
    expect_message(&error, "impossible size");
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_sha256),
        TEST(test_store_then_lookup),
        TEST(test_corrupt_content_is_detected_and_removed),
        TEST(test_corrupt_header),
        TEST(test_entry_for_another_bzimage),
        TEST(test_unsafe_entries),
        TEST(test_unsafe_directories),
        TEST(test_directory_from_environment),
        TEST(test_failed_store_leaves_nothing),
        TEST(test_named_temporary_file),
        TEST(test_entry_over_the_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
