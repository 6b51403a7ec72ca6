/*
 * The io_uring disk engine on a real file: every request type read back with
 * pread, short transfers resubmitted for the rest, a 4-entry ring taking 64
 * requests, drain on reset, and host errors injected through the result seam.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "disk_engine_fixture.h"

enum { IMAGE_SIZE = 4 << 20, BLOCK = 4096 };

static struct engine_fixture fixture;

/* What the seam does to each result: halve reads once per request, or replace results of one type. */
struct seam_plan {
    bool halve_transfers;
    int replace_type; /* -1: none */
    int replacement;
    unsigned calls;
    unsigned replaced;
};

static struct seam_plan plan;

static int seam_result(void *context, enum disk_request_type type, uint64_t offset, uint64_t length, int result)
{
    (void)context;
    (void)offset;
    plan.calls++;
    if ((int)type == plan.replace_type) {
        plan.replaced++;
        return plan.replacement;
    }
    /* A short count on every transfer longer than one byte: the engine must continue from where it stopped. */
    if (plan.halve_transfers && result > 1 && (uint64_t)result == length)
        return result / 2 + 1;
    return result;
}

static int setup(void **state)
{
    (void)state;
    plan = (struct seam_plan){ .replace_type = -1 };
    disk_engine_result_hook = seam_result;
    return engine_fixture_open(&fixture, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 32, 128);
}

static int teardown(void **state)
{
    (void)state;
    disk_engine_result_hook = NULL;
    engine_fixture_close(&fixture);
    return 0;
}

static void assert_file_pattern(uint64_t offset, uint64_t length)
{
    unsigned char *buffer = malloc(length);
    assert_non_null(buffer);
    assert_int_equal(pread(fixture.image.fd, buffer, length, (off_t)offset), (ssize_t)length);
    for (uint64_t i = 0; i < length; i++)
        if (buffer[i] != disk_pattern_byte(offset + i))
            fail_msg("byte %llu differs", (unsigned long long)(offset + i));
    free(buffer);
}

static void assert_file_bytes(uint64_t offset, const void *expected, uint64_t length)
{
    unsigned char *buffer = malloc(length);
    assert_non_null(buffer);
    assert_int_equal(pread(fixture.image.fd, buffer, length, (off_t)offset), (ssize_t)length);
    assert_memory_equal(buffer, expected, length);
    free(buffer);
}

static blkcnt_t file_blocks(void)
{
    struct stat status;
    assert_int_equal(fstat(fixture.image.fd, &status), 0);
    return status.st_blocks;
}

/* Three segments of odd lengths across a block boundary, and a zero-length one between them. */
static void test_read_into_segments(void **state)
{
    (void)state;
    unsigned char a[100], b[1], c[5000];
    struct iovec segments[] = { { a, sizeof(a) }, { b, 0 }, { c, sizeof(c) } };
    uint64_t offset = 4096 - 37;
    struct disk_request request = { .type = DISK_REQUEST_READ, .offset = offset, .segments = segments,
                                    .segment_count = 3, .cookie = a };
    struct disk_completion done = engine_run_one(fixture.engine, &request);
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    assert_ptr_equal(done.cookie, a);
    assert_int_equal(done.bytes_done, sizeof(a) + sizeof(c));
    for (unsigned i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], disk_pattern_byte(offset + i));
    for (unsigned i = 0; i < sizeof(c); i++)
        assert_int_equal(c[i], disk_pattern_byte(offset + sizeof(a) + i));
}

static void test_write_then_pread(void **state)
{
    (void)state;
    unsigned char data[6000];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    struct iovec segments[] = { { data, 10 }, { data + 10, sizeof(data) - 10 } };
    struct disk_request request = { .type = DISK_REQUEST_WRITE, .offset = 12345, .segments = segments,
                                    .segment_count = 2 };
    struct disk_completion done = engine_run_one(fixture.engine, &request);
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    assert_int_equal(done.bytes_done, 0);
    assert_file_bytes(12345, data, sizeof(data));
    assert_file_pattern(12345 + sizeof(data), 100);
}

static void test_flush(void **state)
{
    (void)state;
    struct disk_request request = { .type = DISK_REQUEST_FLUSH };
    assert_int_equal(engine_run_one(fixture.engine, &request).status, VIRTIO_BLK_S_OK);
    assert_int_equal(plan.calls, 1); /* it went through the ring */
}

