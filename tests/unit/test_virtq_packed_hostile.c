/*
 * Device side of the packed virtqueue against a hostile driver: one test per
 * kind of malformed ring, wrap-counter confusion, ids and slots in flight, and
 * the single fetch of each descriptor (the seam rewrites guest memory right
 * after the copy). The fixture is in packed_ring_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/packed_ring_fixture.h"

/* ---- hostile: enable ----------------------------------------------------- */

static void test_enable_rejects_unaligned_descriptor_ring(void **state)
{
    struct fixture *f = *state;
    f->config.desc_gpa = DESC_GPA + 8;
    assert_enable_refused(f, "16-byte");
}

static void test_enable_rejects_unaligned_event_areas(void **state)
{
    struct fixture *f = *state;
    f->config.driver_gpa = DRIVER_GPA + 2;
    assert_enable_refused(f, "4-byte");
    f->config.driver_gpa = DRIVER_GPA;
    f->config.device_gpa = DEVICE_GPA + 1;
    assert_enable_refused(f, "4-byte");
}

static void test_enable_rejects_rings_outside_ram(void **state)
{
    struct fixture *f = *state;
    /* Descriptor ring straddling the end of low RAM. */
    f->config.desc_gpa = LOW_RAM_SIZE - 4 * 16;
    assert_enable_refused(f, "outside guest RAM");
    /* Descriptor ring in the hole. */
    f->config.desc_gpa = HOLE_GPA;
    assert_enable_refused(f, "outside guest RAM");
    /* Ring end wrapping the address space. */
    f->config.desc_gpa = UINT64_MAX - 15;
    assert_enable_refused(f, "outside guest RAM");
    f->config.desc_gpa = DESC_GPA;
    f->config.driver_gpa = HOLE_GPA + 0x100;
    assert_enable_refused(f, "outside guest RAM");
    f->config.driver_gpa = DRIVER_GPA;
    f->config.device_gpa = HIGH_RAM_GPA + HIGH_RAM_SIZE;
    assert_enable_refused(f, "outside guest RAM");
    f->config.device_gpa = UINT64_MAX - 3;
    assert_enable_refused(f, "outside guest RAM");
    /* Everything in place again: the same queue enables. */
    f->config.device_gpa = DEVICE_GPA;
    assert_int_equal(enable_queue(f), 0);
    assert_false(virtq_is_broken(&f->queue));
}

static void test_enable_accepts_rings_in_high_ram(void **state)
{
    struct fixture *f = *state;
    f->config.desc_gpa = HIGH_RAM_GPA + HIGH_RAM_SIZE - 8 * 16;
    f->config.driver_gpa = HIGH_RAM_GPA;
    f->config.device_gpa = HIGH_RAM_GPA + HIGH_RAM_SIZE - 4;
    assert_int_equal(enable_queue(f), 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
}

/* ---- hostile: chains ----------------------------------------------------- */

static void test_chain_longer_than_queue_size(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, false, false);
    /* Every slot says NEXT: the chain runs into its own head. */
    for (uint16_t slot = 3; slot < 4; slot--)
        write_slot(f, slot, BUFFER_GPA, 64, 0, avail_bits(true) | VRING_DESC_F_NEXT);
    assert_pop_broken(f);
    assert_reason_contains(f, "longer than the queue size");
}

static void test_endless_chain_of_zero_length_descriptors(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, VIRTQ_MAX_SIZE, false, false);
    /* The whole ring (in both laps' states) is zero-length NEXT descriptors. */
    for (uint16_t slot = VIRTQ_MAX_SIZE - 1; slot < VIRTQ_MAX_SIZE; slot--)
        write_slot(f, slot, BUFFER_GPA, 0, 0, avail_bits(true) | VRING_DESC_F_NEXT);
    assert_pop_broken(f);
    assert_reason_contains(f, "longer than the queue size");
}

static void test_buffer_outside_ram(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 0, HOLE_GPA + 0x100, 16, 0);
    assert_pop_broken(f);
    assert_reason_contains(f, "outside guest RAM");
}

