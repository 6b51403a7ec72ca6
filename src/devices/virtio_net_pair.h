#ifndef KESTREL_DEVICES_VIRTIO_NET_PAIR_H
#define KESTREL_DEVICES_VIRTIO_NET_PAIR_H

/*
 * One virtio-net queue pair's thread: it waits in poll(2) on the pair's two
 * kick eventfds, the control queue's (pair 0 serves it), a stop eventfd and
 * the fds its backend adds, and does all of the pair's work: transmit (each
 * frame's header checked, then the guest's buffers handed to the backend
 * without a copy), receive (virtio_net_receive.h), control commands
 * (virtio_net_control.h) and the interrupts that follow.
 *
 * With vhost-net the kernel serves the data queues, and a thread of this
 * kind serves only the control queue.
 *
 * Started at DRIVER_OK, stopped by a reset or teardown before the transport
 * resets the queues. The thread never takes the transport's lock.
 */

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
#include "util/thread_pause.h"
#include "virtio/virtio_pci.h"

/* What a device's pair threads share. */
struct virtio_net_shared {
    struct virtio_pci *transport;
    struct net_backend *backend;
    uint64_t features;            /* negotiated; fixed while the threads run */
    uint8_t mac[6];
    bool data_valid;              /* the backend's frames have host-made checksums: DATA_VALID */
    uint16_t max_pairs;
    pthread_mutex_t filter_lock;
    struct virtio_net_filter filter;
    /* The control queue changed the pairs in use: for vhost, which has no thread to tell. */
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
    int stop_fd;                  /* written to wake the thread for a stop or a pause */
    atomic_bool stopping;
    struct thread_pause pause;
    pthread_t thread;
    bool running;
    struct log_ratelimit log_limit;
};

int virtio_net_pair_start(struct virtio_net_pair *pair, const struct virtio_net_pair_setup *setup,
                          struct error *error);
/*
 * A VM pause: the thread finishes what it is doing (a frame it is passing
 * on, the interrupts it owes) and parks; it takes nothing more from the
 * guest's queues or the backend until the resume. A frame the backend had no
 * room for stays held and goes out after the resume. No-ops when not running.
 */
void virtio_net_pair_pause(struct virtio_net_pair *pair);
void virtio_net_pair_resume(struct virtio_net_pair *pair);

/* Stops and joins the thread; a no-op when not running. */
void virtio_net_pair_stop(struct virtio_net_pair *pair);

#endif
