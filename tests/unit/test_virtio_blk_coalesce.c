/*
 * KESTREL_TSAN_TEST: coalesce_us, the I/O thread holding an interrupt back
 * while the guest keeps it busy. At depth (the last interrupt covered two
 * requests or more) the interrupt waits for a quiet window, and for no more
 * than four windows however busy the queue stays; at depth 1 it goes at once.
 * Without EVENT_IDX, so every decision the thread makes is an interrupt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (1ul << 20)
enum { WINDOW_MS = 100, DEPTH = 8 };

static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static struct blk_fixture *start(enum virtq_layout layout, unsigned coalesce_us)
{
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE, .coalesce_us = coalesce_us};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, layout, 1, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

/* Adds `count` reads and kicks once; waits until every one is used. */
static void read_batch(struct blk_fixture *fixture, struct blk_io *io, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        assert_int_equal(blk_add(fixture, 0, &io[i], VIRTIO_BLK_T_IN, i * 8, i), 0);
    blk_notify(fixture, 0);
    for (unsigned i = 0; i < count; i++) {
        uint64_t token;
        uint32_t written;
        assert_int_equal(blk_wait_used(fixture, 0, &token, &written), 1);
        assert_int_equal(*io[token].status, VIRTIO_BLK_S_OK);
    }
}

/* Waits (bounded) for the interrupt count to pass `seen`; returns the milliseconds it took from `since`. */
static uint64_t wait_interrupt(struct blk_fixture *fixture, unsigned seen, uint64_t since)
{
    for (unsigned i = 0; i < 10000 && blk_fixture_deliveries(fixture, 1) <= seen; i++)
        usleep(1000);
    assert_true(blk_fixture_deliveries(fixture, 1) > seen);
    return monotonic_ms() - since;
}

static void test_holds_at_depth_and_not_at_depth_one(enum virtq_layout layout)
{
    struct blk_fixture *fixture = start(layout, WINDOW_MS * 1000);
    struct blk_io io[DEPTH];
    for (unsigned i = 0; i < DEPTH; i++)
        blk_io_alloc(fixture, &io[i], 4096);

    /* Eight requests on one kick: all used, and at most the first reap's interrupt has gone yet. */
    uint64_t start_ms = monotonic_ms();
    read_batch(fixture, io, DEPTH);
    unsigned before = blk_fixture_deliveries(fixture, 1);
    assert_true(before <= 1);
    /* The held one goes after a quiet window, and it is the only other one. */
    uint64_t took = wait_interrupt(fixture, 0, start_ms);
    usleep(3 * WINDOW_MS * 1000);
    unsigned after_batch = blk_fixture_deliveries(fixture, 1);
    assert_true(after_batch >= 1 && after_batch <= 2);
    (void)took;

    /* One request after the batch: the last interrupt covered several, so this one waits a window... */
    start_ms = monotonic_ms();
    read_batch(fixture, io, 1);
    uint64_t held = wait_interrupt(fixture, after_batch, start_ms);
    assert_true(held >= WINDOW_MS * 9 / 10);
    /* ...and the next, with depth 1 established, goes at once. */
    unsigned seen = blk_fixture_deliveries(fixture, 1);
    start_ms = monotonic_ms();
    read_batch(fixture, io, 1);
    uint64_t prompt = wait_interrupt(fixture, seen, start_ms);
    assert_true(prompt < WINDOW_MS / 2);
    blk_fixture_destroy(fixture);
}

static void test_holds_split(void **state)
{
    (void)state;
    test_holds_at_depth_and_not_at_depth_one(VIRTQ_LAYOUT_SPLIT);
}

static void test_holds_packed(void **state)
{
    (void)state;
    test_holds_at_depth_and_not_at_depth_one(VIRTQ_LAYOUT_PACKED);
}

/* A guest that never lets the queue go quiet still gets an interrupt every four windows at most. */
static void test_hold_is_bounded(void **state)
{
    (void)state;
    enum { WINDOW = 50 };
    struct blk_fixture *fixture = start(VIRTQ_LAYOUT_SPLIT, WINDOW * 1000);
    struct blk_io io[DEPTH];
    for (unsigned i = 0; i < DEPTH; i++)
        blk_io_alloc(fixture, &io[i], 4096);
    read_batch(fixture, io, DEPTH); /* depth established */
    wait_interrupt(fixture, 0, monotonic_ms());
    unsigned before = blk_fixture_deliveries(fixture, 1);
    /* Two requests every 10 ms for 800 ms: the thread never sees a quiet window. */
    uint64_t start_ms = monotonic_ms();
    while (monotonic_ms() - start_ms < 800) {
        read_batch(fixture, io, 2);
        usleep(10000);
    }
    unsigned during = blk_fixture_deliveries(fixture, 1) - before;
    /* Four windows are 200 ms: 800 ms hold at least three interrupts, and far fewer than the ~100 requests. */
    assert_true(during >= 3);
    assert_true(during < 40);
    blk_fixture_destroy(fixture);
}

/* coalesce_us=0 is an interrupt per batch, held never. */
static void test_off_is_prompt(void **state)
{
    (void)state;
    struct blk_fixture *fixture = start(VIRTQ_LAYOUT_SPLIT, 0);
    struct blk_io io[DEPTH];
    for (unsigned i = 0; i < DEPTH; i++)
        blk_io_alloc(fixture, &io[i], 4096);
    read_batch(fixture, io, DEPTH);
    uint64_t start_ms = monotonic_ms();
    unsigned seen = wait_interrupt(fixture, 0, start_ms) < 5000 ? blk_fixture_wait_deliveries(fixture, 1, 1) : 0;
    start_ms = monotonic_ms();
    read_batch(fixture, io, 1);
    assert_true(wait_interrupt(fixture, seen, start_ms) < WINDOW_MS / 2);
    blk_fixture_destroy(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holds_split),
        cmocka_unit_test(test_holds_packed),
        cmocka_unit_test(test_hold_is_bounded),
        cmocka_unit_test(test_off_is_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
