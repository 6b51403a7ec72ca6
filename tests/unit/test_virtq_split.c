/*
 * The split virtqueue, device side: well-formed rings, notifications and
 * kick suppression, enable-time checks. Hostile rings are in
 * test_virtq_split_hostile.c; the fixture in split_ring_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mem/iovec.h"
#include "unit/split_ring_fixture.h"
#include "virtio/virtqueue.h"

/* ---- well-formed rings ------------------------------------------------- */

static void test_empty_queue_pops_nothing(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    assert_false(virtq_is_broken(&f->queue));
}

static void test_single_readable_descriptor(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    memcpy(host(f, BUFFER_GPA), "hello", 5);
    ring_write_descriptor(&f->writer, 3, BUFFER_GPA, 5, 0, 0);
    ring_offer(&f->writer, 3);

    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 3);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 0);
    assert_int_equal(f->request.readable_bytes, 5);
    assert_ptr_equal(f->segments[0].iov_base, host(f, BUFFER_GPA));
    assert_int_equal(f->segments[0].iov_len, 5);
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
}

static void test_readable_then_writable_chain_across_regions(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 16, VRING_DESC_F_NEXT, 5);
    ring_write_descriptor(&f->writer, 5, HIGH_RAM_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    ring_write_descriptor(&f->writer, 2, BUFFER_GPA + 0x100, 1, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 0);

    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 0);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 2);
    assert_int_equal(f->request.readable_bytes, 16);
    assert_int_equal(f->request.writable_bytes, 513);
    assert_ptr_equal(f->segments[0].iov_base, host(f, BUFFER_GPA));
    assert_ptr_equal(f->segments[1].iov_base, host(f, HIGH_RAM_GPA + 0x100));
    assert_int_equal(f->segments[1].iov_len, 512);
    assert_ptr_equal(f->segments[2].iov_base, host(f, BUFFER_GPA + 0x100));
}

static void test_zero_length_descriptor_in_a_chain_is_skipped(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 0, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA, 8, 0, 0);
    ring_offer(&f->writer, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.readable_bytes, 8);
}

static void test_full_length_chain_is_accepted(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    for (uint16_t i = 0; i < 8; i++)
        ring_write_descriptor(&f->writer, i, BUFFER_GPA + i, 1, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
    ring_offer(&f->writer, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_count, 8);
}

static void test_push_writes_used_element_and_index(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 6, BUFFER_GPA, 4, VRING_DESC_F_NEXT, 7);
    ring_write_descriptor(&f->writer, 7, BUFFER_GPA + 0x10, 100, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 6);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(ring_used_idx(&f->writer), 0);

    assert_int_equal(iovec_write_request(&f->request, 0, "abc", 3), 3);
    assert_int_equal(virtq_push(&f->queue, &f->request, 3), 0);
    assert_int_equal(ring_used_idx(&f->writer), 1);
    struct vring_used_elem element = ring_used_element(&f->writer, 0);
    assert_int_equal(element.id, 6);
    assert_int_equal(element.len, 3);
    assert_memory_equal(host(f, BUFFER_GPA + 0x10), "abc", 3);

    /* The id is no longer in flight: pushing it again is a device bug. */
    assert_int_equal(virtq_push(&f->queue, &f->request, 3), -1);
    assert_int_equal(ring_used_idx(&f->writer), 1);
}

static void test_push_of_an_id_not_in_flight_fails(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    struct virtq_request bogus = { .id = 2 };
    assert_int_equal(virtq_push(&f->queue, &bogus, 0), -1);
    bogus.id = 0xffff;
    assert_int_equal(virtq_push(&f->queue, &bogus, 0), -1);
    assert_int_equal(ring_used_idx(&f->writer), 0);
}

static void test_push_clamps_written_to_the_writable_bytes(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 64, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 1000), 0);
    assert_int_equal(ring_used_element(&f->writer, 0).len, 64);
}

