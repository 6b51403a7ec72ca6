#ifndef KESTREL_TESTS_UNIT_NET_TEST_BACKEND_H
#define KESTREL_TESTS_UNIT_NET_TEST_BACKEND_H

/*
 * A net backend over one AF_UNIX SOCK_SEQPACKET socketpair per queue pair, so
 * frame boundaries survive: the device's end is polled and read by the pair's
 * thread, the test holds the other end. With header_size 12 it behaves like a
 * tap with IFF_VNET_HDR (frames cross with the header; receive asks for the
 * largest frame and reads it straight into the guest's buffers, leaving it in
 * the socket when the device has no buffers); with header_size 0 like
 * libslirp (bare frames, receive asks for the exact length and drops a frame
 * the device refuses).
 *
 * Every op records what it was asked, under a lock, for the tests to check.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/net_backend.h"

enum {
    NET_TEST_MAX_PAIRS = 4,
    NET_TEST_LARGEST_FRAME = 65550 + NET_BACKEND_HEADER_SIZE, /* what a tap asks for with offloads: it cannot peek */
    NET_TEST_DISPATCH_FRAMES = 64,                            /* frames per poll_dispatch, as a tap's budget */
};

struct net_test_backend {
    struct net_backend backend;
    struct net_backend_ops ops;
    int device_end[NET_TEST_MAX_PAIRS];
    int test_end[NET_TEST_MAX_PAIRS];
    pthread_mutex_t lock;
    /* Recorded, guarded by lock. */
    unsigned offloads_set;
    unsigned active_pairs;
    unsigned set_offload_calls, set_active_pairs_calls;
    unsigned transmits, dispatches, acquire_refusals;
    unsigned truncated; /* frames longer than the buffers the device gave */
    const void *first_segment; /* of the last transmit: where the header came from */
    /* Behaviour, guarded by lock. */
    bool transmit_full;     /* transmit answers -EAGAIN */
    bool refuse_pairs;      /* set_active_pairs fails */
    bool echo;              /* transmit answers at once through the sink, as libslirp answers ARP and ping */
    unsigned mtu;           /* the link's, as a tap's: without segmentation offloads frames fit it (1500) */
    unsigned transmit_delay_us[NET_TEST_MAX_PAIRS]; /* each transmit on the pair takes this long: a busy pair */
};

static inline struct net_test_backend *net_test_backend_of(void *state)
{
    return state;
}

static inline unsigned net_test_backend_poll_fill(void *state, unsigned pair, struct pollfd *fds, unsigned capacity,
                                                  bool want_receive, bool want_transmit, int *timeout_ms)
{
    struct net_test_backend *test = net_test_backend_of(state);
    (void)timeout_ms;
    if (pair >= test->backend.pair_count || capacity == 0)
        abort();
    short events = (short)((want_receive ? POLLIN : 0) | (want_transmit ? POLLOUT : 0));
    fds[0] = (struct pollfd){.fd = test->device_end[pair], .events = events};
    return 1;
}

