/*
 * Device side of the packed virtqueue with a well-behaved driver: chains,
 * laps of the ring, out-of-order completion, indirect tables, event
 * suppression in both directions. Hostile rings are in
 * test_virtq_packed_hostile.c; the fixture in packed_ring_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/packed_ring_fixture.h"

/* ---- positive ------------------------------------------------------------- */

static void test_single_descriptor_chain(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    driver_offer_one(f, 6, BUFFER_GPA, 512, VRING_DESC_F_WRITE);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 6);
    assert_int_equal(f->request.ring_slots, 1);
    assert_int_equal(f->request.readable_count, 0);
    assert_int_equal(f->request.writable_count, 1);
    assert_int_equal(f->request.writable_bytes, 512);
    assert_ptr_equal(f->request.segments[0].iov_base, host(f, BUFFER_GPA, 512));
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    assert_int_equal(virtq_push(&f->queue, &f->request, 100), 0);
    uint16_t flags = ring_slot(f, 0)->flags;
    assert_true(flags & FLAG_AVAIL);
    assert_true(flags & FLAG_USED);
    assert_true(flags & VRING_DESC_F_WRITE);
    expect_used(f, 6, 100);
    /* Pushing the same id again is a device bug. */
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), -1);
}

static void test_multi_descriptor_chain(void **state)
{
    struct fixture *f = *state;
    struct buffer buffers[] = {
        { BUFFER_GPA, 16, 0 },
        { HIGH_RAM_GPA, 0x1000, 0 },
        { BUFFER_GPA + 0x100, 0, 0 }, /* zero length: counted, no segment */
        { HIGH_RAM_GPA + 0x1000, 1, VRING_DESC_F_WRITE },
    };
    driver_offer(f, 1, buffers, 4);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 1);
    assert_int_equal(f->request.ring_slots, 4);
    assert_int_equal(f->request.readable_count, 2);
    assert_int_equal(f->request.readable_bytes, 16 + 0x1000);
    assert_int_equal(f->request.writable_count, 1);
    assert_int_equal(f->request.writable_bytes, 1);
    assert_ptr_equal(f->request.segments[1].iov_base, host(f, HIGH_RAM_GPA, 0x1000));
    assert_ptr_equal(f->request.segments[2].iov_base, host(f, HIGH_RAM_GPA + 0x1000, 1));
    /* More than the writable bytes is clamped to them. */
    assert_int_equal(virtq_push(&f->queue, &f->request, 1000), 0);
    expect_used(f, 1, 1);
    /* The next chain starts after all four slots; the next used descriptor too. */
    driver_offer_one(f, 2, BUFFER_GPA, 8, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), 0);
    assert_int_equal(ring_slot(f, 4)->id, 2);
    assert_false(ring_slot(f, 4)->flags & VRING_DESC_F_WRITE);
    expect_used(f, 2, 0);
}

static void test_wrap_around_many_laps(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 5, false, false);
    /* Chains of 1, 2 and 3 descriptors go round a 5-slot ring many times, crossing its end at every offset. */
    for (unsigned round = 0; round < 60; round++) {
        unsigned count = 1 + round % 3;
        struct buffer buffers[3];
        for (unsigned i = 0; i < count; i++)
            buffers[i] = (struct buffer){ BUFFER_GPA + i * 64, 64, i + 1 == count ? VRING_DESC_F_WRITE : 0 };
        uint16_t id = (uint16_t)(round % 5);
        driver_offer(f, id, buffers, count);
        assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
        assert_int_equal(f->request.id, id);
        assert_int_equal(f->request.ring_slots, count);
        assert_int_equal(f->request.readable_count, count - 1);
        assert_int_equal(f->request.writable_count, 1);
        assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
        assert_int_equal(virtq_push(&f->queue, &f->request, 10), 0);
        expect_used(f, id, 10);
    }
    assert_false(virtq_is_broken(&f->queue));
    /* 60 rounds took 120 slots: 24 laps, so both wrap counters are back at 1. */
    assert_true(f->driver_wrap);
    assert_int_equal(f->queue.packed.next_avail, 0);
    assert_true(f->queue.packed.avail_wrap_counter);
    assert_true(f->queue.packed.used_wrap_counter);
}