static void test_out_of_order_completion(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 4, false, false);
    struct iovec segments[3][2];
    struct virtq_request requests[3];
    for (uint16_t i = 0; i < 3; i++) {
        ring_write_descriptor(&f->writer, i, BUFFER_GPA + 0x100 * i, 0x10, VRING_DESC_F_WRITE, 0);
        ring_offer(&f->writer, i);
        requests[i] = (struct virtq_request){ .segments = segments[i], .segment_capacity = 2 };
        assert_int_equal(virtq_pop(&f->queue, &requests[i]), VIRTQ_POP_OK);
        assert_int_equal(requests[i].id, i);
    }
    assert_int_equal(virtq_push(&f->queue, &requests[2], 1), 0);
    assert_int_equal(virtq_push(&f->queue, &requests[0], 2), 0);
    assert_int_equal(virtq_push(&f->queue, &requests[1], 3), 0);
    assert_int_equal(ring_used_idx(&f->writer), 3);
    assert_int_equal(ring_used_element(&f->writer, 0).id, 2);
    assert_int_equal(ring_used_element(&f->writer, 1).id, 0);
    assert_int_equal(ring_used_element(&f->writer, 2).id, 1);
    assert_int_equal(ring_used_element(&f->writer, 2).len, 3);
}

static void test_indirect_chain(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    /* Table of 3 entries, walked out of order: 0 -> 2 -> 1. */
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 16, VRING_DESC_F_NEXT, 2);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 2, BUFFER_GPA + 0x10, 32, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 1, HIGH_RAM_GPA, 4096, VRING_DESC_F_WRITE, 0);
    ring_write_descriptor(&f->writer, 4, INDIRECT_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    ring_offer(&f->writer, 4);

    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 4);
    assert_int_equal(f->request.readable_count, 2);
    assert_int_equal(f->request.writable_count, 1);
    assert_int_equal(f->request.readable_bytes, 48);
    assert_int_equal(f->request.writable_bytes, 4096);
    assert_ptr_equal(f->segments[1].iov_base, host(f, BUFFER_GPA + 0x10));
    assert_ptr_equal(f->segments[2].iov_base, host(f, HIGH_RAM_GPA));
    assert_int_equal(virtq_push(&f->queue, &f->request, 4096), 0);
    assert_int_equal(ring_used_element(&f->writer, 0).id, 4);
}

static void test_indirect_table_after_direct_descriptors(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA + 0x40, 8, VRING_DESC_F_WRITE, 0);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 16, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    ring_offer(&f->writer, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 1);
}

static void test_indirect_table_as_large_as_the_queue(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    for (uint16_t i = 0; i < 8; i++)
        ring_write_descriptor_at(&f->writer, INDIRECT_GPA, i, BUFFER_GPA + i, 1, i < 7 ? VRING_DESC_F_NEXT : 0,
                                 i + 1);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 8 * 16, VRING_DESC_F_INDIRECT, 0);
    ring_offer(&f->writer, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.readable_count, 8);
}

/* Runs well past 65536 requests on a 4-entry ring, so every 16-bit index wraps. */
static void test_indices_wrap_around(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 4, true, false);
    for (uint16_t i = 0; i < 4; i++)
        ring_write_descriptor(&f->writer, i, BUFFER_GPA + 0x100 * i, 0x100, VRING_DESC_F_WRITE, 0);
    for (uint32_t round = 0; round < 70000; round++) {
        uint16_t head = (uint16_t)(round * 3 % 4);
        ring_offer(&f->writer, head);
        assert_int_equal(pop(f), VIRTQ_POP_OK);
        assert_int_equal(f->request.id, head);
        assert_int_equal(virtq_push(&f->queue, &f->request, round & 0xff), 0);
        uint16_t used = ring_used_idx(&f->writer);
        assert_int_equal(used, (uint16_t)(round + 1));
        struct vring_used_elem element = ring_used_element(&f->writer, (uint16_t)(used - 1));
        assert_int_equal(element.id, head);
        assert_int_equal(element.len, round & 0xff);
        /* The driver asks for an interrupt at every completion. */
        *ring_used_event(&f->writer) = (uint16_t)(used - 1);
        assert_true(virtq_should_notify(&f->queue));
    }
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    assert_false(virtq_is_broken(&f->queue));
}

