/*
 * cache=none (O_DIRECT) through the engine: aligned segments go straight to
 * the file, unaligned ones through the bounce buffer; and a real ENOSPC from a
 * 1 MiB tmpfs (as root, in a private mount namespace) completes with IOERR.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "disk_engine_fixture.h"

enum { IMAGE_SIZE = 1 << 20, EXIT_SKIP = 77 };

static struct engine_fixture fixture;

static int setup(void **state)
{
    (void)state;
    if (engine_fixture_open(&fixture, IMAGE_SIZE, DISK_CACHE_NONE, 16, 32) != 0) {
        engine_fixture_close(&fixture);
        return 0; /* tests skip: this file system refuses O_DIRECT */
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    engine_fixture_close(&fixture);
    return 0;
}

static void skip_without_direct(void)
{
    if (!fixture.engine)
        skip();
}

static void test_aligned_segments_go_direct(void **state)
{
    (void)state;
    skip_without_direct();
    uint32_t block = fixture.image.block_size;
    unsigned char *buffer = aligned_alloc(4096, 4 * 4096);
    assert_non_null(buffer);
    struct iovec segments[] = { { buffer, block }, { buffer + 4096, 2 * (size_t)block } };
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 8 * (uint64_t)block, .segments = segments,
                                 .segment_count = 2 };
    struct disk_completion done = engine_run_one(fixture.engine, &read);
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    assert_int_equal(done.bytes_done, 3 * (uint64_t)block);
    for (unsigned i = 0; i < block; i++)
        assert_int_equal(buffer[i], disk_pattern_byte(8 * (uint64_t)block + i));
    for (unsigned i = 0; i < 2 * block; i++)
        assert_int_equal(buffer[4096 + i], disk_pattern_byte(9 * (uint64_t)block + i));

    memset(buffer, 0xa5, 4 * 4096);
    struct iovec whole[] = { { buffer, 4 * 4096 } };
    struct disk_request write = { .type = DISK_REQUEST_WRITE, .offset = 4096, .segments = whole, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &write).status, VIRTIO_BLK_S_OK);
    unsigned char check[4 * 4096];
    int plain = open(fixture.scratch.path, O_RDONLY | O_CLOEXEC);
    assert_int_equal(pread(plain, check, sizeof(check), 4096), (ssize_t)sizeof(check));
    close(plain);
    assert_memory_equal(check, buffer, sizeof(check));
    free(buffer);
}

/* Segments at odd addresses and of odd lengths (a block in total) are bounced, both ways. */
static void test_unaligned_segments_are_bounced(void **state)
{
    (void)state;
    skip_without_direct();
    uint32_t block = fixture.image.block_size;
    unsigned char *memory = malloc(2 * (size_t)block + 64);
    assert_non_null(memory);
    unsigned char *odd = memory + 3;
    struct iovec segments[] = { { odd, 100 }, { odd + 100, (size_t)block - 100 }, { odd + block, block } };
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 2 * (uint64_t)block, .segments = segments,
                                 .segment_count = 3 };
    struct disk_completion done = engine_run_one(fixture.engine, &read);
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    assert_int_equal(done.bytes_done, 2 * (uint64_t)block);
    for (unsigned i = 0; i < 2 * block; i++)
        assert_int_equal(odd[i], disk_pattern_byte(2 * (uint64_t)block + i));

    for (unsigned i = 0; i < 2 * block; i++)
        odd[i] = (unsigned char)(i ^ 0x3c);
    struct disk_request write = { .type = DISK_REQUEST_WRITE, .offset = 0, .segments = segments, .segment_count = 3 };
    assert_int_equal(engine_run_one(fixture.engine, &write).status, VIRTIO_BLK_S_OK);
    unsigned char *check = malloc(2 * (size_t)block);
    int plain = open(fixture.scratch.path, O_RDONLY | O_CLOEXEC);
    assert_int_equal(pread(plain, check, 2 * (size_t)block, 0), 2 * (ssize_t)block);
    close(plain);
    assert_memory_equal(check, odd, 2 * (size_t)block);
    free(check);
    free(memory);
}

