/* disk_image_open: every bad image is one usage error and leaves the image as it was; OFD locks across processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "backends/disk_image.h"
#include "disk_fixture.h"

enum { IMAGE_SIZE = 64 * 1024, NOBODY = 65534 };

static int setup(void **state)
{
    static struct disk_scratch scratch;
    if (disk_scratch_create(&scratch, IMAGE_SIZE, 1) != 0)
        return -1;
    *state = &scratch;
    return 0;
}

static int teardown(void **state)
{
    disk_scratch_remove(*state);
    return 0;
}

static void sibling_path(const struct disk_scratch *scratch, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", scratch->directory, name);
}

/* The image's content and modification time: equal before and after means nothing was written. */
struct image_print {
    uint64_t hash;
    struct timespec modified;
    off_t size;
};

static struct image_print image_print_take(const char *path)
{
    struct image_print print = { .hash = 1469598103934665603ull };
    struct stat status;
    assert_int_equal(stat(path, &status), 0);
    print.modified = status.st_mtim;
    print.size = status.st_size;
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    int c;
    while ((c = fgetc(file)) != EOF)
        print.hash = (print.hash ^ (uint64_t)c) * 1099511628211ull;
    fclose(file);
    return print;
}

static void assert_image_unchanged(const char *path, const struct image_print *before)
{
    struct image_print after = image_print_take(path);
    assert_true(after.hash == before->hash);
    assert_int_equal(after.size, before->size);
    assert_int_equal(after.modified.tv_sec, before->modified.tv_sec);
    assert_int_equal(after.modified.tv_nsec, before->modified.tv_nsec);
}

static void assert_usage_error(const char *path, bool read_only, const char *expected)
{
    struct disk_image image;
    struct error error = { 0 };
    struct disk_image_options options = { .path = path, .read_only = read_only, .cache = DISK_CACHE_WRITEBACK };
    assert_int_equal(disk_image_open(&image, &options, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_null(strchr(error.message, '\n'));
    if (!strstr(error.message, expected))
        fail_msg("message \"%s\" lacks \"%s\"", error.message, expected);
    assert_int_equal(image.fd, -1);
}

static void test_missing_image(void **state)
{
    char path[PATH_MAX + 16];
    sibling_path(*state, "absent", path, sizeof(path));
    assert_usage_error(path, false, "does not exist");
    assert_usage_error(path, true, "does not exist");
}

static void test_directory(void **state)
{
    char path[PATH_MAX + 16];
    sibling_path(*state, "dir", path, sizeof(path));
    assert_int_equal(mkdir(path, 0755), 0);
    assert_usage_error(path, false, "is a directory");
    assert_usage_error(path, true, "is a directory");
}

static void test_zero_length(void **state)
{
    char path[PATH_MAX + 16];
    sibling_path(*state, "empty", path, sizeof(path));
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_usage_error(path, false, "is empty");
    struct stat status;
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_size, 0);
}

/* A FIFO would block a plain open(); it must be refused at once. */
static void test_fifo_refused_without_hanging(void **state)
{
    char path[PATH_MAX + 16];
    sibling_path(*state, "fifo", path, sizeof(path));
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_usage_error(path, true, "not a regular file or a block device");
}

/* Runs `check` in a child that has dropped root (root ignores file modes); the child's exit status is the result. */
static void run_unprivileged(void (*check)(const char *path), const char *path)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (getuid() == 0 && (setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
            _exit(3);
        check(path);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void child_expect(bool read_only, const char *path, int expected_result, const char *expected)
{
    struct disk_image image;
    struct error error = { 0 };
    struct disk_image_options options = { .path = path, .read_only = read_only };
    int result = disk_image_open(&image, &options, &error);
    if (result != expected_result)
        _exit(1);
    if (result < 0 && (error.exit_status != EXIT_STATUS_USAGE || !strstr(error.message, expected)))
        _exit(2);
    if (result == 0)
        disk_image_close(&image);
}

static void check_read_only_file(const char *path)
{
    child_expect(false, path, -1, "is read-only; add readonly=on");
    child_expect(true, path, 0, NULL);
}

static void check_unreadable_file(const char *path)
{
    child_expect(true, path, -1, "Permission denied");
    child_expect(false, path, -1, "Permission denied");
}

static void test_read_only_file_needs_readonly_on(void **state)
{
    struct disk_scratch *scratch = *state;
    assert_int_equal(chmod(scratch->path, 0444), 0);
    struct image_print before = image_print_take(scratch->path);
    run_unprivileged(check_read_only_file, scratch->path);
    assert_image_unchanged(scratch->path, &before);
    assert_int_equal(chmod(scratch->path, 0644), 0);
}

static void test_unreadable_file(void **state)
{
    struct disk_scratch *scratch = *state;
    assert_int_equal(chmod(scratch->path, 0000), 0);
    run_unprivileged(check_unreadable_file, scratch->path);
    assert_int_equal(chmod(scratch->path, 0644), 0);
}

/* Another process holds the image open read-write: neither a writer nor a reader may open it. */
static void test_locked_by_another_process(void **state)
{
    struct disk_scratch *scratch = *state;
    int ready[2], release[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(ready[0]);
        close(release[1]);
        struct disk_image image;
        struct error error;
        struct disk_image_options options = { .path = scratch->path };
        char byte = disk_image_open(&image, &options, &error) == 0 ? 'y' : 'n';
        if (write(ready[1], &byte, 1) != 1 || read(release[0], &byte, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char byte = 0;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_int_equal(byte, 'y');
    struct image_print before = image_print_take(scratch->path);
    assert_usage_error(scratch->path, false, "is locked by another process");
    assert_usage_error(scratch->path, true, "is locked by another process");
    assert_image_unchanged(scratch->path, &before);
    close(release[1]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    close(ready[0]);

    /* The lock went with the child's descriptor. */
    struct disk_image image;
    struct error error;
    struct disk_image_options options = { .path = scratch->path };
    assert_int_equal(disk_image_open(&image, &options, &error), 0);
    disk_image_close(&image);
}

/* Shared locks: two read-only users coexist, a writer is kept out while they hold it. */
static void test_read_only_opens_share_the_lock(void **state)
{
    struct disk_scratch *scratch = *state;
    struct disk_image first, second;
    struct error error;
    struct disk_image_options options = { .path = scratch->path, .read_only = true };
    assert_int_equal(disk_image_open(&first, &options, &error), 0);
    assert_int_equal(disk_image_open(&second, &options, &error), 0);
    assert_true(first.read_only);
    assert_int_equal(first.size, IMAGE_SIZE);
    assert_usage_error(scratch->path, false, "is locked");
    disk_image_close(&first);
    disk_image_close(&second);
}

static void test_direct_open_reports_alignment(void **state)
{
    struct disk_scratch *scratch = *state;
    struct disk_image image;
    struct error error;
    struct disk_image_options options = { .path = scratch->path, .cache = DISK_CACHE_NONE };
    if (disk_image_open(&image, &options, &error) != 0) {
        assert_true(strstr(error.message, "refuses O_DIRECT") != NULL);
        skip();
    }
    assert_true(image.direct);
    assert_false(image.read_only);
    assert_true(image.block_size >= 512 && (image.block_size & (image.block_size - 1)) == 0);
    assert_true(image.memory_alignment > 0 && (image.memory_alignment & (image.memory_alignment - 1)) == 0);
    assert_true(fcntl(image.fd, F_GETFL) & O_DIRECT);
    disk_image_close(&image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused_without_hanging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_file_needs_readonly_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_by_another_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_opens_share_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_open_reports_alignment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