static void test_queue_of_size_one(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 1, true, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 8, VRING_DESC_F_WRITE, 0);
    for (uint16_t round = 0; round < 5; round++) {
        ring_offer(&f->writer, 0);
        assert_int_equal(pop(f), VIRTQ_POP_OK);
        assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
        assert_int_equal(virtq_push(&f->queue, &f->request, 8), 0);
        assert_int_equal(ring_used_idx(&f->writer), round + 1);
        assert_int_equal(ring_used_element(&f->writer, 0).id, 0);
    }
    /* Two published at once is more than a queue of one holds. */
    ring_set_avail_idx(&f->writer, (uint16_t)(f->writer.avail_idx + 2));
    assert_broken_because(f, pop(f), "more than the queue size ahead");
}

static void test_queue_of_the_maximum_size(void **state)
{
    struct fixture *f = *state;
    /* 16 KiB of descriptors, then the rings, all in low RAM; buffers in high RAM. */
    enum { DESC = 0x4000, AVAIL = 0x8000, USED = 0x9000 };
    ring_writer_init(&f->writer, &f->memory, VIRTQ_MAX_SIZE, DESC, AVAIL, USED);
    f->config = split_config(VIRTQ_MAX_SIZE, true, false);
    f->config.desc_gpa = DESC;
    f->config.driver_gpa = AVAIL;
    f->config.device_gpa = USED;
    assert_int_equal(virtq_enable(&f->queue, &f->memory, &f->config), 0);
    ring_write_descriptor(&f->writer, 1023, HIGH_RAM_GPA, 16, VRING_DESC_F_NEXT, 0);
    ring_write_descriptor(&f->writer, 0, HIGH_RAM_GPA + 16, 16, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 1023);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 1023);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 1);
    assert_int_equal(virtq_push(&f->queue, &f->request, 16), 0);
    assert_int_equal(ring_used_element(&f->writer, 0).id, 1023);
    /* avail_event sits right after the 1024 used elements. */
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    assert_int_equal(*ring_avail_event(&f->writer), 1);
}

/* CVE-2016-5403: more requests in flight than the queue holds. */
static void test_more_requests_than_the_queue_holds(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 4, false, false);
    struct iovec segments[5][2];
    struct virtq_request requests[5];
    for (uint16_t i = 0; i < 4; i++) {
        ring_write_descriptor(&f->writer, i, BUFFER_GPA + 0x10 * i, 0x10, VRING_DESC_F_WRITE, 0);
        ring_offer(&f->writer, i);
    }
    for (int i = 0; i < 4; i++) {
        requests[i] = (struct virtq_request){ .segments = segments[i], .segment_capacity = 2 };
        assert_int_equal(virtq_pop(&f->queue, &requests[i]), VIRTQ_POP_OK);
    }
    assert_int_equal(f->queue.in_flight_count, 4);
    /* A fifth request can only reuse a head that is still in flight. */
    ring_offer(&f->writer, 1);
    requests[4] = (struct virtq_request){ .segments = segments[4], .segment_capacity = 2 };
    assert_int_equal(virtq_pop(&f->queue, &requests[4]), VIRTQ_POP_BROKEN);
    assert_non_null(strstr(virtq_broken_reason(&f->queue), "still in flight"));
    assert_int_equal(f->queue.in_flight_count, 4);
}

/* ---- notifications and kick suppression -------------------------------- */

static void complete_one(struct fixture *f, uint16_t head)
{
    ring_write_descriptor(&f->writer, head, BUFFER_GPA, 8, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, head);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 8), 0);
}

static void test_event_idx_notifies_when_used_event_is_crossed(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, true, false);
    /* The driver wants an interrupt once used idx passes 2 (i.e. after the 3rd completion). */
    *ring_used_event(&f->writer) = 2;
    complete_one(f, 0);
    assert_false(virtq_should_notify(&f->queue)); /* used 0 -> 1 */
    complete_one(f, 1);
    assert_false(virtq_should_notify(&f->queue)); /* 1 -> 2 */
    complete_one(f, 2);
    assert_true(virtq_should_notify(&f->queue)); /* 2 -> 3 crosses used_event 2 */
    /* Nothing new since: no interrupt, whatever used_event says. */
    assert_false(virtq_should_notify(&f->queue));
}

