#ifndef KESTREL_VIRTIO_VIRTQUEUE_STATE_H
#define KESTREL_VIRTIO_VIRTQUEUE_STATE_H

/* The layout of struct virtq, so devices can embed one. Only src/virtio/ touches the fields. */

#include "util/log.h"
#include "virtio/split_ring.h"
#include "virtio/packed_ring.h"

struct virtq {
    const struct guest_memory *memory;
    struct virtq_config config;
    bool enabled;
    bool broken;
    const char *broken_reason;
    struct log_ratelimit log_limit;
    /* Ids (split heads / packed buffer ids) handed to the device and not yet pushed back. */
    uint64_t in_flight[VIRTQ_MAX_SIZE / 64];
    uint32_t in_flight_count;
    union {
        struct split_ring_state split;
        struct packed_ring_state packed;
    };
};

/* Shared helpers for split_ring.c and packed_ring.c. */

/* Marks the queue broken (NEEDS_RESET) with a static reason, logs once (rate-limited); returns VIRTQ_POP_BROKEN. */
enum virtq_pop_result virtq_mark_broken(struct virtq *queue, const char *reason);

/* False when `id` is already in flight (a hostile driver offering it twice). */
bool virtq_take_in_flight(struct virtq *queue, uint16_t id);
/* False when `id` was not in flight (a device bug). */
bool virtq_release_in_flight(struct virtq *queue, uint16_t id);

#endif
