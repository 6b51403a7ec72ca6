/*
 * The split virtqueue, device side: one test per kind of hostile ring, a
 * broken queue stays broken, and the single fetch of each guest entry (the
 * read seam rewrites guest memory between the copy and its use). Well-formed
 * rings are in test_virtq_split.c; the fixture in split_ring_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "unit/split_ring_fixture.h"
#include "util/log.h"
#include "virtio/split_ring.h"
#include "virtio/virtqueue.h"

/* ---- hostile rings ----------------------------------------------------- */

static void test_head_index_out_of_range(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    offer_and_expect_broken(f, 8, "head descriptor index");
}

static void test_next_index_out_of_range(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 8, VRING_DESC_F_NEXT, 8);
    offer_and_expect_broken(f, 0, "next index");
}

static void test_chain_loop(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    /* 0 -> 1 -> ... -> 7 -> 0: one more descriptor than the queue holds. */
    for (uint16_t i = 0; i < 8; i++)
        ring_write_descriptor(&f->writer, i, BUFFER_GPA, 1, VRING_DESC_F_NEXT, (i + 1) % 8);
    offer_and_expect_broken(f, 0, "longer than the queue size");
}

static void test_zero_length_descriptor_loop(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    /* CVE-2016-6490: a descriptor pointing at itself, carrying nothing. */
    ring_write_descriptor(&f->writer, 5, BUFFER_GPA, 0, VRING_DESC_F_NEXT, 5);
    offer_and_expect_broken(f, 5, "longer than the queue size");
}

static void test_buffer_in_the_hole(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, LOW_RAM_SIZE + 0x100, 8, 0, 0);
    offer_and_expect_broken(f, 0, "outside guest RAM");
}

static void test_buffer_straddling_a_region_end(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, LOW_RAM_SIZE - 8, 9, VRING_DESC_F_WRITE, 0);
    offer_and_expect_broken(f, 0, "outside guest RAM");
}

static void test_buffer_past_the_end_of_ram(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, HIGH_RAM_GPA + HIGH_RAM_SIZE, 1, 0, 0);
    offer_and_expect_broken(f, 0, "outside guest RAM");
}

static void test_buffer_address_plus_length_wraps(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, UINT64_MAX - 0xf, 0x100, 0, 0);
    offer_and_expect_broken(f, 0, "outside guest RAM");
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA + 8, 8, 0, 0);
    offer_and_expect_broken(f, 0, "readable buffer after a device-writable");
}

/* A zero-length writable descriptor still ends the readable part of the chain. */
static void test_readable_after_zero_length_writable(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA + 8, 16, 0, 0);
    offer_and_expect_broken(f, 0, "readable buffer after a device-writable");
}

static void test_indirect_readable_after_zero_length_writable(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 1, BUFFER_GPA + 8, 16, 0, 0);
    ring_write_descriptor(&f->writer, 2, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 2, "readable buffer after a device-writable");
}

static void test_more_segments_than_capacity(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 32, false, false);
    for (uint16_t i = 0; i < SEGMENT_CAPACITY + 1; i++)
        ring_write_descriptor(&f->writer, i, BUFFER_GPA + i, 1, i < SEGMENT_CAPACITY ? VRING_DESC_F_NEXT : 0, i + 1);
    offer_and_expect_broken(f, 0, "more segments");
}

static void test_avail_index_too_far_ahead(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_set_avail_idx(&f->writer, 9);
    assert_broken_because(f, pop(f), "avail index moved more than the queue size ahead");
}

static void test_avail_index_moved_backwards(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_set_avail_idx(&f->writer, 0xffff); /* 65535 ahead of 0: a step back, read as far ahead */
    assert_broken_because(f, pop(f), "avail index moved more than the queue size ahead");
}

static void test_head_offered_again_while_in_flight(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 2, BUFFER_GPA, 8, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    offer_and_expect_broken(f, 2, "still in flight");
}

static void test_head_reoffered_after_push_is_fine(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 2, BUFFER_GPA, 8, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), 0);
    ring_offer(&f->writer, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
}

