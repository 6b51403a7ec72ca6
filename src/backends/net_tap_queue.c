#include "backends/net_tap_queue.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "backends/net_tap.h"

void net_tap_queue_init(struct net_tap_queue *queue, int fd, const char *name, unsigned pair)
{
    *queue = (struct net_tap_queue){ .fd = fd, .pair = pair, .name = name };
    atomic_init(&queue->dropped_transmits, 0);
    atomic_init(&queue->receive_errors, 0);
    atomic_init(&queue->receive_frame_bytes, NET_TAP_RECEIVE_FRAME_BYTES);
}

unsigned net_tap_queue_poll_fill(struct net_tap_queue *queue, struct pollfd *fds, unsigned capacity,
                                 bool want_receive, bool want_transmit)
{
    if (capacity == 0 || !(want_receive || want_transmit))
        return 0;
    fds[0] = (struct pollfd){ .fd = queue->fd,
                              .events = (short)((want_receive ? POLLIN : 0) | (want_transmit ? POLLOUT : 0)) };
    return 1;
}

static void count_receive_error(struct net_tap_queue *queue, int code)
{
    atomic_fetch_add_explicit(&queue->receive_errors, 1, memory_order_relaxed);
    log_ratelimited(&queue->receive_limit, "tap %s queue %u: read: %s", queue->name, queue->pair, strerror(code));
}

void net_tap_queue_poll_dispatch(struct net_tap_queue *queue, const struct pollfd *fds, unsigned count,
                                 const struct net_receive_sink *sink)
{
    short revents = 0;
    for (unsigned i = 0; i < count; i++)
        if (fds[i].fd == queue->fd)
            revents |= fds[i].revents;
    if (!(revents & (POLLIN | POLLERR | POLLHUP)) || !sink)
        return;
    for (unsigned frame = 0; frame < NET_TAP_RECEIVE_BATCH; frame++) {
        struct iovec *segments = NULL;
        unsigned segment_count = 0;
        /* No buffers: the frame stays in the tap's queue (the kernel drops from its tail when that fills). */
        size_t frame_bytes = atomic_load_explicit(&queue->receive_frame_bytes, memory_order_relaxed);
        if (!sink->acquire(sink->opaque, frame_bytes, &segments, &segment_count))
            return;
        ssize_t bytes;
        do
            bytes = readv(queue->fd, segments, (int)segment_count);
        while (bytes < 0 && errno == EINTR);
        if (bytes <= 0) {
            int code = errno;
            sink->commit(sink->opaque, 0);
            if (bytes < 0 && code != EAGAIN)
                count_receive_error(queue, code);
            return;
        }
        sink->commit(sink->opaque, (size_t)bytes);
    }
}

int net_tap_queue_transmit(struct net_tap_queue *queue, const struct iovec *segments, unsigned count)
{
    ssize_t bytes;
    do
        bytes = writev(queue->fd, segments, (int)count);
    while (bytes < 0 && errno == EINTR);
    if (bytes >= 0)
        return 0;
    int code = errno;
    if (code == EAGAIN || code == ENOBUFS)
        return -EAGAIN;
    /*
     * The kernel refused this frame (a malformed header from the guest, EIO
     * while the link is down): drop it, never the queue.
     */
    atomic_fetch_add_explicit(&queue->dropped_transmits, 1, memory_order_relaxed);
    log_ratelimited(&queue->transmit_limit, "tap %s queue %u: dropped a frame: %s", queue->name, queue->pair,
                    strerror(code));
    return 0;
}

uint64_t net_tap_queue_dropped_transmits(const struct net_tap_queue *queue)
{
    return atomic_load_explicit(&queue->dropped_transmits, memory_order_relaxed);
}

uint64_t net_tap_queue_receive_errors(const struct net_tap_queue *queue)
{
    return atomic_load_explicit(&queue->receive_errors, memory_order_relaxed);
}