static void test_out_of_order_completion(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, false, false);
    struct virtq_request requests[3];
    struct iovec segments[3][4];
    struct buffer two[] = { { BUFFER_GPA, 16, 0 }, { BUFFER_GPA + 16, 16, VRING_DESC_F_WRITE } };
    driver_offer_one(f, 0, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    driver_offer(f, 1, two, 2);
    driver_offer_one(f, 2, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    for (unsigned i = 0; i < 3; i++) {
        requests[i] = (struct virtq_request){ .segments = segments[i], .segment_capacity = 4 };
        assert_int_equal(virtq_pop(&f->queue, &requests[i]), VIRTQ_POP_OK);
        assert_int_equal(requests[i].id, i);
    }
    assert_int_equal(f->queue.in_flight_count, 3);
    /* Completed in the order 2, 0, 1: used descriptors go to slots 0, 1, 2 in that order. */
    assert_int_equal(virtq_push(&f->queue, &requests[2], 3), 0);
    assert_int_equal(virtq_push(&f->queue, &requests[0], 1), 0);
    assert_int_equal(virtq_push(&f->queue, &requests[1], 2), 0);
    assert_int_equal(ring_slot(f, 0)->id, 2);
    assert_int_equal(ring_slot(f, 1)->id, 0);
    assert_int_equal(ring_slot(f, 2)->id, 1);
    expect_used(f, 2, 3);
    expect_used(f, 0, 1);
    expect_used(f, 1, 2);
    assert_int_equal(f->queue.in_flight_count, 0);
    /* Everything was returned, so the ring is usable from slot 0 of the next lap. */
    assert_int_equal(f->queue.packed.next_used, 0);
    assert_false(f->queue.packed.used_wrap_counter);
    pop_and_push_one(f, 3);
}

static void test_indirect_chain(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, VRING_DESC_F_NEXT);
    write_table_entry(f, TABLE_GPA, 1, HIGH_RAM_GPA, 0x800, VRING_DESC_F_NEXT);
    write_table_entry(f, TABLE_GPA, 2, HIGH_RAM_GPA + 0x800, 0x100, VRING_DESC_F_WRITE);
    /* The WRITE flag on the descriptor that points at the table means nothing. */
    driver_offer_one(f, 4, TABLE_GPA, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 4);
    assert_int_equal(f->request.ring_slots, 1);
    assert_int_equal(f->request.readable_count, 2);
    assert_int_equal(f->request.readable_bytes, 0x810);
    assert_int_equal(f->request.writable_count, 1);
    assert_int_equal(f->request.writable_bytes, 0x100);
    assert_ptr_equal(f->request.segments[2].iov_base, host(f, HIGH_RAM_GPA + 0x800, 0x100));
    assert_int_equal(virtq_push(&f->queue, &f->request, 0x80), 0);
    expect_used(f, 4, 0x80);
    /* An indirect chain takes one slot, so the next buffer is read from slot 1. */
    driver_offer_one(f, 4, BUFFER_GPA, 16, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_bytes, 16);
}

/* ---- event suppression ---------------------------------------------------- */

static void set_driver_event(struct fixture *f, uint16_t flags, uint16_t offset, bool wrap)
{
    struct vring_packed_desc_event *event = host(f, DRIVER_GPA, sizeof(*event));
    event->off_wrap = offset | (wrap ? 1u << VRING_PACKED_EVENT_F_WRAP_CTR : 0);
    event->flags = flags;
}

static void complete_one(struct fixture *f, uint16_t id)
{
    driver_offer_one(f, id, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 1), 0);
}

static void test_notify_enable_and_disable(void **state)
{
    struct fixture *f = *state;
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_ENABLE, 0, true);
    complete_one(f, 0);
    assert_true(virtq_should_notify(&f->queue));
    /* Nothing pushed since: no spare interrupt. */
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 1);
    assert_true(virtq_should_notify(&f->queue));
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DISABLE, 0, true);
    complete_one(f, 2);
    assert_false(virtq_should_notify(&f->queue));
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_ENABLE, 0, true);
    complete_one(f, 3);
    assert_true(virtq_should_notify(&f->queue));
}

static void test_notify_desc_mode(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, true, false);
    /* The first call has nothing to compare with: it notifies. */
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 2, true);
    assert_true(virtq_should_notify(&f->queue));
    /* Ask to hear of the used descriptor at slot 2 of lap 1 (wrap counter 1). */
    complete_one(f, 0); /* used slot 0 */
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 1); /* used slot 1 */
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 2); /* used slot 2: the one asked for */
    assert_true(virtq_should_notify(&f->queue));
    complete_one(f, 3); /* slot 3: past it, already signalled */
    assert_false(virtq_should_notify(&f->queue));
    /* Now lap 0 (wrap counter 0): an event at slot 1 of that lap, reached by a batch of two. */
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 1, false);
    complete_one(f, 0); /* slot 0, lap 0 */
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 1); /* slot 1, lap 0 */
    complete_one(f, 2); /* slot 2, lap 0 */
    assert_true(virtq_should_notify(&f->queue));
    /* An event at slot 1 of lap 1 again lies a whole lap ahead: not reached by slots 3, 0. */
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 1, true);
    complete_one(f, 3);
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 0); /* slot 0, lap 1 */
    assert_false(virtq_should_notify(&f->queue));
    complete_one(f, 1); /* slot 1, lap 1 */
    assert_true(virtq_should_notify(&f->queue));
    /* No pushes since the last call: the named descriptor cannot have been passed again. */
    assert_false(virtq_should_notify(&f->queue));
}