static inline void net_test_backend_poll_dispatch(void *state, unsigned pair, const struct pollfd *fds,
                                                  unsigned count, const struct net_receive_sink *sink)
{
    struct net_test_backend *test = net_test_backend_of(state);
    pthread_mutex_lock(&test->lock);
    test->dispatches++;
    pthread_mutex_unlock(&test->lock);
    if (count != 1 || fds[0].fd != test->device_end[pair] || !(fds[0].revents & POLLIN))
        return;
    for (unsigned i = 0; i < NET_TEST_DISPATCH_FRAMES; i++) {
        ssize_t length = recv(fds[0].fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
        if (length < 0)
            return;
        pthread_mutex_lock(&test->lock);
        unsigned mtu = test->mtu;
        bool segmentation = test->offloads_set & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_UFO);
        pthread_mutex_unlock(&test->lock);
        /* As a tap asks: 64 KiB while the guest takes segmentation offloads, else an MTU's worth. */
        size_t mtu_frame = NET_BACKEND_HEADER_SIZE + 14u + 4u + mtu; /* a VLAN tag included */
        size_t ask = !test->ops.header_size ? (size_t)length : segmentation ? NET_TEST_LARGEST_FRAME : mtu_frame;
        struct iovec *segments;
        unsigned segment_count;
        if (!sink->acquire(sink->opaque, ask, &segments, &segment_count)) {
            pthread_mutex_lock(&test->lock);
            test->acquire_refusals++;
            pthread_mutex_unlock(&test->lock);
            /* A tap leaves the frame in its queue; libslirp cannot keep it and drops it. */
            if (test->ops.header_size == 0)
                (void)recv(fds[0].fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
            return;
        }
        struct msghdr message = {.msg_iov = segments, .msg_iovlen = segment_count};
        ssize_t got = recvmsg(fds[0].fd, &message, MSG_DONTWAIT);
        if (got < 0) {
            sink->commit(sink->opaque, 0);
            return;
        }
        if (message.msg_flags & MSG_TRUNC) {
            pthread_mutex_lock(&test->lock);
            test->truncated++;
            pthread_mutex_unlock(&test->lock);
        }
        sink->commit(sink->opaque, (size_t)got);
    }
}

/* The frame back to its sender (addresses swapped), written through the sink while transmitting. */
static inline void net_test_backend_echo(const struct iovec *segments, unsigned count,
                                         const struct net_receive_sink *sink)
{
    uint8_t frame[65600];
    size_t length = 0;
    for (unsigned i = 0; i < count && segments[i].iov_len <= sizeof(frame) - length; i++) {
        memcpy(frame + length, segments[i].iov_base, segments[i].iov_len);
        length += segments[i].iov_len;
    }
    if (length < 12)
        return;
    uint8_t address[6];
    memcpy(address, frame, 6);
    memcpy(frame, frame + 6, 6);
    memcpy(frame + 6, address, 6);
    struct iovec *buffers;
    unsigned buffer_count;
    if (!sink->acquire(sink->opaque, length, &buffers, &buffer_count))
        return;
    size_t written = 0;
    for (unsigned i = 0; i < buffer_count && written < length; i++) {
        size_t take = buffers[i].iov_len < length - written ? buffers[i].iov_len : length - written;
        memcpy(buffers[i].iov_base, frame + written, take);
        written += take;
    }
    sink->commit(sink->opaque, written);
}

static inline int net_test_backend_transmit(void *state, unsigned pair, const struct iovec *segments, unsigned count,
                                            const struct net_receive_sink *sink)
{
    struct net_test_backend *test = net_test_backend_of(state);
    pthread_mutex_lock(&test->lock);
    bool full = test->transmit_full, echo = test->echo;
    unsigned delay_us = pair < NET_TEST_MAX_PAIRS ? test->transmit_delay_us[pair] : 0;
    test->transmits++;
    test->first_segment = count ? segments[0].iov_base : NULL;
    pthread_mutex_unlock(&test->lock);
    if (delay_us)
        usleep(delay_us);
    if (full)
        return -EAGAIN;
    if (echo && test->ops.header_size == 0) {
        net_test_backend_echo(segments, count, sink);
        return 0;
    }
    struct msghdr message = {.msg_iov = (struct iovec *)segments, .msg_iovlen = count};
    if (sendmsg(test->device_end[pair], &message, MSG_DONTWAIT) < 0)
        return errno == EAGAIN ? -EAGAIN : -errno;
    return 0;
}

static inline int net_test_backend_set_offload(void *state, unsigned offloads)
{
    struct net_test_backend *test = net_test_backend_of(state);
    pthread_mutex_lock(&test->lock);
    test->offloads_set = offloads;
    test->set_offload_calls++;
    pthread_mutex_unlock(&test->lock);
    return 0;
}

static inline int net_test_backend_set_active_pairs(void *state, unsigned active)
{
    struct net_test_backend *test = net_test_backend_of(state);
    pthread_mutex_lock(&test->lock);
    bool refuse = test->refuse_pairs;
    if (!refuse)
        test->active_pairs = active;
    test->set_active_pairs_calls++;
    pthread_mutex_unlock(&test->lock);
    return refuse ? -EINVAL : 0;
}

/* A backend of `pairs` socketpairs; header_size 0 or NET_BACKEND_HEADER_SIZE. Aborts on failure (a test bug). */
static inline struct net_test_backend *net_test_backend_create(unsigned pairs, size_t header_size, unsigned offloads)
{
    struct net_test_backend *test = calloc(1, sizeof(*test));
    if (!test || pairs == 0 || pairs > NET_TEST_MAX_PAIRS)
        abort();
    pthread_mutex_init(&test->lock, NULL);
    test->mtu = 1500;
    test->ops = (struct net_backend_ops){
        .name = "test",
        .header_size = header_size,
        .poll_fill = net_test_backend_poll_fill,
        .poll_dispatch = net_test_backend_poll_dispatch,
        .transmit = net_test_backend_transmit,
        .set_offload = net_test_backend_set_offload,
        .set_active_pairs = net_test_backend_set_active_pairs,
    };
    test->backend = (struct net_backend){.ops = &test->ops, .state = test, .pair_count = pairs, .offloads = offloads};
    for (unsigned i = 0; i < pairs; i++) {
        int ends[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) < 0)
            abort();
        /* Room for a few 64 KiB frames either way. */
        int size = 1 << 20;
        (void)setsockopt(ends[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        (void)setsockopt(ends[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        test->device_end[i] = ends[0];
        test->test_end[i] = ends[1];
    }
    return test;
}

static inline void net_test_backend_destroy(struct net_test_backend *test)
{
    for (unsigned i = 0; i < test->backend.pair_count; i++) {
        close(test->device_end[i]);
        close(test->test_end[i]);
    }
    pthread_mutex_destroy(&test->lock);
    free(test);
}

/* The host sends one frame (with the header when header_size is 12) towards the guest on `pair`. */
static inline void net_test_backend_inject(struct net_test_backend *test, unsigned pair, const void *frame,
                                           size_t length)
{
    if (send(test->test_end[pair], frame, length, 0) != (ssize_t)length)
        abort();
}

/* Reads one frame the device transmitted on `pair`, waiting up to timeout_ms; its length, or -1 when none came. */
static inline ssize_t net_test_backend_take(struct net_test_backend *test, unsigned pair, void *buffer,
                                            size_t capacity, int timeout_ms)
{
    struct pollfd fd = {.fd = test->test_end[pair], .events = POLLIN};
    if (poll(&fd, 1, timeout_ms) <= 0)
        return -1;
    return recv(test->test_end[pair], buffer, capacity, MSG_DONTWAIT);
}

static inline unsigned net_test_backend_read(struct net_test_backend *test, const unsigned *field)
{
    pthread_mutex_lock(&test->lock);
    unsigned value = *field;
    pthread_mutex_unlock(&test->lock);
    return value;
}

static inline void net_test_backend_set(struct net_test_backend *test, bool *field, bool value)
{
    pthread_mutex_lock(&test->lock);
    *field = value;
    pthread_mutex_unlock(&test->lock);
}

#endif
