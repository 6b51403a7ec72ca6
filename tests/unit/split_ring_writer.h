#ifndef KESTREL_TESTS_SPLIT_RING_WRITER_H
#define KESTREL_TESTS_SPLIT_RING_WRITER_H

/*
 * A minimal driver side of a split ring for unit tests and the fuzzer: it
 * writes descriptors, offers heads and reads the used ring straight in guest
 * memory, with no checks of its own, so tests can write anything a hostile
 * driver could. Guarded guest memory for it is in guarded_memory.h.
 */

#include <assert.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "mem/guest_memory.h"
#include "unit/guarded_memory.h"

struct ring_writer {
    const struct guest_memory *memory;
    uint16_t size;
    uint64_t desc_gpa;
    uint64_t avail_gpa;
    uint64_t used_gpa;
    uint16_t avail_idx; /* the driver's next avail index */
};

static inline void *ring_writer_host(const struct ring_writer *writer, uint64_t gpa, uint64_t len)
{
    void *host = gpa_to_hva(writer->memory, gpa, len);
    assert(host);
    return host;
}

/* Zeroes the three areas (event fields included), as a driver does before enabling. */
static inline void ring_writer_init(struct ring_writer *writer, const struct guest_memory *memory, uint16_t size,
                                    uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa)
{
    *writer = (struct ring_writer){
        .memory = memory, .size = size, .desc_gpa = desc_gpa, .avail_gpa = avail_gpa, .used_gpa = used_gpa,
    };
    memset(ring_writer_host(writer, desc_gpa, 16ull * size), 0, 16ull * size);
    memset(ring_writer_host(writer, avail_gpa, 6ull + 2ull * size), 0, 6ull + 2ull * size);
    memset(ring_writer_host(writer, used_gpa, 6ull + 8ull * size), 0, 6ull + 8ull * size);
}

/* Writes one descriptor into a table at `table_gpa` (the ring's or an indirect one). */
static inline void ring_write_descriptor_at(const struct ring_writer *writer, uint64_t table_gpa, uint32_t index,
                                            uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc descriptor = { .addr = addr, .len = len, .flags = flags, .next = next };
    memcpy(ring_writer_host(writer, table_gpa + 16ull * index, 16), &descriptor, 16);
}

static inline void ring_write_descriptor(const struct ring_writer *writer, uint16_t index, uint64_t addr,
                                         uint32_t len, uint16_t flags, uint16_t next)
{
    ring_write_descriptor_at(writer, writer->desc_gpa, index, addr, len, flags, next);
}

static inline struct vring_avail *ring_avail(const struct ring_writer *writer)
{
    return ring_writer_host(writer, writer->avail_gpa, 4);
}

static inline struct vring_used *ring_used(const struct ring_writer *writer)
{
    return ring_writer_host(writer, writer->used_gpa, 4);
}

/* Puts `head` in the next avail slot and publishes it. */
static inline void ring_offer(struct ring_writer *writer, uint16_t head)
{
    struct vring_avail *avail = ring_avail(writer);
    avail->ring[writer->avail_idx % writer->size] = head;
    writer->avail_idx++;
    __atomic_store_n(&avail->idx, writer->avail_idx, __ATOMIC_RELEASE);
}

static inline void ring_set_avail_idx(struct ring_writer *writer, uint16_t idx)
{
    writer->avail_idx = idx;
    __atomic_store_n(&ring_avail(writer)->idx, idx, __ATOMIC_RELEASE);
}

static inline uint16_t ring_used_idx(const struct ring_writer *writer)
{
    return __atomic_load_n(&ring_used(writer)->idx, __ATOMIC_ACQUIRE);
}

static inline struct vring_used_elem ring_used_element(const struct ring_writer *writer, uint16_t used_index)
{
    return ring_used(writer)->ring[used_index % writer->size];
}

/* used_event lives after the avail ring, avail_event after the used ring (EVENT_IDX). */
static inline uint16_t *ring_used_event(const struct ring_writer *writer)
{
    return &ring_avail(writer)->ring[writer->size];
}

static inline uint16_t *ring_avail_event(const struct ring_writer *writer)
{
    return (uint16_t *)&ring_used(writer)->ring[writer->size];
}

#endif