static void test_event_idx_batch_crossing_notifies_once(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, true, false);
    *ring_used_event(&f->writer) = 1;
    complete_one(f, 0);
    complete_one(f, 1);
    complete_one(f, 2);
    assert_true(virtq_should_notify(&f->queue)); /* 0 -> 3 crosses 1 */
    complete_one(f, 3);
    assert_false(virtq_should_notify(&f->queue)); /* 3 -> 4 does not cross 1 again */
}

static void test_event_idx_ignores_the_no_interrupt_flag(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, true, false);
    ring_avail(&f->writer)->flags = VRING_AVAIL_F_NO_INTERRUPT;
    *ring_used_event(&f->writer) = 0;
    complete_one(f, 0);
    assert_true(virtq_should_notify(&f->queue));
}

static void test_no_interrupt_flag_without_event_idx(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    complete_one(f, 0);
    assert_true(virtq_should_notify(&f->queue));
    assert_false(virtq_should_notify(&f->queue)); /* nothing new */
    ring_avail(&f->writer)->flags = VRING_AVAIL_F_NO_INTERRUPT;
    complete_one(f, 1);
    assert_false(virtq_should_notify(&f->queue));
    ring_avail(&f->writer)->flags = 0;
    complete_one(f, 2);
    assert_true(virtq_should_notify(&f->queue));
}

static void test_kick_suppression_with_flags(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    assert_int_equal(ring_used(&f->writer)->flags, 0);
    virtq_disable_kicks(&f->queue);
    assert_int_equal(ring_used(&f->writer)->flags, VRING_USED_F_NO_NOTIFY);
    assert_false(virtq_enable_kicks(&f->queue));
    assert_int_equal(ring_used(&f->writer)->flags, 0);

    /* A buffer arriving while kicks were off: enable_kicks reports it. */
    virtq_disable_kicks(&f->queue);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 8, 0, 0);
    ring_offer(&f->writer, 0);
    assert_true(virtq_enable_kicks(&f->queue));
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_false(virtq_enable_kicks(&f->queue));
}

static void test_kick_suppression_with_event_idx(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, true, false);
    uint16_t *avail_event = ring_avail_event(&f->writer);
    for (uint16_t i = 0; i < 3; i++)
        ring_write_descriptor(&f->writer, i, BUFFER_GPA, 8, 0, 0);
    ring_offer(&f->writer, 0);
    ring_offer(&f->writer, 1);

    virtq_disable_kicks(&f->queue);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    /* While polling, the driver's next index never passes avail_event: no kick. */
    assert_false(vring_need_event(*avail_event, 3, 2));

    ring_offer(&f->writer, 2);
    assert_true(virtq_enable_kicks(&f->queue)); /* arrived while kicks were off */
    assert_int_equal(*avail_event, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_false(virtq_enable_kicks(&f->queue));
    assert_int_equal(*avail_event, 3);
    /* The driver's next buffer (index 3 -> 4) passes avail_event 3: it kicks. */
    assert_true(vring_need_event(*avail_event, 4, 3));
}

static void test_empty_pop_rearms_avail_event(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, true, false);
    uint16_t *avail_event = ring_avail_event(&f->writer);
    for (uint16_t i = 0; i < 5; i++) {
        ring_write_descriptor(&f->writer, i, BUFFER_GPA, 8, 0, 0);
        ring_offer(&f->writer, i);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    /* Before sleeping the device asked for a kick at the next buffer. */
    assert_int_equal(*avail_event, 5);
    assert_true(vring_need_event(*avail_event, 6, 5));
}


/* ---- enable-time checks ------------------------------------------------ */

static void expect_enable_fails(struct fixture *f, struct virtq_config config, const char *expected_reason)
{
    assert_int_equal(virtq_enable(&f->queue, &f->memory, &config), -1);
    assert_true(virtq_is_broken(&f->queue));
    const char *reason = virtq_broken_reason(&f->queue);
    if (!strstr(reason, expected_reason))
        fail_msg("enable failed for \"%s\", expected \"%s\"", reason, expected_reason);
    assert_int_equal(pop(f), VIRTQ_POP_BROKEN);
}