/* Total above 4 GiB needs RAM to point at: 2 GiB, reserved but never touched beyond the rings. */
static void test_chain_longer_than_4_gib(void **state)
{
    (void)state;
    struct guest_memory memory = { 0 };
    struct error error = { 0 };
    assert_int_equal(guest_memory_add_region(&memory, 0, 0x80000000ull, &error), 0);
    struct ring_writer writer;
    ring_writer_init(&writer, &memory, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    ring_write_descriptor(&writer, 0, 0, 0x80000000u, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&writer, 1, 0, 0x7fffffffu, VRING_DESC_F_NEXT, 2);
    ring_write_descriptor(&writer, 2, 0, 1, 0, 0);
    ring_offer(&writer, 0);

    struct virtq *queue = calloc(1, sizeof(*queue));
    struct iovec segments[4];
    struct virtq_request request = { .segments = segments, .segment_capacity = 4 };
    struct virtq_config config = split_config(8, false, false);
    assert_int_equal(virtq_enable(queue, &memory, &config), 0);
    assert_int_equal(virtq_pop(queue, &request), VIRTQ_POP_BROKEN);
    assert_true(virtq_is_broken(queue));
    assert_non_null(strstr(virtq_broken_reason(queue), "4 GiB"));

    /* Exactly 4 GiB - 1 is accepted. */
    ring_writer_init(&writer, &memory, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
    ring_write_descriptor(&writer, 0, 0, 0x80000000u, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&writer, 1, 0, 0x7fffffffu, 0, 0);
    ring_offer(&writer, 0);
    assert_int_equal(virtq_enable(queue, &memory, &config), 0);
    assert_int_equal(virtq_pop(queue, &request), VIRTQ_POP_OK);
    assert_int_equal(request.readable_bytes, 0xffffffffull);
    free(queue);
    guest_memory_destroy(&memory);
}

static void test_indirect_not_negotiated(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 8, 0, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "not negotiated");
}

static void test_indirect_table_of_length_zero(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 0, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "indirect table length");
}

static void test_indirect_table_length_not_multiple_of_16(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 8, 0, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 24, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "indirect table length");
}

static void test_nested_indirect(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, INDIRECT_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA + 0x100, 0, BUFFER_GPA, 8, 0, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "inside an indirect table");
}

static void test_indirect_table_pointing_at_itself(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "inside an indirect table");
}

static void test_indirect_with_next(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 8, 0, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA, 8, 0, 0);
    offer_and_expect_broken(f, 0, "NEXT flag");
}

static void test_indirect_table_outside_ram(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    /* Starts in RAM, ends in the hole. */
    ring_write_descriptor(&f->writer, 0, LOW_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "indirect table outside guest RAM");
}

static void test_indirect_table_larger_than_the_queue(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    for (uint16_t i = 0; i < 9; i++)
        ring_write_descriptor_at(&f->writer, INDIRECT_GPA, i, BUFFER_GPA, 1, i < 8 ? VRING_DESC_F_NEXT : 0, i + 1);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 9 * 16, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "more entries than the queue size");
}

static void test_indirect_next_outside_its_table(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    /* next = 2 is below the queue size but outside this 2-entry table. */
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 8, VRING_DESC_F_NEXT, 2);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "outside its table");
}

static void test_indirect_loop(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 0, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 1, BUFFER_GPA, 0, VRING_DESC_F_NEXT, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "longer than the queue size");
}

static void test_indirect_buffer_outside_ram(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, 0x10000, 8, 0, 0);
    ring_write_descriptor(&f->writer, 0, INDIRECT_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    offer_and_expect_broken(f, 0, "outside guest RAM");
}

/* ---- broken stays broken; logging is bounded --------------------------- */

