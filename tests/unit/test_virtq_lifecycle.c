/*
 * Contracts of the device-side virtqueue that hold for both ring layouts,
 * checked through the harness driver (modelled on Linux's virtio_ring.c):
 *
 * - a request popped before a reset can never complete into the ring the
 *   driver set up afterwards, even when the new ring reuses its id;
 * - with EVENT_IDX a device may pop until the ring is empty and then sleep:
 *   the driver's next buffer is always kicked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/guest_allocator.h"
#include "harness/virtq_driver.h"
#include "virtio/virtqueue.h"

enum { REGION_SIZE = 1 << 20, SEGMENTS = 4, READABLE_BYTES = 16, WRITABLE_BYTES = 64 };

struct lifecycle {
    struct guest_memory memory;
    struct guest_allocator allocator;
    struct virtq_driver_options options;
    struct virtq_driver driver;
    struct virtq queue;
};

struct device_request {
    struct iovec segments[SEGMENTS];
    struct virtq_request request;
};

static struct lifecycle *lifecycle_create(enum virtq_layout layout, uint16_t size, bool event_idx)
{
    struct lifecycle *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    struct error error = {0};
    assert_int_equal(harness_guest_memory_create(&l->memory, REGION_SIZE, &error), 0);
    guest_allocator_init(&l->allocator, &l->memory);
    l->options = (struct virtq_driver_options){.layout = layout, .size = size, .event_idx = event_idx};
    assert_int_equal(virtq_driver_init(&l->driver, &l->allocator, &l->options), 0);
    assert_int_equal(virtq_enable(&l->queue, &l->memory, &l->driver.config), 0);
    return l;
}

static void lifecycle_destroy(struct lifecycle *l)
{
    virtq_driver_destroy(&l->driver);
    guest_memory_destroy(&l->memory);
    free(l);
}

/*
 * What a driver reset does: the device forgets the queue, the driver sets up
 * fresh rings, the device enables them. `explicit_reset`: the transport calls
 * virtq_reset first; otherwise it only enables the queue again.
 */
static void lifecycle_reset(struct lifecycle *l, bool explicit_reset)
{
    if (explicit_reset)
        virtq_reset(&l->queue);
    virtq_driver_destroy(&l->driver);
    assert_int_equal(virtq_driver_init(&l->driver, &l->allocator, &l->options), 0);
    assert_int_equal(virtq_enable(&l->queue, &l->memory, &l->driver.config), 0);
}

/* Adds a readable + writable request with `token` and returns whether the driver decided to kick. */
static bool driver_add(struct lifecycle *l, uint64_t token)
{
    struct virtq_driver_buffer readable = {guest_allocator_alloc(&l->allocator, READABLE_BYTES, 16), READABLE_BYTES};
    struct virtq_driver_buffer writable = {guest_allocator_alloc(&l->allocator, WRITABLE_BYTES, 16), WRITABLE_BYTES};
    assert_int_not_equal(readable.gpa, GUEST_ALLOCATION_FAILED);
    assert_int_not_equal(writable.gpa, GUEST_ALLOCATION_FAILED);
    struct virtq_driver_request request = {
        .readable = &readable, .readable_count = 1, .writable = &writable, .writable_count = 1,
    };
    assert_int_equal(virtq_driver_add(&l->driver, &request, token), 0);
    return virtq_driver_kick_prepare(&l->driver);
}

static enum virtq_pop_result device_pop(struct lifecycle *l, struct device_request *slot)
{
    slot->request = (struct virtq_request){.segments = slot->segments, .segment_capacity = SEGMENTS};
    return virtq_pop(&l->queue, &slot->request);
}

static void expect_completion(struct lifecycle *l, uint64_t token, uint32_t written)
{
    uint64_t used_token = 0;
    uint32_t used_written = 0;
    assert_int_equal(virtq_driver_get_used(&l->driver, &used_token, &used_written), 1);
    assert_int_equal(used_token, token);
    assert_int_equal(used_written, written);
}

/* ---- no completion across a reset ---------------------------------------- */

static void check_stale_push_is_refused(enum virtq_layout layout, bool explicit_reset)
{
    struct lifecycle *l = lifecycle_create(layout, 8, false);
    struct device_request before, after;

    driver_add(l, 1);
    assert_int_equal(device_pop(l, &before), VIRTQ_POP_OK);
    /* The device is still working on `before` (slow I/O) when the driver resets the queue. */
    lifecycle_reset(l, explicit_reset);
    driver_add(l, 2);
    assert_int_equal(device_pop(l, &after), VIRTQ_POP_OK);
    /* The new ring hands out the same id: only the generation tells the two requests apart. */
    assert_int_equal(after.request.id, before.request.id);

    assert_int_equal(virtq_push(&l->queue, &before.request, WRITABLE_BYTES), -1);
    assert_int_equal(virtq_push(&l->queue, &after.request, 7), 0);
    expect_completion(l, 2, 7);
    uint64_t token;
    uint32_t written;
    assert_int_equal(virtq_driver_get_used(&l->driver, &token, &written), 0);
    assert_false(virtq_is_broken(&l->queue));
    /* Still refused later, and refusing it changed nothing. */
    assert_int_equal(virtq_push(&l->queue, &before.request, 0), -1);
    assert_int_equal(virtq_driver_get_used(&l->driver, &token, &written), 0);
    lifecycle_destroy(l);
}

