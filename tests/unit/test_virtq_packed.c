/*
 * Device side of the packed virtqueue against a hostile driver. Each test
 * writes ring contents straight into guest memory, as a driver would (the
 * writer helpers below), then checks what the device makes of them. Each RAM
 * region sits between PROT_NONE guard pages, so a device access outside RAM
 * crashes the test (and ASan watches host memory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem/guest_memory.h"
#include "unit/guarded_memory.h"
#include "virtio/packed_ring.h"
#include "virtio/virtqueue.h"

/* Guest memory: two 64 KiB regions with a hole between them. */
#define LOW_RAM_GPA   0x0ull
#define LOW_RAM_SIZE  0x10000ull
#define HOLE_GPA      0x10000ull
#define HIGH_RAM_GPA  0x20000ull
#define HIGH_RAM_SIZE 0x10000ull

#define DESC_GPA      0x1000ull
#define DRIVER_GPA    0x5000ull
#define DEVICE_GPA    0x5010ull
#define TABLE_GPA     0x6000ull
#define BUFFER_GPA    0x8000ull

#define FLAG_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define FLAG_USED  (1u << VRING_PACKED_DESC_F_USED)

enum { SEGMENTS = 16 };

struct fixture {
    struct guest_memory memory;
    struct virtq queue;
    struct virtq_config config;
    struct iovec segments[SEGMENTS];
    struct virtq_request request;
    /* Driver-side model: where the driver offers next and where it reads used descriptors. */
    uint16_t driver_slot;
    bool driver_wrap;
    uint16_t driver_used_slot;
    bool driver_used_wrap;
    uint16_t chain_slots_by_id[VIRTQ_MAX_SIZE];
};

struct buffer {
    uint64_t addr;
    uint32_t len;
    uint16_t flags; /* VRING_DESC_F_WRITE / _INDIRECT; NEXT is added by the writer */
};

/* ---- guest memory and driver-side writers -------------------------------- */

static void *host(struct fixture *f, uint64_t gpa, uint64_t len)
{
    void *pointer = gpa_to_hva(&f->memory, gpa, len);
    assert_non_null(pointer);
    return pointer;
}

static struct vring_packed_desc *ring_slot(struct fixture *f, uint16_t slot)
{
    return host(f, f->config.desc_gpa + (uint64_t)slot * sizeof(struct vring_packed_desc),
                sizeof(struct vring_packed_desc));
}

static uint16_t avail_bits(bool wrap)
{
    return wrap ? FLAG_AVAIL : FLAG_USED;
}

/* Writes one ring slot verbatim: flags are taken as given (tests that lie about the wrap state). */
static void write_slot(struct fixture *f, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    struct vring_packed_desc *descriptor = ring_slot(f, slot);
    descriptor->addr = addr;
    descriptor->len = len;
    descriptor->id = id;
    __atomic_store_n(&descriptor->flags, flags, __ATOMIC_RELEASE);
}

static void write_table_entry(struct fixture *f, uint64_t table_gpa, unsigned index, uint64_t addr, uint32_t len,
                              uint16_t flags)
{
    struct vring_packed_desc entry = { .addr = addr, .len = len, .id = 0, .flags = flags };
    assert_int_equal(guest_memory_write(&f->memory, table_gpa + index * sizeof(entry), &entry, sizeof(entry)), 0);
}

/* Offers a chain as a well-behaved driver does: consecutive slots, NEXT on all but the last, head flags last. */
static void driver_offer(struct fixture *f, uint16_t id, const struct buffer *buffers, unsigned count)
{
    uint16_t slot = f->driver_slot;
    bool wrap = f->driver_wrap;
    uint16_t head_slot = slot;
    uint16_t head_flags = 0;
    for (unsigned i = 0; i < count; i++) {
        uint16_t flags = buffers[i].flags | avail_bits(wrap) | (i + 1 < count ? VRING_DESC_F_NEXT : 0);
        struct vring_packed_desc *descriptor = ring_slot(f, slot);
        descriptor->addr = buffers[i].addr;
        descriptor->len = buffers[i].len;
        descriptor->id = id;
        if (i == 0)
            head_flags = flags;
        else
            descriptor->flags = flags;
        if (++slot == f->config.size) {
            slot = 0;
            wrap = !wrap;
        }
    }
    __atomic_store_n(&ring_slot(f, head_slot)->flags, head_flags, __ATOMIC_RELEASE);
    f->chain_slots_by_id[id] = (uint16_t)count;
    f->driver_slot = slot;
    f->driver_wrap = wrap;
}