static void test_buffer_length_past_end_of_ram(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 0, LOW_RAM_SIZE - 16, 17, VRING_DESC_F_WRITE);
    assert_pop_broken(f);
    assert_reason_contains(f, "outside guest RAM");
}

static void test_buffer_address_plus_length_wraps(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 0, UINT64_MAX - 15, 0x100, 0);
    assert_pop_broken(f);
    assert_reason_contains(f, "outside guest RAM");
}

static void test_chain_above_4_gib(void **state)
{
    struct fixture *f = *state;
    /* 4 GiB of RAM from 4 GiB up: reserved, never touched. */
    guarded_memory_add(&f->memory, 0x100000000ull, 0x100000000ull);
    struct buffer buffers[] = {
        { 0x100000000ull, 0xFFFFF000u, 0 },
        { 0x100000000ull, 0x2000u, 0 },
    };
    driver_offer(f, 0, buffers, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "4 GiB");
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    struct buffer buffers[] = {
        { BUFFER_GPA, 16, VRING_DESC_F_WRITE },
        { BUFFER_GPA + 16, 16, 0 },
    };
    driver_offer(f, 0, buffers, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "readable buffer after a device-writable");
}

/* A zero-length writable descriptor still ends the readable part of the chain. */
static void test_readable_after_zero_length_writable(void **state)
{
    struct fixture *f = *state;
    struct buffer buffers[] = {
        { BUFFER_GPA, 0, VRING_DESC_F_WRITE },
        { BUFFER_GPA + 16, 16, 0 },
    };
    driver_offer(f, 0, buffers, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "readable buffer after a device-writable");
}

static void test_more_segments_than_capacity(void **state)
{
    struct fixture *f = *state;
    f->request.segment_capacity = 2;
    struct buffer buffers[] = {
        { BUFFER_GPA, 16, 0 },
        { BUFFER_GPA + 16, 16, 0 },
        { BUFFER_GPA + 32, 16, 0 },
    };
    driver_offer(f, 0, buffers, 3);
    assert_pop_broken(f);
    assert_reason_contains(f, "segments");
}

/* ---- hostile: indirect ---------------------------------------------------- */

static void test_indirect_table_of_length_zero(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "indirect table length");
}

static void test_indirect_table_length_not_multiple_of_16(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, 0);
    write_table_entry(f, TABLE_GPA, 1, BUFFER_GPA, 16, 0);
    driver_offer_one(f, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "multiple of 16");
}

static void test_nested_indirect(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, 0);
    write_table_entry(f, TABLE_GPA, 1, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    driver_offer_one(f, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "nested indirect");
}

static void test_indirect_with_next(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, 0);
    struct buffer buffers[] = {
        { TABLE_GPA, 16, VRING_DESC_F_INDIRECT },
        { BUFFER_GPA, 16, VRING_DESC_F_WRITE },
    };
    driver_offer(f, 0, buffers, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "indirect descriptor with NEXT");
}

static void test_indirect_inside_a_chain(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    struct buffer buffers[] = {
        { BUFFER_GPA, 16, 0 },
        { TABLE_GPA, 16, VRING_DESC_F_INDIRECT },
    };
    driver_offer(f, 0, buffers, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "indirect descriptor inside a chain");
}

static void test_indirect_table_outside_ram(void **state)
{
    struct fixture *f = *state;
    /* Starts in RAM, ends in the hole. */
    driver_offer_one(f, 0, LOW_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "indirect table outside guest RAM");
}

static void test_indirect_without_feature(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 8, true, false);
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, 0);
    driver_offer_one(f, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "VIRTIO_RING_F_INDIRECT_DESC");
}

static void test_indirect_table_longer_than_queue_size(void **state)
{
    struct fixture *f = *state;
    /* Queue size 8; a table of 9 zero-length entries. */
    for (unsigned i = 0; i < 9; i++)
        write_table_entry(f, TABLE_GPA, i, BUFFER_GPA, 0, 0);
    driver_offer_one(f, 0, TABLE_GPA, 9 * 16, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "longer than the queue size");
}

