#ifndef KESTREL_VIRTIO_SPLIT_RING_H
#define KESTREL_VIRTIO_SPLIT_RING_H

/* Split virtqueue layout (virtio 1.2 section 2.7). Called through virtqueue.c only. */

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

struct virtq;
struct virtq_request;

struct split_ring_state {
    /* Host pointers to the three areas, checked against guest RAM when the queue is enabled. */
    struct vring_desc *descriptors;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t next_avail;     /* next avail ring slot the device will read */
    uint16_t next_used;      /* used index the device publishes next */
    uint16_t signalled_used; /* used index when the driver was last notified (EVENT_IDX) */
    bool signalled_used_valid;
};

int split_ring_enable(struct virtq *queue);
int split_ring_pop(struct virtq *queue, struct virtq_request *request);
int split_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written);
bool split_ring_should_notify(struct virtq *queue);
void split_ring_disable_kicks(struct virtq *queue);
bool split_ring_enable_kicks(struct virtq *queue);

#endif