/* What O_DIRECT cannot do fails cleanly: a partial block, or more than the bounce limit through the bounce. */
static void test_direct_limits_fail_cleanly(void **state)
{
    (void)state;
    skip_without_direct();
    uint32_t block = fixture.image.block_size;
    unsigned char *buffer = aligned_alloc(4096, 4096 * 2);
    struct iovec partial[] = { { buffer, 512 + (size_t)block } };
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 0, .segments = partial, .segment_count = 1 };
    if (block > 512 || (512 + block) % block != 0)
        assert_int_equal(engine_run_one(fixture.engine, &read).status, VIRTIO_BLK_S_IOERR);
    struct iovec one[] = { { buffer, block } };
    read = (struct disk_request){ .type = DISK_REQUEST_READ, .offset = 1, .segments = one, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &read).status, VIRTIO_BLK_S_IOERR);
    free(buffer);

    /* A bounce larger than the limit: one odd-aligned segment over the whole limit plus a block. */
    size_t length = DISK_ENGINE_BOUNCE_LIMIT + block;
    unsigned char *large = malloc(length + 1);
    struct iovec too_big[] = { { large + 1, length } };
    struct engine_fixture big;
    assert_int_equal(engine_fixture_open(&big, 4 << 20, DISK_CACHE_NONE, 4, 4), 0);
    read = (struct disk_request){ .type = DISK_REQUEST_READ, .offset = 0, .segments = too_big, .segment_count = 1 };
    assert_int_equal(engine_run_one(big.engine, &read).status, VIRTIO_BLK_S_IOERR);
    engine_fixture_close(&big);
    free(large);
}

/* The child's result: 0 pass, EXIT_SKIP when it may not mount, anything else a failure at that step. */
static int enospc_child(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return EXIT_SKIP;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return EXIT_SKIP;
    char directory[] = "/tmp/kestrel-enospc-XXXXXX";
    if (!mkdtemp(directory))
        return 3;
    int status = 4;
    if (mount("tmpfs", directory, "tmpfs", 0, "size=1M") != 0) {
        rmdir(directory);
        return EXIT_SKIP;
    }
    char path[sizeof(directory) + 8];
    snprintf(path, sizeof(path), "%s/image", directory);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && ftruncate(fd, 8 << 20) == 0) {
        close(fd);
        struct disk_image image;
        struct error error;
        struct disk_image_options options = { .path = path };
        struct disk_engine_options engine_options = { .ring_entries = 8, .max_requests = 8 };
        struct disk_engine *engine = NULL;
        if (disk_image_open(&image, &options, &error) == 0 &&
            (engine = disk_engine_create(&image, &engine_options, &error)) != NULL) {
            static unsigned char data[2 << 20];
            memset(data, 0x77, sizeof(data));
            struct iovec segment = { data, sizeof(data) };
            struct disk_request write = { .type = DISK_REQUEST_WRITE, .segments = &segment, .segment_count = 1 };
            struct disk_completion done = engine_run_one(engine, &write);
            struct disk_request flush = { .type = DISK_REQUEST_FLUSH };
            /* The engine serves on after the error. */
            status = done.status == VIRTIO_BLK_S_IOERR && engine_run_one(engine, &flush).status == VIRTIO_BLK_S_OK
                         ? 0
                         : 5;
            disk_engine_destroy(engine);
            disk_image_close(&image);
        }
    }
    umount(directory);
    rmdir(directory);
    return status;
}

static void test_real_enospc_is_ioerr(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs root to mount a small tmpfs */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(enospc_child());
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == EXIT_SKIP)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aligned_segments_go_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unaligned_segments_are_bounced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_limits_fail_cleanly, setup, teardown),
        cmocka_unit_test(test_real_enospc_is_ioerr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
