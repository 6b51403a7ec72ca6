#ifndef KESTREL_DEVICES_VIRTIO_NET_PAIR_H
#define KESTREL_DEVICES_VIRTIO_NET_PAIR_H

/*
 * One virtio-net queue pair's work, done by the I/O thread that serves it
 * (virtio_net_thread.h): the pair adds its two kick eventfds, the control
 * queue's (pair 0 serves it) and the fds its backend wants to that thread's
 * poll(2) set, and after the poll does transmit (each frame's header
 * checked, then the guest's buffers handed to the backend without a copy),
 * receive (virtio_net_receive.h), control commands (virtio_net_control.h)
 * and the interrupts that follow, each bounded per pass so that the other
 * pairs on the thread get their turn.
 *
 * A pair at or beyond the driver's VQ_PAIRS_SET count (shared.active_pairs)
 * is not served until the driver turns it on again. With vhost-net the
 * kernel serves the data queues, and a pair of this kind serves only the
 * control queue.
 *
 * Prepared at DRIVER_OK, released by a reset or teardown after its thread
 * stopped and before the transport resets the queues. Only its thread
 * touches it in between; it never takes the transport's lock.
 */

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/net_backend.h"
#include "devices/virtio_net_control.h"
#include "devices/virtio_net_header.h"
#include "devices/virtio_net_receive.h"
#include "util/error.h"
#include "util/log.h"
#include "virtio/virtio_pci.h"

enum {
    /* Kicks (TX, RX, control) and the backend's: what one pair adds to a poll set at most. */
    VIRTIO_NET_PAIR_MAX_POLL_FDS = 3 + NET_BACKEND_MAX_POLL_FDS,
};

/* What a device's pairs and I/O threads share. */
struct virtio_net_shared {
    struct virtio_pci *transport;
    struct net_backend *backend;
    uint64_t features;            /* negotiated; fixed while the threads run */
    uint8_t mac[6];
    bool data_valid;              /* the backend's frames have host-made checksums: DATA_VALID */
    uint16_t max_pairs;
    pthread_mutex_t filter_lock;
    struct virtio_net_filter filter;
    /* Pairs [0, active_pairs) are in use (VIRTIO_NET_CTRL_MQ); 1 at DRIVER_OK. */
    _Atomic uint16_t active_pairs;
    /* Called on the control queue's thread after active_pairs changed: wakes the other threads. */
    void (*pairs_changed)(void *opaque, uint16_t pairs);
    void *pairs_changed_opaque;
    _Atomic uint64_t frames_sent, frames_received, frames_dropped, bytes_sent, bytes_received;
};

struct virtio_net_pair_setup {
    struct virtio_net_shared *shared;
    unsigned index;
    bool data_path;     /* serve the RX/TX queues (else vhost-net does) */
    int control_queue;  /* -1: none */
};

struct virtio_net_pair {
    struct virtio_net_pair_setup setup;
    uint16_t rx_queue, tx_queue;
    struct virtio_net_receive receive;
    bool receive_ready;
    struct iovec *tx_segments;    /* one popped chain's segments */
    struct iovec *tx_send;        /* what goes to the backend: the checked header, then the frame */
    uint32_t tx_capacity;
    struct virtq_request tx_waiting; /* a frame the backend had no room for */
    bool tx_has_waiting;
    bool tx_more;                 /* the TX budget ran out: come back without sleeping */
    struct virtio_net_hdr_v1 tx_header;
    struct iovec *control_segments;
    uint32_t control_capacity;
    uint64_t frames_reported, bytes_reported; /* of receive's counts, added to the shared ones */
    uint64_t touched;             /* queues pushed to since the last interrupt check */
    uint64_t broken;              /* queues found broken: no longer served */
    bool serve_tx, serve_control; /* kicked (or more to do): serve on the next pass */
    bool data_serving;            /* the data queues were in use at the last pass */
    int tx_slot, rx_slot, control_slot; /* in the pair's stretch of the poll set; -1: not there */
    unsigned backend_first, backend_count;
    bool prepared;
    struct log_ratelimit log_limit;
};

/* Allocates what the pair needs to serve its queues (the queues' sizes are known at DRIVER_OK). */
int virtio_net_pair_prepare(struct virtio_net_pair *pair, const struct virtio_net_pair_setup *setup,
                            struct error *error);
/* After its thread stopped; a no-op when not prepared. */
void virtio_net_pair_release(struct virtio_net_pair *pair);

/*
 * One pass of the pair's thread: serve serves what the last dispatch found
 * (within the per-pass budget) and raises the interrupts it owes; poll_fill
 * adds at most VIRTIO_NET_PAIR_MAX_POLL_FDS fds and sets *timeout_ms (-1:
 * none); poll_dispatch reads the same fds after poll(2) and receives.
 */
void virtio_net_pair_serve(struct virtio_net_pair *pair);
unsigned virtio_net_pair_poll_fill(struct virtio_net_pair *pair, struct pollfd *fds, int *timeout_ms);
void virtio_net_pair_poll_dispatch(struct virtio_net_pair *pair, const struct pollfd *fds);

#endif
