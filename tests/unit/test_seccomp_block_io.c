#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "seccomp_child.h"
#include "virtio_blk_fixture.h"

/*
 * The block-io list against real I/O, natively: in a forked child with the
 * filters on, the driver harness starts a virtio-blk device (its I/O thread
 * enters block-io and takes the filter) and writes, reads back, flushes and
 * discards through io_uring on a scratch image. A call missing from the list
 * would kill the child with the line. The test seam (KESTREL_TEST_SECCOMP_VIOLATE
 * =block-io) must kill it with the line naming block-io.
 */
#define RING_FEATURES ((1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))

static int serve_requests(void *unused)
{
    (void)unused;
    const struct blk_fixture_options options = {.image_size = 1 << 20, .queues = 1, .io_threads = 1};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    if (!(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 64, RING_FEATURES) & VIRTIO_CONFIG_S_DRIVER_OK))
        return 5;
    struct blk_io out, in, flush;
    blk_io_alloc(fixture, &out, 8192);
    blk_io_alloc(fixture, &in, 8192);
    blk_io_alloc(fixture, &flush, 0);
    for (unsigned i = 0; i < 8192; i++)
        out.data[i] = (uint8_t)(i * 13 + 1);
    for (unsigned round = 0; round < 50; round++) {
        uint64_t sector = (round * 16) % 2000;
        if (blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, sector, NULL) != VIRTIO_BLK_S_OK ||
            blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, sector, NULL) != VIRTIO_BLK_S_OK ||
            memcmp(in.data, out.data, 8192) != 0 ||
            blk_do(fixture, 0, &flush, VIRTIO_BLK_T_FLUSH, 0, NULL) != VIRTIO_BLK_S_OK)
            return 6;
    }
    blk_fixture_destroy(fixture);
    return 0;
}

static void test_block_io_thread_serves_io_under_its_filter(void **state)
{
    (void)state;
    struct seccomp_child_outcome outcome = seccomp_child_run(serve_requests, NULL, NULL);
    if (outcome.status != 0)
        fail_msg("status %d (signal %d), stderr '%s'", outcome.status, outcome.signal_number, outcome.line);
}

static void test_block_io_seam_dies_with_the_line(void **state)
{
    (void)state;
    struct seccomp_child_outcome outcome = seccomp_child_run(serve_requests, NULL, "block-io");
    assert_int_equal(outcome.status, 1);
    assert_string_equal(outcome.line, "kestrel: seccomp: block-io thread made a forbidden system call: acct (163)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_io_thread_serves_io_under_its_filter),
        cmocka_unit_test(test_block_io_seam_dies_with_the_line),
    };
    return cmocka_run_group_tests_name("seccomp_block_io", tests, NULL, NULL);
}