static void test_notify_desc_mode_across_ring_end(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, true, false);
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 0, false);
    assert_true(virtq_should_notify(&f->queue));
    complete_one(f, 0);
    complete_one(f, 1);
    complete_one(f, 2);
    assert_false(virtq_should_notify(&f->queue));
    /* One batch writes slot 3 of lap 1 and slot 0 of lap 0: the event (slot 0, wrap 0) lies inside it. */
    complete_one(f, 3);
    complete_one(f, 0);
    assert_true(virtq_should_notify(&f->queue));
}

static void test_notify_desc_mode_without_event_idx_notifies(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 8, false, false);
    set_driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 5, true);
    assert_true(virtq_should_notify(&f->queue));
    complete_one(f, 0);
    /* DESC is only valid with EVENT_IDX; without it the device treats it as ENABLE. */
    assert_true(virtq_should_notify(&f->queue));
    /* The reserved value 3 is treated as ENABLE as well. */
    set_driver_event(f, 3, 5, true);
    complete_one(f, 1);
    assert_true(virtq_should_notify(&f->queue));
}

static void test_kick_suppression(void **state)
{
    struct fixture *f = *state;
    struct vring_packed_desc_event *device_event = host(f, DEVICE_GPA, sizeof(*device_event));
    /* Enabling the queue resets the device event structure to ENABLE, whatever was there. */
    device_event->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
    device_event->off_wrap = 0x1234;
    reconfigure(f, 4, false, false);
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
    assert_int_equal(device_event->off_wrap, 0);
    /* Without EVENT_IDX: DISABLE / ENABLE. */
    virtq_disable_kicks(&f->queue);
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
    assert_false(virtq_enable_kicks(&f->queue));
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
    virtq_disable_kicks(&f->queue);
    driver_offer_one(f, 0, BUFFER_GPA, 16, 0);
    /* A buffer arrived while kicks were off: enabling says so. */
    assert_true(virtq_enable_kicks(&f->queue));
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_false(virtq_enable_kicks(&f->queue));

    /* With EVENT_IDX: DESC naming the next slot to read and the device's wrap counter. */
    reconfigure(f, 4, true, false);
    for (uint16_t id = 0; id < 3; id++) {
        driver_offer_one(f, id, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
        assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
        assert_int_equal(virtq_push(&f->queue, &f->request, 0), 0);
    }
    virtq_disable_kicks(&f->queue);
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
    assert_false(virtq_enable_kicks(&f->queue));
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
    assert_int_equal(device_event->off_wrap, 3 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
    driver_offer_one(f, 3, BUFFER_GPA, 16, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_false(virtq_enable_kicks(&f->queue));
    /* Slot 0 of the next lap: wrap counter 0. */
    assert_int_equal(device_event->off_wrap, 0);
    driver_offer_one(f, 0, BUFFER_GPA, 16, 0);
    assert_true(virtq_enable_kicks(&f->queue));
}

/* With EVENT_IDX, a pop that finds the ring empty asks for a kick at the next slot (as the split ring does). */
static void test_empty_pop_rearms_device_event(void **state)
{
    struct fixture *f = *state;
    struct vring_packed_desc_event *device_event = host(f, DEVICE_GPA, sizeof(*device_event));
    reconfigure(f, 4, true, false);
    virtq_disable_kicks(&f->queue);
    assert_false(virtq_enable_kicks(&f->queue));
    for (uint16_t id = 0; id < 3; id++)
        driver_offer_one(f, id, BUFFER_GPA, 16, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
    assert_int_equal(device_event->off_wrap, 3 | 1u << VRING_PACKED_EVENT_F_WRAP_CTR);
    /* While kicks are disabled (the device polls), an empty pop leaves them disabled. */
    virtq_disable_kicks(&f->queue);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    assert_int_equal(device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
}

static void test_push_rejects_ids_not_in_flight(void **state)
{
    struct fixture *f = *state;
    f->request.id = 1;
    f->request.ring_slots = 1;
    f->request.writable_bytes = 0;
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), -1);
    driver_offer_one(f, 1, BUFFER_GPA, 16, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    struct virtq_request wrong = f->request;
    wrong.id = 2;
    assert_int_equal(virtq_push(&f->queue, &wrong, 0), -1);
    wrong = f->request;
    wrong.ring_slots = 2; /* more slots than are in flight */
    assert_int_equal(virtq_push(&f->queue, &wrong, 0), -1);
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), 0);
    /* Nothing was written for the refused pushes: exactly one used descriptor. */
    expect_used(f, 1, 0);
    uint16_t id;
    uint32_t len;
    assert_false(driver_take_used(f, &id, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_single_descriptor_chain),
        TEST(test_multi_descriptor_chain),
        TEST(test_wrap_around_many_laps),
        TEST(test_out_of_order_completion),
        TEST(test_indirect_chain),
        TEST(test_notify_enable_and_disable),
        TEST(test_notify_desc_mode),
        TEST(test_notify_desc_mode_across_ring_end),
        TEST(test_notify_desc_mode_without_event_idx_notifies),
        TEST(test_kick_suppression),
        TEST(test_empty_pop_rearms_device_event),
        TEST(test_push_rejects_ids_not_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