static void test_indirect_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    write_table_entry(f, TABLE_GPA, 1, BUFFER_GPA, 16, 0);
    driver_offer_one(f, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "readable buffer after a device-writable");
}

static void test_indirect_readable_after_zero_length_writable(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 0, VRING_DESC_F_WRITE);
    write_table_entry(f, TABLE_GPA, 1, BUFFER_GPA, 16, 0);
    driver_offer_one(f, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "readable buffer after a device-writable");
}

static void test_indirect_entry_outside_ram(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 16, 0);
    write_table_entry(f, TABLE_GPA, 1, HOLE_GPA, 16, VRING_DESC_F_WRITE);
    driver_offer_one(f, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    assert_pop_broken(f);
    assert_reason_contains(f, "outside guest RAM");
}

/* ---- hostile: wrap counters, ids, in-flight -------------------------------- */

static void test_wrap_confusion_later_descriptor(void **state)
{
    struct fixture *f = *state;
    /* Head available in lap 1; its successor still in lap 0's used state. */
    write_slot(f, 1, BUFFER_GPA + 16, 16, 0, FLAG_USED | VRING_DESC_F_WRITE);
    write_slot(f, 0, BUFFER_GPA, 16, 0, avail_bits(true) | VRING_DESC_F_NEXT);
    assert_pop_broken(f);
    assert_reason_contains(f, "wrap counter");
}

static void test_wrap_confusion_across_ring_end(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, false, false);
    for (uint16_t id = 0; id < 3; id++)
        pop_and_push_one(f, id);
    /* A chain from slot 3 into slot 0 whose second descriptor did not flip to the new lap. */
    write_slot(f, 0, BUFFER_GPA + 16, 16, 1, avail_bits(true) | VRING_DESC_F_WRITE);
    write_slot(f, 3, BUFFER_GPA, 16, 1, avail_bits(true) | VRING_DESC_F_NEXT);
    assert_pop_broken(f);
    assert_reason_contains(f, "wrap counter");
}

static void test_previous_lap_descriptor_is_not_popped(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 2, false, false);
    pop_and_push_one(f, 0);
    pop_and_push_one(f, 1);
    /* The device is in lap 0 now. A descriptor marked available for lap 1 is stale, not new. */
    write_slot(f, 0, BUFFER_GPA, 16, 0, avail_bits(true));
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    assert_false(virtq_is_broken(&f->queue));
    /* Its own used descriptors are not available either. */
    write_slot(f, 0, BUFFER_GPA, 16, 0, FLAG_AVAIL | FLAG_USED);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    write_slot(f, 0, BUFFER_GPA, 16, 0, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_EMPTY);
    /* Properly offered in lap 0, it is popped. */
    write_slot(f, 0, BUFFER_GPA, 16, 0, avail_bits(false));
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
}

static void test_buffer_id_not_below_queue_size(void **state)
{
    struct fixture *f = *state;
    write_slot(f, 0, BUFFER_GPA, 16, 8, avail_bits(true));
    assert_pop_broken(f);
    assert_reason_contains(f, "buffer id");
}

static void test_buffer_id_not_below_queue_size_in_last_descriptor(void **state)
{
    struct fixture *f = *state;
    /* The head's id is fine; the id that counts is the last descriptor's. */
    write_slot(f, 1, BUFFER_GPA + 16, 16, 0xFFFF, avail_bits(true));
    write_slot(f, 0, BUFFER_GPA, 16, 1, avail_bits(true) | VRING_DESC_F_NEXT);
    assert_pop_broken(f);
    assert_reason_contains(f, "buffer id");
}

static void test_buffer_id_already_in_flight(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 3, BUFFER_GPA, 16, 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    driver_offer_one(f, 3, BUFFER_GPA, 16, 0);
    assert_pop_broken(f);
    assert_reason_contains(f, "already in flight");
}

