#ifndef KESTREL_BACKENDS_NET_TAP_QUEUE_H
#define KESTREL_BACKENDS_NET_TAP_QUEUE_H

/*
 * The data path of one tap queue (one virtio-net queue pair): non-blocking
 * readv into the guest's buffers and writev from them, on the pair's thread.
 * net_tap.c owns the fds and the device-wide ioctls; this module moves frames.
 * The counters are atomic because --stats reads them from another thread.
 */

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/net_backend.h"
#include "util/log.h"

struct net_tap_queue {
    int fd;
    unsigned pair;
    const char *name; /* the interface's, for log lines */
    struct log_ratelimit transmit_limit;
    struct log_ratelimit receive_limit;
    _Atomic uint64_t dropped_transmits;
    _Atomic uint64_t receive_errors;
    /*
     * The largest frame a read may bring, header included: 64 KiB while the
     * guest takes segmentation offloads, else the link's MTU and headers
     * (set_offload decides). The device gathers guest buffers for this much.
     */
    _Atomic uint32_t receive_frame_bytes;
};

void net_tap_queue_init(struct net_tap_queue *queue, int fd, const char *name, unsigned pair);

/* The net_backend_ops entries for this queue (net_backend.h). */
unsigned net_tap_queue_poll_fill(struct net_tap_queue *queue, struct pollfd *fds, unsigned capacity,
                                 bool want_receive, bool want_transmit);
void net_tap_queue_poll_dispatch(struct net_tap_queue *queue, const struct pollfd *fds, unsigned count,
                                 const struct net_receive_sink *sink);
int net_tap_queue_transmit(struct net_tap_queue *queue, const struct iovec *segments, unsigned count);

uint64_t net_tap_queue_dropped_transmits(const struct net_tap_queue *queue);
uint64_t net_tap_queue_receive_errors(const struct net_tap_queue *queue);

#endif