static void test_discard_punches_a_hole(void **state)
{
    (void)state;
    assert_int_equal(fsync(fixture.image.fd), 0);
    blkcnt_t before = file_blocks();
    struct disk_request request = { .type = DISK_REQUEST_DISCARD, .offset = 1 << 20, .length = 1 << 20 };
    assert_int_equal(engine_run_one(fixture.engine, &request).status, VIRTIO_BLK_S_OK);
    assert_true(file_blocks() <= before - (1 << 20) / 512);
    static const unsigned char zeroes[1 << 20];
    assert_file_bytes(1 << 20, zeroes, sizeof(zeroes));
    assert_file_pattern((1 << 20) - 100, 100);
    assert_file_pattern(2 << 20, 100);
    struct stat status;
    assert_int_equal(fstat(fixture.image.fd, &status), 0);
    assert_int_equal(status.st_size, IMAGE_SIZE);
}

static void test_write_zeroes_keeps_allocation_without_unmap(void **state)
{
    (void)state;
    assert_int_equal(fsync(fixture.image.fd), 0);
    blkcnt_t before = file_blocks();
    struct disk_request request = { .type = DISK_REQUEST_WRITE_ZEROES, .offset = 8192, .length = 65536 };
    struct disk_completion done = engine_run_one(fixture.engine, &request);
    if (done.status == VIRTIO_BLK_S_UNSUPP)
        skip(); /* this file system has no zero range */
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    static const unsigned char zeroes[65536];
    assert_file_bytes(8192, zeroes, sizeof(zeroes));
    assert_file_pattern(8192 - 10, 10);
    assert_file_pattern(8192 + 65536, 10);
    assert_true(file_blocks() >= before);
}

static void test_write_zeroes_with_unmap_punches(void **state)
{
    (void)state;
    assert_int_equal(fsync(fixture.image.fd), 0);
    blkcnt_t before = file_blocks();
    struct disk_request request = { .type = DISK_REQUEST_WRITE_ZEROES, .unmap = true, .offset = 0, .length = 65536 };
    assert_int_equal(engine_run_one(fixture.engine, &request).status, VIRTIO_BLK_S_OK);
    static const unsigned char zeroes[65536];
    assert_file_bytes(0, zeroes, sizeof(zeroes));
    assert_true(file_blocks() <= before - 65536 / 512);
}

/* Every transfer comes back short once per SQE: the rest is resubmitted from where it stopped. */
static void test_short_transfers_resubmit_the_rest(void **state)
{
    (void)state;
    plan.halve_transfers = true;
    unsigned char a[3000], c[9000];
    struct iovec segments[] = { { a, sizeof(a) }, { c, sizeof(c) } };
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 777, .segments = segments, .segment_count = 2 };
    struct disk_completion done = engine_run_one(fixture.engine, &read);
    assert_int_equal(done.status, VIRTIO_BLK_S_OK);
    assert_int_equal(done.bytes_done, sizeof(a) + sizeof(c));
    assert_true(plan.calls > 5);
    for (unsigned i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], disk_pattern_byte(777 + i));
    for (unsigned i = 0; i < sizeof(c); i++)
        assert_int_equal(c[i], disk_pattern_byte(777 + sizeof(a) + i));

    memset(c, 0x5a, sizeof(c));
    struct iovec one[] = { { c, sizeof(c) } };
    struct disk_request write = { .type = DISK_REQUEST_WRITE, .offset = 100000, .segments = one, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &write).status, VIRTIO_BLK_S_OK);
    assert_file_bytes(100000, c, sizeof(c));
    assert_file_pattern(100000 + sizeof(c), 64);
}

/* A short count of zero (the file shrank under us) fails the request instead of looping. */
static void test_zero_progress_fails(void **state)
{
    (void)state;
    plan.replace_type = DISK_REQUEST_READ;
    plan.replacement = 0;
    unsigned char buffer[512];
    struct iovec segments[] = { { buffer, sizeof(buffer) } };
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 0, .segments = segments, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &read).status, VIRTIO_BLK_S_IOERR);
    assert_int_equal(plan.replaced, 1);
}

/* Block reads of buffers[i] at block (i * stride) % 1024, cookie = buffers[i]; all held by the engine. */
static unsigned char block_buffers[64][BLOCK];
static struct iovec block_segments[64];

static uint64_t block_offset(unsigned index, unsigned stride)
{
    return (uint64_t)((index * stride) % 1024) * BLOCK;
}

static void submit_block_reads(struct disk_engine *engine, unsigned count, unsigned stride)
{
    for (unsigned i = 0; i < count; i++) {
        block_segments[i] = (struct iovec){ block_buffers[i], BLOCK };
        struct disk_request request = { .type = DISK_REQUEST_READ, .offset = block_offset(i, stride),
                                        .segments = &block_segments[i], .segment_count = 1,
                                        .cookie = block_buffers[i] };
        assert_int_equal(disk_engine_submit(engine, &request), 0);
    }
    assert_int_equal(disk_engine_pending(engine), count);
}