static void test_more_descriptors_in_flight_than_queue_size(void **state)
{
    struct fixture *f = *state;
    reconfigure(f, 4, false, false);
    struct buffer three[] = { { BUFFER_GPA, 16, 0 }, { BUFFER_GPA, 16, 0 }, { BUFFER_GPA, 16, 0 } };
    driver_offer(f, 0, three, 3);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.ring_slots, 3);
    /* Slot 0 was never returned, yet the driver offers it again in the next lap. */
    struct buffer two[] = { { BUFFER_GPA, 16, 0 }, { BUFFER_GPA, 16, 0 } };
    driver_offer(f, 1, two, 2);
    assert_pop_broken(f);
    assert_reason_contains(f, "in flight");
}

static void test_broken_queue_stays_broken_until_reset(void **state)
{
    struct fixture *f = *state;
    driver_offer_one(f, 0, HOLE_GPA, 16, 0);
    assert_pop_broken(f);
    const char *reason = virtq_broken_reason(&f->queue);
    /* The driver repairs the descriptor: the queue stays broken, with its first reason. */
    write_slot(f, 0, BUFFER_GPA, 16, 0, avail_bits(true));
    assert_pop_broken(f);
    assert_string_equal(virtq_broken_reason(&f->queue), reason);
    f->request.id = 0;
    f->request.ring_slots = 1;
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), -1);
    virtq_disable_kicks(&f->queue);
    assert_false(virtq_enable_kicks(&f->queue));
    /* Reset and enable again: the repaired descriptor pops. */
    virtq_reset(&f->queue);
    assert_false(virtq_is_broken(&f->queue));
    assert_int_equal(enable_queue(f), 0);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_bytes, 16);
}

/* ---- no double fetch ------------------------------------------------------ */

/* Rewrites every descriptor the device has just copied into something that would be rejected or different. */
static void corrupt_descriptor_after_copy(void *location)
{
    struct vring_packed_desc evil = {
        .addr = HOLE_GPA + 0x40,
        .len = 0xFFFFFFF0u,
        .id = 0x7777,
        .flags = VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT | FLAG_USED,
    };
    memcpy(location, &evil, sizeof(evil));
}

static unsigned repaired_descriptors;

/* The opposite: a descriptor that was bad when copied becomes good in guest memory afterwards. */
static void repair_descriptor_after_copy(void *location)
{
    struct vring_packed_desc *descriptor = location;
    if (descriptor->addr == HOLE_GPA) {
        descriptor->addr = BUFFER_GPA;
        repaired_descriptors++;
    }
}

static void test_no_double_fetch_ring_descriptors(void **state)
{
    struct fixture *f = *state;
    struct buffer buffers[] = {
        { BUFFER_GPA, 100, 0 },
        { BUFFER_GPA + 0x100, 200, VRING_DESC_F_WRITE },
    };
    driver_offer(f, 5, buffers, 2);
    packed_ring_descriptor_copied_hook = corrupt_descriptor_after_copy;
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    packed_ring_descriptor_copied_hook = NULL;
    /* The request is what was checked: the first copies, not the rewritten memory. */
    assert_int_equal(f->request.id, 5);
    assert_int_equal(f->request.ring_slots, 2);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 1);
    assert_ptr_equal(f->request.segments[0].iov_base, host(f, BUFFER_GPA, 100));
    assert_int_equal(f->request.segments[0].iov_len, 100);
    assert_ptr_equal(f->request.segments[1].iov_base, host(f, BUFFER_GPA + 0x100, 200));
    assert_int_equal(f->request.segments[1].iov_len, 200);
    /* The hook really ran: guest memory holds the rewritten descriptors. */
    assert_int_equal(ring_slot(f, 0)->id, 0x7777);
    assert_int_equal(ring_slot(f, 1)->addr, HOLE_GPA + 0x40);
    assert_false(virtq_is_broken(&f->queue));
    assert_int_equal(virtq_push(&f->queue, &f->request, 50), 0);
    assert_int_equal(ring_slot(f, 0)->id, 5);
    assert_int_equal(ring_slot(f, 0)->len, 50);
}

