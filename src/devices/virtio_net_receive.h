#ifndef KESTREL_DEVICES_VIRTIO_NET_RECEIVE_H
#define KESTREL_DEVICES_VIRTIO_NET_RECEIVE_H

/*
 * One receive queue's buffers, as the backend's receive sink hands them out
 * (backends/net_backend.h). A backend does not know a frame's length before
 * it reads it (a tap is read with readv), so the sink gathers enough guest
 * buffers for the largest frame that may come: one chain, or with
 * VIRTIO_NET_F_MRG_RXBUF as many chains as it takes. Chains that one frame
 * did not use stay held, in order, for the next one; nothing is copied
 * between the backend and guest memory.
 *
 * On commit the destination address goes through the receive filter
 * (virtio_net_control.h): a frame the guest did not ask for leaves its
 * buffers held. Then the header's num_buffers (or the whole header, for a
 * backend that writes none) is written and the chains are pushed.
 *
 * Driven by one thread: the I/O thread serving its queue pair.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio_net_control.h"
#include "util/error.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

enum {
    VIRTIO_NET_HELD_CHAINS = 64,  /* 64 KiB in chains of 1 KiB and more */
    VIRTIO_NET_GATHER_MAX = 1024, /* IOV_MAX: what one readv takes */
};

struct virtio_net_receive_setup {
    struct virtq *queue;
    bool mergeable;               /* VIRTIO_NET_F_MRG_RXBUF negotiated */
    bool backend_writes_header;   /* the backend's frames carry the 12-byte header (a tap) */
    bool data_valid;              /* mark frames DATA_VALID (a backend whose checksums are computed here) */
    const uint8_t *mac;           /* the device's address, for the filter */
    pthread_mutex_t *filter_lock; /* guards *filter, which the control queue changes */
    const struct virtio_net_filter *filter;
};

struct virtio_net_held_chain {
    struct virtq_request request;
};

struct virtio_net_receive {
    struct virtio_net_receive_setup setup;
    struct iovec *segment_pool;   /* VIRTIO_NET_HELD_CHAINS slots of a queue size each */
    struct virtio_net_held_chain held[VIRTIO_NET_HELD_CHAINS];
    unsigned held_first, held_count; /* a ring over held[]; slot i owns segment_pool's i-th stretch */
    uint64_t held_bytes;
    struct iovec gathered[VIRTIO_NET_GATHER_MAX];
    unsigned gathered_count;
    unsigned acquired_chains;     /* held chains behind `gathered`; 0: nothing acquired */
    bool starved;                 /* the ring had no buffer: wait for a kick */
    bool broken;
    bool pushed;                  /* pushed since the caller last looked: check for an interrupt */
    uint64_t frames, bytes, filtered;
};

int virtio_net_receive_init(struct virtio_net_receive *receive, const struct virtio_net_receive_setup *setup,
                            struct error *error);
void virtio_net_receive_destroy(struct virtio_net_receive *receive);

/* The sink's two calls (struct net_receive_sink). */
bool virtio_net_receive_acquire(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count);
void virtio_net_receive_commit(void *opaque, size_t bytes);

#endif