/* A 4-entry ring (8 CQEs) takes 64 requests: they wait in order, none fails, each completes once. */
static void test_full_ring_makes_requests_wait(void **state)
{
    (void)state;
    struct engine_fixture small;
    assert_int_equal(engine_fixture_open(&small, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 4, 64), 0);
    submit_block_reads(small.engine, 64, 37);
    struct disk_request one_too_many = { .type = DISK_REQUEST_FLUSH };
    assert_int_equal(disk_engine_submit(small.engine, &one_too_many), -1);

    struct disk_completion completions[65];
    assert_int_equal(engine_reap(small.engine, completions, 65, 64), 64);
    bool seen[64] = { false };
    for (unsigned i = 0; i < 64; i++) {
        assert_int_equal(completions[i].status, VIRTIO_BLK_S_OK);
        unsigned index = (unsigned)(((unsigned char(*)[BLOCK])completions[i].cookie) - block_buffers);
        assert_true(index < 64);
        assert_false(seen[index]);
        seen[index] = true;
        for (unsigned b = 0; b < BLOCK; b += 511)
            assert_int_equal(block_buffers[index][b], disk_pattern_byte(block_offset(index, 37) + b));
    }
    assert_int_equal(disk_engine_pending(small.engine), 0);
    struct disk_reap reap = { .completions = completions, .capacity = 65 };
    assert_int_equal(disk_engine_wait(small.engine, &reap, true), 0); /* nothing left: returns, does not sleep */
    engine_fixture_close(&small);
}

/* Drain: waiting requests fail unsubmitted, those in the kernel finish; each is reported exactly once after. */
static void test_drain_reports_each_request_once(void **state)
{
    (void)state;
    struct engine_fixture small;
    assert_int_equal(engine_fixture_open(&small, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 4, 32), 0);
    submit_block_reads(small.engine, 32, 1);
    disk_engine_drain(small.engine);
    assert_int_equal(disk_engine_pending(small.engine), 32);
    struct disk_completion completions[40];
    struct disk_reap reap = { .completions = completions, .capacity = 40 };
    assert_int_equal(disk_engine_wait(small.engine, &reap, false), 32);
    unsigned ok = 0, failed = 0;
    for (unsigned i = 0; i < 32; i++) {
        if (completions[i].status == VIRTIO_BLK_S_OK)
            ok++;
        else if (completions[i].status == VIRTIO_BLK_S_IOERR)
            failed++;
    }
    /* The first four sat in the SQ (not yet entered) and were submitted by the drain; the rest never left the FIFO. */
    assert_int_equal(ok, 4);
    assert_int_equal(failed, 28);
    assert_int_equal(disk_engine_pending(small.engine), 0);
    engine_fixture_close(&small);
}

