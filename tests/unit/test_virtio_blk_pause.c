/*
 * KESTREL_TSAN_TEST: a VM pause through virtio-blk's pause op (virtio_pci_pause)
 * with requests in flight on slow completions: it returns only when every
 * request the I/O thread took is answered; while paused nothing completes and
 * new requests wait; after the resume every request is answered exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (1ul << 20)

static atomic_uint slow_completions;

static int slow(void *context, enum disk_request_type type, uint64_t offset, uint64_t length, int result)
{
    (void)context, (void)type, (void)offset, (void)length;
    atomic_fetch_add(&slow_completions, 1);
    usleep(2000);
    return result;
}

enum { BEFORE = 16, DURING = 4, TOTAL = BEFORE + DURING };

static unsigned reap_ready(struct blk_fixture *fixture, unsigned seen[TOTAL])
{
    unsigned count = 0;
    uint64_t token;
    uint32_t written;
    int result;
    while ((result = virtq_driver_get_used(&fixture->drivers[0], &token, &written)) == 1) {
        assert_true(token < TOTAL);
        seen[token]++;
        count++;
    }
    assert_int_equal(result, 0);
    return count;
}

static void test_pause_drains_and_resume_loses_nothing(enum virtq_layout layout)
{
    disk_engine_result_hook = slow;
    atomic_store(&slow_completions, 0);
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, layout, 1, 64, 1ull << VIRTIO_RING_F_EVENT_IDX) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    struct blk_io io[TOTAL];
    for (unsigned i = 0; i < BEFORE; i++) {
        blk_io_alloc(fixture, &io[i], 4096);
        *io[i].status = 0xff;
        assert_int_equal(blk_submit(fixture, 0, &io[i], VIRTIO_BLK_T_IN, i * 8, i), 0);
    }
    while (atomic_load(&slow_completions) == 0)
        usleep(100);
    virtio_pci_pause(&fixture->device.transport);
    /* Everything taken is answered by now; nothing more completes while paused. */
    unsigned seen[TOTAL] = {0};
    unsigned answered = reap_ready(fixture, seen);
    assert_true(answered >= 1);
    unsigned completions = atomic_load(&slow_completions);
    for (unsigned i = 0; i < DURING; i++) {
        blk_io_alloc(fixture, &io[BEFORE + i], 512);
        *io[BEFORE + i].status = 0xff;
        assert_int_equal(blk_submit(fixture, 0, &io[BEFORE + i], VIRTIO_BLK_T_IN, 100 + i, BEFORE + i), 0);
    }
    usleep(30000);
    assert_int_equal(atomic_load(&slow_completions), completions);
    assert_int_equal(reap_ready(fixture, seen), 0);

    virtio_pci_resume(&fixture->device.transport);
    while (answered < TOTAL) {
        uint64_t token;
        uint32_t written;
        assert_int_equal(blk_wait_used(fixture, 0, &token, &written), 1);
        assert_true(token < TOTAL);
        seen[token]++;
        answered++;
    }
    usleep(10000);
    assert_int_equal(reap_ready(fixture, seen), 0);
    for (unsigned i = 0; i < TOTAL; i++) {
        assert_int_equal(seen[i], 1);
        assert_int_equal(*io[i].status, VIRTIO_BLK_S_OK);
    }
    assert_int_equal(io[3].data[7], disk_pattern_byte(3 * 8 * 512 + 7));
    assert_int_equal(io[BEFORE + 1].data[9], disk_pattern_byte(101 * 512 + 9));
    assert_int_equal(atomic_load(&slow_completions), TOTAL);
    disk_engine_result_hook = NULL;
    blk_fixture_destroy(fixture);
}

static void test_pause_split(void **state)
{
    (void)state;
    test_pause_drains_and_resume_loses_nothing(VIRTQ_LAYOUT_SPLIT);
}

static void test_pause_packed(void **state)
{
    (void)state;
    test_pause_drains_and_resume_loses_nothing(VIRTQ_LAYOUT_PACKED);
}

/* A device reset while paused (the VMM exits) stops the parked thread. */
static void test_reset_while_paused(void **state)
{
    (void)state;
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    virtio_pci_pause(&fixture->device.transport);
    blk_fixture_destroy(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_split),
        cmocka_unit_test(test_pause_packed),
        cmocka_unit_test(test_reset_while_paused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
