#ifndef KESTREL_TESTS_SPLIT_RING_FIXTURE_H
#define KESTREL_TESTS_SPLIT_RING_FIXTURE_H

/*
 * The fixture of the split-ring unit tests (test_virtq_split.c and
 * test_virtq_split_hostile.c): guest RAM is two 64 KiB regions with a hole
 * between them, each fenced by PROT_NONE guard pages, so any access outside
 * RAM crashes the test (and ASan watches host memory); a ring writer plays
 * the driver. Include after <cmocka.h>.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit/split_ring_writer.h"
#include "virtio/virtqueue.h"

enum {
    LOW_RAM_GPA = 0,
    LOW_RAM_SIZE = 0x10000,
    HIGH_RAM_GPA = 0x20000, /* [0x10000, 0x20000) is a hole */
    HIGH_RAM_SIZE = 0x10000,
    DESC_GPA = 0x1000,
    AVAIL_GPA = 0x2000,
    USED_GPA = 0x3000,
    BUFFER_GPA = 0x8000,
    INDIRECT_GPA = 0x6000,
    SEGMENT_CAPACITY = 16,
    LOG_BURST = 5, /* util/log.c's per-limit burst */
};

struct fixture {
    struct guest_memory memory;
    struct ring_writer writer;
    struct virtq queue;
    struct virtq_config config;
    struct iovec segments[SEGMENT_CAPACITY];
    struct virtq_request request;
};

static inline int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    guarded_memory_add(&f->memory, LOW_RAM_GPA, LOW_RAM_SIZE);
    guarded_memory_add(&f->memory, HIGH_RAM_GPA, HIGH_RAM_SIZE);
    f->request.segments = f->segments;
    f->request.segment_capacity = SEGMENT_CAPACITY;
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    guarded_memory_destroy(&f->memory);
    free(f);
    return 0;
}

static inline struct virtq_config split_config(uint16_t size, bool event_idx, bool indirect)
{
    return (struct virtq_config){
        .layout = VIRTQ_LAYOUT_SPLIT, .size = size, .event_idx = event_idx, .indirect = indirect,
        .desc_gpa = DESC_GPA, .driver_gpa = AVAIL_GPA, .device_gpa = USED_GPA,
    };
}

/* Zeroes the rings and enables a queue of `size` with the given features. */
static inline void fixture_enable(struct fixture *f, uint16_t size, bool event_idx, bool indirect)
{
    ring_writer_init(&f->writer, &f->memory, size, DESC_GPA, AVAIL_GPA, USED_GPA);
    f->config = split_config(size, event_idx, indirect);
    assert_int_equal(virtq_enable(&f->queue, &f->memory, &f->config), 0);
    assert_false(virtq_is_broken(&f->queue));
}

static inline void *host(struct fixture *f, uint64_t gpa)
{
    void *pointer = gpa_to_hva(&f->memory, gpa, 1);
    assert_non_null(pointer);
    return pointer;
}

static inline enum virtq_pop_result pop(struct fixture *f)
{
    return virtq_pop(&f->queue, &f->request);
}

/* The pop broke the queue for `expected_reason` (a substring), and it stays broken. */
static inline void assert_broken_because(struct fixture *f, enum virtq_pop_result result, const char *expected_reason)
{
    assert_int_equal(result, VIRTQ_POP_BROKEN);
    assert_true(virtq_is_broken(&f->queue));
    const char *reason = virtq_broken_reason(&f->queue);
    assert_true(strlen(reason) > 0);
    if (!strstr(reason, expected_reason))
        fail_msg("broken for \"%s\", expected \"%s\"", reason, expected_reason);
    assert_int_equal(pop(f), VIRTQ_POP_BROKEN);
}

/* Offers a one-descriptor chain at `head` and expects pop to break the queue. */
static inline void offer_and_expect_broken(struct fixture *f, uint16_t head, const char *expected_reason)
{
    ring_offer(&f->writer, head);
    assert_broken_because(f, pop(f), expected_reason);
}

#endif