static void test_enable_rejects_misaligned_rings(void **state)
{
    struct fixture *f = *state;
    struct virtq_config config = split_config(8, false, false);
    config.desc_gpa = DESC_GPA + 8;
    expect_enable_fails(f, config, "descriptor table not 16-byte aligned");
    config = split_config(8, false, false);
    config.driver_gpa = AVAIL_GPA + 1;
    expect_enable_fails(f, config, "available ring not 2-byte aligned");
    config = split_config(8, false, false);
    config.device_gpa = USED_GPA + 2;
    expect_enable_fails(f, config, "used ring not 4-byte aligned");
}

static void test_enable_rejects_rings_outside_ram(void **state)
{
    struct fixture *f = *state;
    struct virtq_config config = split_config(256, false, false);
    config.desc_gpa = LOW_RAM_SIZE - 0x800; /* 4 KiB table, half in the hole */
    expect_enable_fails(f, config, "descriptor table outside guest RAM");
    config = split_config(8, false, false);
    config.driver_gpa = 0x18000;
    expect_enable_fails(f, config, "available ring outside guest RAM");
    config = split_config(8, false, false);
    config.device_gpa = UINT64_MAX - 3;
    expect_enable_fails(f, config, "used ring outside guest RAM");
}

static void test_enable_counts_the_event_fields(void **state)
{
    struct fixture *f = *state;
    /* Used ring of 8 ends exactly at the end of high RAM: fine without EVENT_IDX... */
    uint64_t used_end = HIGH_RAM_GPA + HIGH_RAM_SIZE;
    struct virtq_config config = split_config(8, false, false);
    config.device_gpa = used_end - (4 + 8 * 8);
    config.driver_gpa = used_end - 0x1000;
    assert_int_equal(virtq_enable(&f->queue, &f->memory, &config), 0);
    /* ...but avail_event would lie past it. */
    config.event_idx = true;
    expect_enable_fails(f, config, "used ring outside guest RAM");
    /* Same for used_event after the avail ring. */
    config = split_config(8, true, false);
    config.driver_gpa = used_end - (4 + 2 * 8);
    expect_enable_fails(f, config, "available ring outside guest RAM");
}

static void test_enable_rejects_bad_sizes(void **state)
{
    struct fixture *f = *state;
    struct virtq_config config = split_config(0, false, false);
    expect_enable_fails(f, config, "size");
    config.size = 12;
    expect_enable_fails(f, config, "power of two");
    config.size = 2048;
    expect_enable_fails(f, config, "size");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_empty_queue_pops_nothing),
        T(test_single_readable_descriptor),
        T(test_readable_then_writable_chain_across_regions),
        T(test_zero_length_descriptor_in_a_chain_is_skipped),
        T(test_full_length_chain_is_accepted),
        T(test_push_writes_used_element_and_index),
        T(test_push_of_an_id_not_in_flight_fails),
        T(test_push_clamps_written_to_the_writable_bytes),
        T(test_out_of_order_completion),
        T(test_indirect_chain),
        T(test_indirect_table_after_direct_descriptors),
        T(test_indirect_table_as_large_as_the_queue),
        T(test_indices_wrap_around),
        T(test_queue_of_size_one),
        T(test_queue_of_the_maximum_size),
        T(test_more_requests_than_the_queue_holds),
        T(test_event_idx_notifies_when_used_event_is_crossed),
        T(test_event_idx_batch_crossing_notifies_once),
        T(test_event_idx_ignores_the_no_interrupt_flag),
        T(test_no_interrupt_flag_without_event_idx),
        T(test_kick_suppression_with_flags),
        T(test_kick_suppression_with_event_idx),
        T(test_empty_pop_rearms_avail_event),
        T(test_enable_rejects_misaligned_rings),
        T(test_enable_rejects_rings_outside_ram),
        T(test_enable_counts_the_event_fields),
        T(test_enable_rejects_bad_sizes),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
