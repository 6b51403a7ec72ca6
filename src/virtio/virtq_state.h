#ifndef KESTREL_VIRTIO_VIRTQ_STATE_H
#define KESTREL_VIRTIO_VIRTQ_STATE_H

/*
 * The lowest layer of src/virtio/: the types of the virtqueue API, the layout
 * of struct virtq (so devices can embed one) and the state helpers both ring
 * layouts share (breaking the queue, ids in flight). virtqueue.c and the ring
 * files (split_ring.c, packed_ring.c, chain.c) all build on this file, and it
 * calls none of them, so every dependency inside src/virtio/ points down:
 *
 *     virtqueue.c → split_ring.c, packed_ring.c → chain.c → virtq_state.c
 *
 * Devices include virtio/virtqueue.h; only src/virtio/ touches the fields.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "mem/guest_memory.h"
#include "util/log.h"
#include "virtio/virtq_stats.h"

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
    /* The queue's generation when popped: a push from before the last reset or enable is refused. */
    uint64_t generation;
    uint64_t popped_ns;        /* virtq_stats_now_ns() at pop, for the queue's latency histogram */
    struct iovec *segments;
    uint32_t segment_capacity;
};

enum virtq_pop_result {
    VIRTQ_POP_BROKEN = -1, /* the queue is (now) broken; see virtq_broken_reason() */
    VIRTQ_POP_EMPTY = 0,
    VIRTQ_POP_OK = 1,
};

struct split_ring_state {
    /* Host pointers to the three areas, checked against guest RAM when the queue is enabled. */
    struct vring_desc *descriptors;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t *used_event;    /* avail->ring[size]: written by the driver (EVENT_IDX) */
    uint16_t *avail_event;   /* used->ring[size]: written by us (EVENT_IDX) */
    uint16_t mask;           /* size - 1 (split sizes are powers of two) */
    uint16_t next_avail;     /* next avail ring slot the device will read */
    uint16_t known_avail;    /* avail->idx as last read and checked; slots before it are published */
    uint16_t next_used;      /* used index the device publishes next */
    uint16_t signalled_used; /* used index at the last virtq_should_notify */
    bool kicks_enabled;      /* false between virtq_disable_kicks and virtq_enable_kicks */
};

struct packed_ring_state {
    /* Host pointers to the three areas, checked against guest RAM when the queue is enabled. */
    struct vring_packed_desc *descriptors;
    struct vring_packed_desc_event *driver_event; /* written by the driver: may we notify it? */
    struct vring_packed_desc_event *device_event; /* written by us: should it kick us? */
    uint16_t next_avail;        /* ring slot the device reads next */
    bool avail_wrap_counter;
    bool kicks_enabled;         /* false between virtq_disable_kicks and virtq_enable_kicks */
    /* EVENT_IDX: the device event names next_avail and a full fence followed, so an empty pop need not repeat it. */
    bool kick_requested;
    uint16_t next_used;         /* ring slot the device writes next */
    bool used_wrap_counter;
    /*
     * Ring slots popped and not yet returned. A driver may only reuse a slot
     * after the device wrote a used descriptor over it, so this never exceeds
     * the queue size unless the driver lies.
     */
    uint16_t slots_in_flight;
    uint16_t signalled_used;    /* for event suppression with EVENT_IDX */
    bool signalled_used_wrap;
    bool signalled_used_valid;
    /*
     * Slots used since the last should_notify, saturating at 2 * size: past
     * that, positions (which repeat every 2 * size slots) cannot tell whether
     * the driver's event was passed, so the device notifies.
     */
    uint32_t used_since_signal;
};

struct virtq {
    const struct guest_memory *memory;
    struct virtq_config config;
    bool enabled;
    bool broken;
    const char *broken_reason;
    struct log_ratelimit log_limit;
    /*
     * Advanced by every reset (and so by every enable) and never cleared:
     * requests are stamped with it when popped, so a request from an earlier
     * life of the queue cannot complete into the rings of the current one,
     * even when the new ring reuses its id.
     */
    uint64_t generation;
    /* Ids (split heads / packed buffer ids) handed to the device and not yet pushed back. */
    uint64_t in_flight[VIRTQ_MAX_SIZE / 64];
    uint32_t in_flight_count;
    union {
        struct split_ring_state split;
        struct packed_ring_state packed;
    };
    /* Pops until the next whose latency is timed (virtq_stats.h: timing is sampled); 0: time the next. */
    uint32_t pops_until_timed;
    /*
     * Last, so that a reset clears everything before it and leaves the
     * totals alone: another thread may be reading them (virtq_stats.h).
     */
    struct virtq_stats stats;
};

/* Forgets everything but the log budget, and starts a new generation. */
void virtq_state_reset(struct virtq *queue);

/* Marks the queue broken (NEEDS_RESET) with a static reason, logs once (rate-limited); returns VIRTQ_POP_BROKEN. */
enum virtq_pop_result virtq_mark_broken(struct virtq *queue, const char *reason);

/* False when `id` is already in flight (a hostile driver offering it twice). */
bool virtq_take_in_flight(struct virtq *queue, uint16_t id);
/* False when `id` was not in flight (a device bug). */
bool virtq_release_in_flight(struct virtq *queue, uint16_t id);

#endif
