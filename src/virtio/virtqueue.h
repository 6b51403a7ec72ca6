#ifndef KESTREL_VIRTIO_VIRTQUEUE_H
#define KESTREL_VIRTIO_VIRTQUEUE_H

/*
 * The device side of one virtqueue, over either ring layout (split or
 * packed). Devices see one API: pop a request as a checked list of host
 * segments (readable first, then writable), then push it back with the number
 * of bytes written.
 *
 * Everything in the rings is written by a hostile guest. Each descriptor and
 * ring entry is read from guest memory once into a local copy, then checked,
 * then used. Any malformed input marks the queue broken (the transport turns
 * that into VIRTIO_CONFIG_S_NEEDS_RESET) and logs one rate-limited line; a
 * broken queue pops nothing until it is reset.
 *
 * Not thread-safe: one queue is driven by one I/O thread.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "mem/guest_memory.h"

/* Largest queue size a kestrel device offers (QEMU uses the same bound). */
enum { VIRTQ_MAX_SIZE = 1024 };

enum virtq_layout {
    VIRTQ_LAYOUT_SPLIT,
    VIRTQ_LAYOUT_PACKED,
};

struct virtq_config {
    enum virtq_layout layout;
    uint16_t size;        /* split: power of two, 1..VIRTQ_MAX_SIZE; packed: 1..VIRTQ_MAX_SIZE */
    bool event_idx;       /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;        /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    uint64_t desc_gpa;    /* descriptor area */
    uint64_t driver_gpa;  /* split: available ring; packed: driver event suppression */
    uint64_t device_gpa;  /* split: used ring; packed: device event suppression */
};

/*
 * A popped request. Before virtq_pop the caller points `segments` at an array
 * of `segment_capacity` entries; a chain with more segments than that is
 * malformed (the device advertises its limit, e.g. virtio-blk seg_max).
 * Every segment's host pointer lies inside guest RAM.
 */
struct virtq_request {
    uint16_t id;               /* split: head index; packed: buffer id */
    uint16_t ring_slots;       /* packed: descriptors the chain took in the ring */
    uint32_t readable_count;   /* segments[0 .. readable_count) are device-readable */
    uint32_t writable_count;   /* then writable_count device-writable segments */
    uint64_t readable_bytes;
    uint64_t writable_bytes;
    struct iovec *segments;
    uint32_t segment_capacity;
};

enum virtq_pop_result {
    VIRTQ_POP_BROKEN = -1, /* the queue is (now) broken; see virtq_broken_reason() */
    VIRTQ_POP_EMPTY = 0,
    VIRTQ_POP_OK = 1,
};

struct virtq; /* defined below */

/* Checks the configuration (sizes, alignment, rings inside RAM) and enables the queue. */
int virtq_enable(struct virtq *queue, const struct guest_memory *memory, const struct virtq_config *config);
/* Forgets all state; the queue must be enabled again. */
void virtq_reset(struct virtq *queue);

enum virtq_pop_result virtq_pop(struct virtq *queue, struct virtq_request *request);
/* Returns the request to the driver with `written` bytes written to its writable segments. -1 if the id is not in flight. */
int virtq_push(struct virtq *queue, const struct virtq_request *request, uint32_t written);

/* After a batch of pushes: must the device interrupt the driver? (EVENT_IDX or flags.) */
bool virtq_should_notify(struct virtq *queue);

/*
 * Kick suppression while the device is already polling the queue.
 * virtq_enable_kicks returns true when buffers arrived in the meantime, so the
 * caller must keep popping instead of sleeping.
 */
void virtq_disable_kicks(struct virtq *queue);
bool virtq_enable_kicks(struct virtq *queue);

bool virtq_is_broken(const struct virtq *queue);
const char *virtq_broken_reason(const struct virtq *queue);

#include "virtio/virtqueue_state.h"

#endif