/* EOPNOTSUPP answers UNSUPP and is remembered: the next one never reaches the kernel. */
static void test_unsupported_is_remembered(void **state)
{
    (void)state;
    plan.replace_type = DISK_REQUEST_WRITE_ZEROES;
    plan.replacement = -EOPNOTSUPP;
    struct disk_request zeroes = { .type = DISK_REQUEST_WRITE_ZEROES, .offset = 0, .length = 4096 };
    assert_int_equal(engine_run_one(fixture.engine, &zeroes).status, VIRTIO_BLK_S_UNSUPP);
    assert_true(fixture.image.zero_range_unsupported);
    assert_false(fixture.image.punch_hole_unsupported);
    assert_int_equal(engine_run_one(fixture.engine, &zeroes).status, VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(plan.replaced, 1);
    /* Punching is another operation: still tried. */
    zeroes.unmap = true;
    assert_int_equal(engine_run_one(fixture.engine, &zeroes).status, VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(plan.replaced, 2);
    assert_true(fixture.image.punch_hole_unsupported);
    struct disk_request discard = { .type = DISK_REQUEST_DISCARD, .offset = 0, .length = 4096 };
    assert_int_equal(engine_run_one(fixture.engine, &discard).status, VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(plan.replaced, 2);
}

/* EIO and ENOSPC from the host fail the request with IOERR; the engine goes on serving. */
static void test_host_errors_are_ioerr(void **state)
{
    (void)state;
    const int errors[] = { -EIO, -ENOSPC };
    unsigned char buffer[4096];
    memset(buffer, 0x11, sizeof(buffer));
    struct iovec segments[] = { { buffer, sizeof(buffer) } };
    for (unsigned i = 0; i < 2; i++) {
        plan.replace_type = DISK_REQUEST_WRITE;
        plan.replacement = errors[i];
        struct disk_request write = { .type = DISK_REQUEST_WRITE, .offset = 0, .segments = segments,
                                      .segment_count = 1 };
        assert_int_equal(engine_run_one(fixture.engine, &write).status, VIRTIO_BLK_S_IOERR);
        plan.replace_type = DISK_REQUEST_FLUSH;
        struct disk_request flush = { .type = DISK_REQUEST_FLUSH };
        assert_int_equal(engine_run_one(fixture.engine, &flush).status, VIRTIO_BLK_S_IOERR);
    }
    assert_int_equal(plan.replaced, 4);
    plan.replace_type = -1;
    struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 8192, .segments = segments, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &read).status, VIRTIO_BLK_S_OK);
    assert_int_equal(buffer[0], disk_pattern_byte(8192));
}

/* Bad bounds fail before the ring: past the end, overflowing, too many segments, writes to a read-only image. */
static void test_bad_requests_never_reach_the_kernel(void **state)
{
    (void)state;
    unsigned char buffer[4096];
    struct iovec one[] = { { buffer, sizeof(buffer) } };
    struct iovec huge[] = { { buffer, SIZE_MAX / 2 + 1 }, { buffer, SIZE_MAX / 2 + 1 } };
    const struct disk_request bad[] = {
        { .type = DISK_REQUEST_READ, .offset = IMAGE_SIZE - 100, .segments = one, .segment_count = 1 },
        { .type = DISK_REQUEST_READ, .offset = UINT64_MAX - 10, .segments = one, .segment_count = 1 },
        { .type = DISK_REQUEST_WRITE, .offset = 0, .segments = huge, .segment_count = 2 },
        { .type = DISK_REQUEST_READ, .offset = 0, .segments = one, .segment_count = DISK_ENGINE_MAX_SEGMENTS + 1 },
        { .type = DISK_REQUEST_DISCARD, .offset = IMAGE_SIZE, .length = 1 },
        { .type = DISK_REQUEST_WRITE_ZEROES, .offset = 1, .length = UINT64_MAX },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(engine_run_one(fixture.engine, &bad[i]).status, VIRTIO_BLK_S_IOERR);
    fixture.image.read_only = true;
    struct disk_request write = { .type = DISK_REQUEST_WRITE, .offset = 0, .segments = one, .segment_count = 1 };
    assert_int_equal(engine_run_one(fixture.engine, &write).status, VIRTIO_BLK_S_IOERR);
    struct disk_request discard = { .type = DISK_REQUEST_DISCARD, .offset = 0, .length = 4096 };
    assert_int_equal(engine_run_one(fixture.engine, &discard).status, VIRTIO_BLK_S_IOERR);
    fixture.image.read_only = false;
    assert_int_equal(plan.calls, 0);
    assert_file_pattern(0, 4096);
}

/* A real refusal, no seam: tmpfs has no zero range. UNSUPP, remembered; the hole punch still works there. */
static void test_tmpfs_refuses_zero_range(void **state)
{
    (void)state;
    char path[] = "/dev/shm/kestrel-disk-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        skip(); /* no /dev/shm here */
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    close(fd);
    struct disk_image image;
    struct error error;
    struct disk_image_options options = { .path = path };
    assert_int_equal(disk_image_open(&image, &options, &error), 0);
    struct disk_engine_options engine_options = { .ring_entries = 4, .max_requests = 4 };
    struct disk_engine *engine = disk_engine_create(&image, &engine_options, &error);
    assert_non_null(engine);
    struct disk_request zeroes = { .type = DISK_REQUEST_WRITE_ZEROES, .offset = 0, .length = 4096 };
    uint8_t status = engine_run_one(engine, &zeroes).status;
    if (status == VIRTIO_BLK_S_UNSUPP) {
        assert_true(image.zero_range_unsupported);
        assert_int_equal(plan.calls, 1);
        assert_int_equal(engine_run_one(engine, &zeroes).status, VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(plan.calls, 1); /* answered without the kernel */
    }
    zeroes.unmap = true;
    assert_int_equal(engine_run_one(engine, &zeroes).status, VIRTIO_BLK_S_OK);
    assert_false(image.punch_hole_unsupported);
    disk_engine_destroy(engine);
    disk_image_close(&image);
    unlink(path);
    if (status != VIRTIO_BLK_S_UNSUPP)
        skip(); /* this kernel's tmpfs zeroes ranges */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_into_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_then_pread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_punches_a_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_zeroes_keeps_allocation_without_unmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_zeroes_with_unmap_punches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_transfers_resubmit_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_progress_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_makes_requests_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_reports_each_request_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_is_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmpfs_refuses_zero_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_errors_are_ioerr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_never_reach_the_kernel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