static void driver_offer_one(struct fixture *f, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
    struct buffer buffer = { addr, len, flags };
    driver_offer(f, id, &buffer, 1);
}

/* Reads the next used descriptor as the driver would; false when there is none. */
static bool driver_take_used(struct fixture *f, uint16_t *id, uint32_t *len)
{
    struct vring_packed_desc *descriptor = ring_slot(f, f->driver_used_slot);
    uint16_t flags = __atomic_load_n(&descriptor->flags, __ATOMIC_ACQUIRE);
    bool avail = flags & FLAG_AVAIL;
    bool used = flags & FLAG_USED;
    if (avail != used || used != f->driver_used_wrap)
        return false;
    *id = descriptor->id;
    *len = descriptor->len;
    uint32_t next = f->driver_used_slot + f->chain_slots_by_id[*id];
    if (next >= f->config.size) {
        next -= f->config.size;
        f->driver_used_wrap = !f->driver_used_wrap;
    }
    f->driver_used_slot = (uint16_t)next;
    return true;
}

static void expect_used(struct fixture *f, uint16_t id, uint32_t len)
{
    uint16_t used_id;
    uint32_t used_len;
    assert_true(driver_take_used(f, &used_id, &used_len));
    assert_int_equal(used_id, id);
    assert_int_equal(used_len, len);
}

/* ---- fixture --------------------------------------------------------------- */

static int enable_queue(struct fixture *f)
{
    return virtq_enable(&f->queue, &f->memory, &f->config);
}

static void reconfigure(struct fixture *f, uint16_t size, bool event_idx, bool indirect)
{
    f->config.size = size;
    f->config.event_idx = event_idx;
    f->config.indirect = indirect;
    memset(host(f, DESC_GPA, (uint64_t)size * 16), 0, (size_t)size * 16);
    f->driver_slot = 0;
    f->driver_wrap = true;
    f->driver_used_slot = 0;
    f->driver_used_wrap = true;
    assert_int_equal(enable_queue(f), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    guarded_memory_add(&f->memory, LOW_RAM_GPA, LOW_RAM_SIZE);
    guarded_memory_add(&f->memory, HIGH_RAM_GPA, HIGH_RAM_SIZE);
    f->config = (struct virtq_config){
        .layout = VIRTQ_LAYOUT_PACKED,
        .size = 8,
        .event_idx = true,
        .indirect = true,
        .desc_gpa = DESC_GPA,
        .driver_gpa = DRIVER_GPA,
        .device_gpa = DEVICE_GPA,
    };
    f->request.segments = f->segments;
    f->request.segment_capacity = SEGMENTS;
    f->driver_wrap = true;
    f->driver_used_wrap = true;
    assert_int_equal(enable_queue(f), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    packed_ring_descriptor_copied_hook = NULL;
    guarded_memory_destroy(&f->memory);
    free(f);
    return 0;
}

static void assert_pop_broken(struct fixture *f)
{
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_BROKEN);
    assert_true(virtq_is_broken(&f->queue));
    assert_true(strlen(virtq_broken_reason(&f->queue)) > 0);
}

static void assert_reason_contains(struct fixture *f, const char *text)
{
    const char *reason = virtq_broken_reason(&f->queue);
    if (!strstr(reason, text))
        fail_msg("broken reason \"%s\" does not mention \"%s\"", reason, text);
}

static void assert_enable_refused(struct fixture *f, const char *text)
{
    assert_int_equal(enable_queue(f), -1);
    assert_true(virtq_is_broken(&f->queue));
    assert_reason_contains(f, text);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_BROKEN);
}

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

static void pop_and_push_one(struct fixture *f, uint16_t id)
{
    driver_offer_one(f, id, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, id);
    assert_int_equal(virtq_push(&f->queue, &f->request, 4), 0);
    expect_used(f, id, 4);
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

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

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