static void test_broken_queue_stays_broken_until_reset(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    offer_and_expect_broken(f, 9, "head descriptor index");
    /* The driver fixes the ring: still broken, nothing pops, nothing is pushed. */
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA, 8, 0, 0);
    ring_avail(&f->writer)->ring[0] = 1;
    for (int i = 0; i < 10; i++)
        assert_int_equal(pop(f), VIRTQ_POP_BROKEN);
    virtq_disable_kicks(&f->queue);
    assert_false(virtq_enable_kicks(&f->queue));
    struct virtq_request request = { .id = 1 };
    assert_int_equal(virtq_push(&f->queue, &request, 0), -1);
    assert_int_equal(ring_used_idx(&f->writer), 0);

    /* After reset and enable the queue works again from index 0. */
    virtq_reset(&f->queue);
    assert_false(virtq_is_broken(&f->queue));
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY); /* reset, not enabled */
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA, 8, 0, 0);
    ring_offer(&f->writer, 1);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 1);
}

static uint64_t monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec;
}

static void test_broken_log_is_rate_limited(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    uint64_t start_seconds = monotonic_seconds();
    uint64_t lines_before = log_lines_written();
    /* Poking a broken queue logs nothing more: it broke once. */
    offer_and_expect_broken(f, 8, "head descriptor index");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(pop(f), VIRTQ_POP_BROKEN);
    assert_true(log_lines_written() - lines_before <= 1);

    /* Breaking it again and again after resets: the per-queue limit holds. */
    for (int i = 0; i < 1000; i++) {
        fixture_enable(f, 8, false, false);
        offer_and_expect_broken(f, 8, "head descriptor index");
    }
    /* At most a burst per one-second window, plus a "suppressed" line when a window rolls over. */
    uint64_t windows = monotonic_seconds() - start_seconds + 1;
    uint64_t logged = log_lines_written() - lines_before;
    if (logged > windows * (LOG_BURST + 1))
        fail_msg("%llu lines logged for 1001 breaks in %llu windows", (unsigned long long)logged,
                 (unsigned long long)windows);
}

/* ---- no double fetch --------------------------------------------------- */

/* Counts hook calls and, for descriptors (length 16), replaces them with a hostile value. */
struct rewrite_plan {
    unsigned descriptor_calls;
    unsigned slot_calls;
    struct vring_desc replacement;
    uint16_t slot_replacement;
};

static void rewrite_after_read(void *context, void *guest_entry, size_t length)
{
    struct rewrite_plan *plan = context;
    if (length == sizeof(struct vring_desc)) {
        plan->descriptor_calls++;
        memcpy(guest_entry, &plan->replacement, sizeof(plan->replacement));
    } else {
        assert_int_equal(length, sizeof(uint16_t));
        plan->slot_calls++;
        memcpy(guest_entry, &plan->slot_replacement, sizeof(uint16_t));
    }
}

static void install_rewrite(struct rewrite_plan *plan)
{
    split_ring_read_hook = rewrite_after_read;
    split_ring_read_hook_context = plan;
}

static void remove_rewrite(void)
{
    split_ring_read_hook = NULL;
    split_ring_read_hook_context = NULL;
}

static void test_descriptor_rewritten_after_copy_has_no_effect(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 0, BUFFER_GPA, 16, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor(&f->writer, 1, BUFFER_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 0);

    /* Each descriptor, right after its copy, becomes: huge, outside RAM, looping to itself, readable. */
    struct rewrite_plan plan = {
        .replacement = { .addr = 0x10000, .len = 0xffffffffu, .flags = VRING_DESC_F_NEXT, .next = 7 },
        .slot_replacement = 0xffff,
    };
    install_rewrite(&plan);
    enum virtq_pop_result result = pop(f);
    remove_rewrite();

    assert_int_equal(plan.descriptor_calls, 2);
    assert_int_equal(plan.slot_calls, 1);
    assert_int_equal(result, VIRTQ_POP_OK);
    assert_false(virtq_is_broken(&f->queue));
    assert_int_equal(f->request.id, 0);
    assert_int_equal(f->request.readable_count, 1);
    assert_int_equal(f->request.writable_count, 1);
    assert_ptr_equal(f->segments[0].iov_base, host(f, BUFFER_GPA));
    assert_int_equal(f->segments[0].iov_len, 16);
    assert_ptr_equal(f->segments[1].iov_base, host(f, BUFFER_GPA + 0x100));
    assert_int_equal(f->segments[1].iov_len, 64);

    /* The rewrite was real: the ring now holds the hostile values, which a fresh pop rejects. */
    assert_int_equal(virtq_push(&f->queue, &f->request, 0), 0);
    ring_offer(&f->writer, 0);
    assert_broken_because(f, pop(f), "outside guest RAM");
}

