/*
 * A real trace from the device: virtio-blk's I/O threads over a real image
 * and io_uring, driven by the harness driver with a known pattern (32
 * sequential 512 KiB writes on queue 0, 64 random 4 KiB reads on queue 1, a
 * flush, a GET_ID and a read past the end), then read back and summarised.
 * KESTREL_TSAN_TEST: the I/O threads fill the rings the writer thread drains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "trace/block_trace_reader.h"
#include "trace/block_trace_summary.h"
#include "trace/block_trace_writer.h"
#include "virtio_blk_fixture.h"

enum { WRITES = 32, READS = 64, WRITE_SIZE = 512 * 1024 };
#define IMAGE_SIZE (32ul << 20)

static void test_a_known_pattern_traced_through_the_device(void **state)
{
    (void)state;
    char directory[] = "/tmp/kestrel-trace-device-XXXXXX";
    assert_non_null(mkdtemp(directory));
    char path[128];
    snprintf(path, sizeof(path), "%s/disk.trace", directory);
    struct error error = {0};
    struct block_trace_writer *writer = block_trace_writer_create(path, &error);
    assert_non_null(writer);
    assert_int_equal(block_trace_writer_start(writer, IMAGE_SIZE, 2, &error), 0);
    const struct blk_fixture_options options = {
        .image_size = IMAGE_SIZE, .sparse = true, .queues = 2, .io_threads = 2, .trace = writer};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 2, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    struct blk_io big, small, empty, id;
    blk_io_alloc(fixture, &big, WRITE_SIZE);
    blk_io_alloc(fixture, &small, 4096);
    blk_io_alloc(fixture, &empty, 0);
    blk_io_alloc(fixture, &id, 20);
    for (unsigned i = 0; i < WRITES; i++)
        assert_int_equal(blk_do(fixture, 0, &big, VIRTIO_BLK_T_OUT, (uint64_t)i * (WRITE_SIZE / 512), NULL), 0);
    uint64_t state_word = 88172645463325252ull;
    for (unsigned i = 0; i < READS; i++) {
        state_word ^= state_word << 13, state_word ^= state_word >> 7, state_word ^= state_word << 17;
        uint64_t block = (state_word % (IMAGE_SIZE / 4096 / 2)) * 2 + 1; /* odd blocks: never sequential */
        assert_int_equal(blk_do(fixture, 1, &small, VIRTIO_BLK_T_IN, block * 8, NULL), 0);
    }
    assert_int_equal(blk_do(fixture, 0, &empty, VIRTIO_BLK_T_FLUSH, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_do(fixture, 1, &id, VIRTIO_BLK_T_GET_ID, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_do(fixture, 1, &small, VIRTIO_BLK_T_IN, IMAGE_SIZE / 512, NULL), VIRTIO_BLK_S_IOERR);
    blk_fixture_destroy(fixture);
    block_trace_writer_close(writer);

    struct block_trace trace;
    if (block_trace_load(path, &trace, &error) < 0)
        fail_msg("%s", error.message);
    unlink(path);
    rmdir(directory);
    assert_true(trace.finished);
    assert_int_equal(trace.count, WRITES + READS + 3);
    assert_int_equal(trace.header.dropped_count, 0);
    struct block_trace_summary summary;
    assert_int_equal(block_trace_summarize(&trace, &summary), 0);
    assert_int_equal(summary.requests[BLOCK_TRACE_WRITE], WRITES);
    assert_int_equal(summary.bytes[BLOCK_TRACE_WRITE], (uint64_t)WRITES * WRITE_SIZE);
    assert_int_equal(summary.requests[BLOCK_TRACE_READ], READS + 1);
    assert_int_equal(summary.bytes[BLOCK_TRACE_READ], READS * 4096); /* the failed read moved nothing */
    assert_int_equal(summary.requests[BLOCK_TRACE_FLUSH], 1);
    assert_int_equal(summary.requests[BLOCK_TRACE_GET_ID], 1);
    assert_int_equal(summary.failed[BLOCK_TRACE_STATUS_IOERR], 1);
    assert_int_equal(summary.queues[0].sequential[BLOCK_TRACE_KIND_WRITE], WRITES - 1);
    assert_int_equal(summary.queues[0].followers[BLOCK_TRACE_KIND_WRITE], WRITES - 1);
    assert_int_equal(summary.queues[1].followers[BLOCK_TRACE_KIND_READ], READS - 1);
    assert_int_equal(summary.queues[1].sequential[BLOCK_TRACE_KIND_READ], 0);
    /* Real I/O takes time; a request refused before I/O takes none to speak of. */
    for (size_t i = 0; i < trace.count; i++) {
        const struct block_trace_record *record = &trace.records[i];
        if (record->type == BLOCK_TRACE_WRITE) {
            assert_int_equal(record->queue, 0);
            assert_int_equal(record->length, WRITE_SIZE);
            assert_true(record->latency_ns > 0);
        }
        if (record->status == BLOCK_TRACE_STATUS_IOERR) {
            assert_int_equal(record->sector, IMAGE_SIZE / 512);
            assert_int_equal(record->length, 0);
            assert_int_equal(record->latency_ns, 0);
        }
    }
    block_trace_free(&trace);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_known_pattern_traced_through_the_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