static void test_split_push_from_before_a_reset_is_refused(void **state)
{
    (void)state;
    check_stale_push_is_refused(VIRTQ_LAYOUT_SPLIT, true);
}

static void test_packed_push_from_before_a_reset_is_refused(void **state)
{
    (void)state;
    check_stale_push_is_refused(VIRTQ_LAYOUT_PACKED, true);
}

/* A request popped before virtq_enable enables the queue again (no virtq_reset call) is just as stale. */
static void test_split_push_from_before_a_re_enable_is_refused(void **state)
{
    (void)state;
    check_stale_push_is_refused(VIRTQ_LAYOUT_SPLIT, false);
}

static void test_packed_push_from_before_a_re_enable_is_refused(void **state)
{
    (void)state;
    check_stale_push_is_refused(VIRTQ_LAYOUT_PACKED, false);
}

/* ---- pop until empty, then sleep (EVENT_IDX) ------------------------------ */

/*
 * The device serves each buffer and pops until the ring is empty, then
 * sleeps until a kick. Over several laps of the ring, the driver must kick for
 * every buffer it adds while the device sleeps. `polled_first`: the device
 * started in a polling phase (kicks disabled, then enabled again), which puts
 * the packed ring's device event in descriptor mode.
 */
static void check_pop_until_empty(enum virtq_layout layout, bool polled_first)
{
    enum { SIZE = 4, ROUNDS = 3 * SIZE + 1 };
    struct lifecycle *l = lifecycle_create(layout, SIZE, true);
    struct device_request served, nothing;
    if (polled_first) {
        virtq_disable_kicks(&l->queue);
        assert_int_equal(device_pop(l, &nothing), VIRTQ_POP_EMPTY);
        assert_false(virtq_enable_kicks(&l->queue));
    }
    for (unsigned round = 0; round < ROUNDS; round++) {
        if (!driver_add(l, round))
            fail_msg("round %u: the driver did not kick a sleeping device", round);
        assert_int_equal(device_pop(l, &served), VIRTQ_POP_OK);
        assert_int_equal(device_pop(l, &nothing), VIRTQ_POP_EMPTY);
        assert_int_equal(virtq_push(&l->queue, &served.request, 1), 0);
        expect_completion(l, round, 1);
    }
    assert_false(virtq_is_broken(&l->queue));
    lifecycle_destroy(l);
}

static void test_split_pop_until_empty_keeps_kicks(void **state)
{
    (void)state;
    check_pop_until_empty(VIRTQ_LAYOUT_SPLIT, false);
    check_pop_until_empty(VIRTQ_LAYOUT_SPLIT, true);
}

static void test_packed_pop_until_empty_keeps_kicks(void **state)
{
    (void)state;
    check_pop_until_empty(VIRTQ_LAYOUT_PACKED, false);
    check_pop_until_empty(VIRTQ_LAYOUT_PACKED, true);
}

/* While the device keeps finding work, the driver need not kick (both layouts suppress the same way). */
static void check_busy_device_suppresses_kicks(enum virtq_layout layout)
{
    struct lifecycle *l = lifecycle_create(layout, 8, true);
    struct device_request served[3];
    assert_true(driver_add(l, 0));
    assert_int_equal(device_pop(l, &served[0]), VIRTQ_POP_OK);
    /* The device has not reported "empty" yet, so it is still working: no kick for the next buffer. */
    assert_false(driver_add(l, 1));
    assert_int_equal(device_pop(l, &served[1]), VIRTQ_POP_OK);
    assert_int_equal(device_pop(l, &served[2]), VIRTQ_POP_EMPTY);
    assert_true(driver_add(l, 2));
    lifecycle_destroy(l);
}

static void test_split_busy_device_suppresses_kicks(void **state)
{
    (void)state;
    check_busy_device_suppresses_kicks(VIRTQ_LAYOUT_SPLIT);
}

static void test_packed_busy_device_suppresses_kicks(void **state)
{
    (void)state;
    check_busy_device_suppresses_kicks(VIRTQ_LAYOUT_PACKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_push_from_before_a_reset_is_refused),
        cmocka_unit_test(test_packed_push_from_before_a_reset_is_refused),
        cmocka_unit_test(test_split_push_from_before_a_re_enable_is_refused),
        cmocka_unit_test(test_packed_push_from_before_a_re_enable_is_refused),
        cmocka_unit_test(test_split_pop_until_empty_keeps_kicks),
        cmocka_unit_test(test_packed_pop_until_empty_keeps_kicks),
        cmocka_unit_test(test_split_busy_device_suppresses_kicks),
        cmocka_unit_test(test_packed_busy_device_suppresses_kicks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