static void test_indirect_descriptor_rewritten_after_copy_has_no_effect(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, true);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 0, BUFFER_GPA, 8, VRING_DESC_F_NEXT, 1);
    ring_write_descriptor_at(&f->writer, INDIRECT_GPA, 1, BUFFER_GPA + 0x40, 32, VRING_DESC_F_WRITE, 0);
    ring_write_descriptor(&f->writer, 3, INDIRECT_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    ring_offer(&f->writer, 3);

    /* The table pointer becomes a huge table in the hole; the entries become nested indirects. */
    struct rewrite_plan plan = {
        .replacement = { .addr = 0x10000, .len = 0x10000, .flags = VRING_DESC_F_INDIRECT, .next = 0 },
        .slot_replacement = 3,
    };
    install_rewrite(&plan);
    enum virtq_pop_result result = pop(f);
    remove_rewrite();

    assert_int_equal(plan.descriptor_calls, 3);
    assert_int_equal(result, VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 3);
    assert_int_equal(f->request.readable_bytes, 8);
    assert_int_equal(f->request.writable_bytes, 32);
    assert_ptr_equal(f->segments[1].iov_base, host(f, BUFFER_GPA + 0x40));
}

static void test_avail_slot_rewritten_after_read_has_no_effect(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    ring_write_descriptor(&f->writer, 4, BUFFER_GPA, 8, VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, 4);
    /* The slot turns into an out-of-range head after it was read; descriptors are left alone. */
    struct rewrite_plan plan = { .slot_replacement = 200 };
    split_ring_read_hook = rewrite_after_read;
    split_ring_read_hook_context = &plan;
    plan.replacement = (struct vring_desc){ .addr = BUFFER_GPA, .len = 8, .flags = VRING_DESC_F_WRITE };
    enum virtq_pop_result result = pop(f);
    remove_rewrite();
    assert_int_equal(plan.slot_calls, 1);
    assert_int_equal(result, VIRTQ_POP_OK);
    assert_int_equal(f->request.id, 4);
    assert_int_equal(virtq_push(&f->queue, &f->request, 8), 0);
    assert_int_equal(ring_used_element(&f->writer, 0).id, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
        T(test_head_index_out_of_range),
        T(test_next_index_out_of_range),
        T(test_chain_loop),
        T(test_zero_length_descriptor_loop),
        T(test_buffer_in_the_hole),
        T(test_buffer_straddling_a_region_end),
        T(test_buffer_past_the_end_of_ram),
        T(test_buffer_address_plus_length_wraps),
        T(test_readable_after_writable),
        T(test_readable_after_zero_length_writable),
        T(test_indirect_readable_after_zero_length_writable),
        T(test_more_segments_than_capacity),
        T(test_avail_index_too_far_ahead),
        T(test_avail_index_moved_backwards),
        T(test_head_offered_again_while_in_flight),
        T(test_head_reoffered_after_push_is_fine),
        cmocka_unit_test(test_chain_longer_than_4_gib),
        T(test_indirect_not_negotiated),
        T(test_indirect_table_of_length_zero),
        T(test_indirect_table_length_not_multiple_of_16),
        T(test_nested_indirect),
        T(test_indirect_table_pointing_at_itself),
        T(test_indirect_with_next),
        T(test_indirect_table_outside_ram),
        T(test_indirect_table_larger_than_the_queue),
        T(test_indirect_next_outside_its_table),
        T(test_indirect_loop),
        T(test_indirect_buffer_outside_ram),
        T(test_broken_queue_stays_broken_until_reset),
        T(test_broken_log_is_rate_limited),
        T(test_descriptor_rewritten_after_copy_has_no_effect),
        T(test_indirect_descriptor_rewritten_after_copy_has_no_effect),
        T(test_avail_slot_rewritten_after_read_has_no_effect),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