static void test_no_double_fetch_indirect_table(void **state)
{
    struct fixture *f = *state;
    write_table_entry(f, TABLE_GPA, 0, BUFFER_GPA, 64, 0);
    write_table_entry(f, TABLE_GPA, 1, BUFFER_GPA + 0x200, 32, VRING_DESC_F_WRITE);
    driver_offer_one(f, 2, TABLE_GPA, 32, VRING_DESC_F_INDIRECT);
    packed_ring_descriptor_copied_hook = corrupt_descriptor_after_copy;
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    packed_ring_descriptor_copied_hook = NULL;
    assert_int_equal(f->request.id, 2);
    assert_int_equal(f->request.ring_slots, 1);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 1);
    assert_ptr_equal(f->request.segments[0].iov_base, host(f, BUFFER_GPA, 64));
    assert_int_equal(f->request.segments[0].iov_len, 64);
    assert_ptr_equal(f->request.segments[1].iov_base, host(f, BUFFER_GPA + 0x200, 32));
    assert_int_equal(f->request.segments[1].iov_len, 32);
    struct vring_packed_desc entry;
    assert_int_equal(guest_memory_read(&f->memory, TABLE_GPA + 16, &entry, sizeof(entry)), 0);
    assert_int_equal(entry.addr, HOLE_GPA + 0x40);
}

static void test_no_double_fetch_bad_copy_stays_bad(void **state)
{
    struct fixture *f = *state;
    repaired_descriptors = 0;
    driver_offer_one(f, 0, HOLE_GPA, 16, 0);
    packed_ring_descriptor_copied_hook = repair_descriptor_after_copy;
    assert_pop_broken(f);
    packed_ring_descriptor_copied_hook = NULL;
    assert_int_equal(repaired_descriptors, 1);
    assert_reason_contains(f, "outside guest RAM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_enable_rejects_unaligned_descriptor_ring),
        TEST(test_enable_rejects_unaligned_event_areas),
        TEST(test_enable_rejects_rings_outside_ram),
        TEST(test_enable_accepts_rings_in_high_ram),
        TEST(test_chain_longer_than_queue_size),
        TEST(test_endless_chain_of_zero_length_descriptors),
        TEST(test_buffer_outside_ram),
        TEST(test_buffer_length_past_end_of_ram),
        TEST(test_buffer_address_plus_length_wraps),
        TEST(test_chain_above_4_gib),
        TEST(test_readable_after_writable),
        TEST(test_readable_after_zero_length_writable),
        TEST(test_more_segments_than_capacity),
        TEST(test_indirect_table_of_length_zero),
        TEST(test_indirect_table_length_not_multiple_of_16),
        TEST(test_nested_indirect),
        TEST(test_indirect_with_next),
        TEST(test_indirect_inside_a_chain),
        TEST(test_indirect_table_outside_ram),
        TEST(test_indirect_without_feature),
        TEST(test_indirect_table_longer_than_queue_size),
        TEST(test_indirect_readable_after_writable),
        TEST(test_indirect_readable_after_zero_length_writable),
        TEST(test_indirect_entry_outside_ram),
        TEST(test_wrap_confusion_later_descriptor),
        TEST(test_wrap_confusion_across_ring_end),
        TEST(test_previous_lap_descriptor_is_not_popped),
        TEST(test_buffer_id_not_below_queue_size),
        TEST(test_buffer_id_not_below_queue_size_in_last_descriptor),
        TEST(test_buffer_id_already_in_flight),
        TEST(test_more_descriptors_in_flight_than_queue_size),
        TEST(test_broken_queue_stays_broken_until_reset),
        TEST(test_no_double_fetch_ring_descriptors),
        TEST(test_no_double_fetch_indirect_table),
        TEST(test_no_double_fetch_bad_copy_stays_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
