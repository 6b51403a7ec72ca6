#ifndef KESTREL_HARNESS_VIRTQ_DRIVER_H
#define KESTREL_HARNESS_VIRTQ_DRIVER_H

/*
 * The driver side of one virtqueue, in-process: what a guest's virtio driver
 * does, modelled on Linux's drivers/virtio/virtio_ring.c, so kestrel's device
 * side can be tested, fuzzed and measured at native speed without KVM.
 *
 * The rings live in simulated guest memory (struct guest_memory) and are
 * touched only the way a guest touches them: descriptors are written, then
 * published with a release store; indices and event-suppression fields that
 * the other side reads concurrently are accessed atomically, with a full
 * barrier (a sequentially consistent access) where Linux uses virtio_mb().
 *
 * One driver object is used by one thread. The device may run on another.
 */

#include <stdbool.h>
#include <stdint.h>

#include "harness/guest_allocator.h"
#include "virtio/virtqueue.h"

/* Longest chain the driver builds (also the size of each preallocated indirect table). */
enum { VIRTQ_DRIVER_MAX_SEGMENTS = 16 };

struct virtq_driver_buffer {
    uint64_t gpa;
    uint32_t len;
};

/* One request: readable buffers (driver → device) first, then writable ones. */
struct virtq_driver_request {
    const struct virtq_driver_buffer *readable;
    unsigned readable_count;
    const struct virtq_driver_buffer *writable;
    unsigned writable_count;
    bool indirect; /* put the chain in an indirect table (needs VIRTIO_RING_F_INDIRECT_DESC) */
};

struct virtq_driver_options {
    enum virtq_layout layout;
    uint16_t size;
    bool event_idx;
    bool indirect;
};

/* Per id (split: head descriptor index; packed: buffer id). */
struct virtq_driver_in_flight {
    uint64_t token;
    uint16_t descriptors; /* split: ring descriptors of the chain; packed: ring slots (== ids) it took */
    uint16_t last;        /* split: last descriptor of the chain; packed: last id of its id chain */
    bool busy;
};

struct virtq_driver_split {
    struct vring_desc *descriptors;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx_shadow;     /* avail->idx including added, unpublished entries */
    uint16_t avail_flags_shadow;   /* VRING_AVAIL_F_NO_INTERRUPT while callbacks are off */
};

struct virtq_driver_packed {
    struct vring_packed_desc *descriptors;
    struct vring_packed_desc_event *driver_event; /* written by us */
    struct vring_packed_desc_event *device_event; /* written by the device */
    uint16_t next_avail;
    bool avail_wrap_counter;
    uint16_t avail_used_flags;     /* AVAIL/USED bits for descriptors written in the current lap */
    bool used_wrap_counter;
    uint16_t event_flags_shadow;   /* what driver_event->flags holds */
    /* Heads added but not yet published: slot and the flags to store into it, in ring order. */
    uint16_t *pending_head_slots;
    uint16_t *pending_head_flags;
    uint16_t pending_heads;
};

struct virtq_driver_stats {
    uint64_t added;
    uint64_t completed;
    uint64_t kick_checks;      /* virtq_driver_kick_prepare calls */
    uint64_t kicks;            /* notifications sent to the device */
    uint64_t interrupts_seen;  /* call-eventfd wakeups consumed (eventfd merges several into one) */
};

struct virtq_driver {
    const struct guest_memory *memory;
    struct virtq_config config; /* what the transport would hand the device */
    int kick_fd;                /* driver → device */
    int call_fd;                /* device → driver */
    uint16_t size;
    uint16_t free_count;        /* free descriptors (split) / ring slots (packed) */
    uint16_t free_head;         /* first free descriptor (split) / buffer id (packed) */
    uint16_t *free_next;        /* free list links, kept privately as Linux's desc_extra does */
    uint16_t added_since_kick;  /* Linux's num_added: split entries / packed ring slots */
    uint16_t last_used;         /* split: used index; packed: ring slot */
    uint64_t indirect_gpa;      /* VIRTQ_DRIVER_MAX_SEGMENTS descriptors per id */
    struct virtq_driver_in_flight *in_flight;
    bool broken;                /* the device returned an id that was not in flight */
    const char *broken_reason;
    union {
        struct virtq_driver_split split;
        struct virtq_driver_packed packed;
    };
    struct virtq_driver_stats stats;
};

/*
 * Allocates the rings (and the indirect tables) with `allocator`, creates the
 * two eventfds and fills driver->config. Returns -1 (errno set) on failure.
 */
int virtq_driver_init(struct virtq_driver *driver, struct guest_allocator *allocator,
                      const struct virtq_driver_options *options);
void virtq_driver_destroy(struct virtq_driver *driver);

/*
 * Adds one request (not yet visible to the device). 0 on success, -ENOSPC
 * when the ring has no room for it (nothing changed), -EINVAL for a shape the
 * driver cannot build (no buffer, more than VIRTQ_DRIVER_MAX_SEGMENTS or the
 * queue size, indirect not negotiated).
 */
int virtq_driver_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token);

/* Makes every added request visible to the device: one release store (split avail idx, packed head flags). */
void virtq_driver_publish(struct virtq_driver *driver);

/* Publishes, then decides like virtqueue_kick_prepare() whether the device wants a notification. */
bool virtq_driver_kick_prepare(struct virtq_driver *driver);

/* Writes the kick eventfd. */
void virtq_driver_notify(struct virtq_driver *driver);

/* kick_prepare, then notify when needed; returns whether it kicked. */
bool virtq_driver_kick(struct virtq_driver *driver);

/*
 * Reaps one completion: 1 with *token and *written set, 0 when none is
 * pending, -1 when the device returned something not in flight (the driver
 * is then broken and reaps nothing more).
 */
int virtq_driver_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written);

/* Asks the device not to interrupt (virtqueue_disable_cb). */
void virtq_driver_disable_callbacks(struct virtq_driver *driver);
/*
 * Asks for an interrupt at the next completion (virtqueue_enable_cb). False
 * when completions are already pending: reap them instead of sleeping.
 */
bool virtq_driver_enable_callbacks(struct virtq_driver *driver);
/* Asks for an interrupt after about 3/4 of the outstanding requests completed (virtqueue_enable_cb_delayed). */
bool virtq_driver_enable_callbacks_delayed(struct virtq_driver *driver);

/*
 * Waits up to timeout_ms for the call eventfd and consumes it. 1 when woken,
 * 0 on timeout, -1 on error.
 */
int virtq_driver_wait_interrupt(struct virtq_driver *driver, int timeout_ms);

/* Requests added and not yet reaped. */
unsigned virtq_driver_in_flight_count(const struct virtq_driver *driver);

#endif
