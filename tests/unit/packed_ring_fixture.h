#ifndef KESTREL_TESTS_PACKED_RING_FIXTURE_H
#define KESTREL_TESTS_PACKED_RING_FIXTURE_H

/*
 * The fixture of the packed-ring unit tests (test_virtq_packed.c and
 * test_virtq_packed_hostile.c): guest RAM is two 64 KiB regions with a hole
 * between them, each between PROT_NONE guard pages, so a device access
 * outside RAM crashes the test (and ASan watches host memory). The writer
 * helpers play the driver, writing ring contents straight into guest memory.
 * Include after <cmocka.h>.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static inline void *host(struct fixture *f, uint64_t gpa, uint64_t len)
{
    void *pointer = gpa_to_hva(&f->memory, gpa, len);
    assert_non_null(pointer);
    return pointer;
}

static inline struct vring_packed_desc *ring_slot(struct fixture *f, uint16_t slot)
{
    return host(f, f->config.desc_gpa + (uint64_t)slot * sizeof(struct vring_packed_desc),
                sizeof(struct vring_packed_desc));
}

static inline uint16_t avail_bits(bool wrap)
{
    return wrap ? FLAG_AVAIL : FLAG_USED;
}

/* Writes one ring slot verbatim: flags are taken as given (tests that lie about the wrap state). */
static inline void write_slot(struct fixture *f, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    struct vring_packed_desc *descriptor = ring_slot(f, slot);
    descriptor->addr = addr;
    descriptor->len = len;
    descriptor->id = id;
    __atomic_store_n(&descriptor->flags, flags, __ATOMIC_RELEASE);
}

static inline void write_table_entry(struct fixture *f, uint64_t table_gpa, unsigned index, uint64_t addr, uint32_t len,
                              uint16_t flags)
{
    struct vring_packed_desc entry = { .addr = addr, .len = len, .id = 0, .flags = flags };
    assert_int_equal(guest_memory_write(&f->memory, table_gpa + index * sizeof(entry), &entry, sizeof(entry)), 0);
}

/* Offers a chain as a well-behaved driver does: consecutive slots, NEXT on all but the last, head flags last. */
static inline void driver_offer(struct fixture *f, uint16_t id, const struct buffer *buffers, unsigned count)
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

static inline void driver_offer_one(struct fixture *f, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
    struct buffer buffer = { addr, len, flags };
    driver_offer(f, id, &buffer, 1);
}

/* Reads the next used descriptor as the driver would; false when there is none. */
static inline bool driver_take_used(struct fixture *f, uint16_t *id, uint32_t *len)
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

static inline void expect_used(struct fixture *f, uint16_t id, uint32_t len)
{
    uint16_t used_id;
    uint32_t used_len;
    assert_true(driver_take_used(f, &used_id, &used_len));
    assert_int_equal(used_id, id);
    assert_int_equal(used_len, len);
}

/* ---- fixture --------------------------------------------------------------- */

static inline int enable_queue(struct fixture *f)
{
    return virtq_enable(&f->queue, &f->memory, &f->config);
}

static inline void reconfigure(struct fixture *f, uint16_t size, bool event_idx, bool indirect)
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

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    packed_ring_descriptor_copied_hook = NULL;
    guarded_memory_destroy(&f->memory);
    free(f);
    return 0;
}

static inline void assert_pop_broken(struct fixture *f)
{
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_BROKEN);
    assert_true(virtq_is_broken(&f->queue));
    assert_true(strlen(virtq_broken_reason(&f->queue)) > 0);
}

static inline void assert_reason_contains(struct fixture *f, const char *text)
{
    const char *reason = virtq_broken_reason(&f->queue);
    if (!strstr(reason, text))
        fail_msg("broken reason \"%s\" does not mention \"%s\"", reason, text);
}

static inline void assert_enable_refused(struct fixture *f, const char *text)
{
    assert_int_equal(enable_queue(f), -1);
    assert_true(virtq_is_broken(&f->queue));
    assert_reason_contains(f, text);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_BROKEN);
}

static inline void pop_and_push_one(struct fixture *f, uint16_t id)
{
    driver_offer_one(f, id, BUFFER_GPA, 16, VRING_DESC_F_WRITE);
    assert_int_equal(virtq_pop(&f->queue, &f->request), VIRTQ_POP_OK);
    assert_int_equal(f->request.id, id);
    assert_int_equal(virtq_push(&f->queue, &f->request, 4), 0);
    expect_used(f, id, 4);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

#endif
