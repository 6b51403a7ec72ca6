#ifndef KESTREL_TESTS_NET_SLIRP_FIXTURE_H
#define KESTREL_TESTS_NET_SLIRP_FIXTURE_H

/*
 * The libslirp backend driven as the virtio-net pair thread drives it: a sink
 * that stands for a guest posting two-segment buffers (or none), frames sent
 * as three segments, and the fill / poll(2) / dispatch loop, bounded in time.
 */

#include <dirent.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "backends/net_slirp.h"
#include "ethernet_frames.h"

enum { FRAMES_KEPT = 64, DRIVE_LIMIT_MS = 5000 };

/* The device's side: a guest that posts buffers of two segments each, or none when `refuse`. */
struct test_sink {
    bool refuse;
    unsigned acquired, committed;
    uint8_t buffer[FRAME_MAX];
    struct iovec segments[2];
    size_t lengths[FRAMES_KEPT];
    uint8_t frames[FRAMES_KEPT][FRAME_MAX];
    unsigned count;
};

static bool sink_acquire(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count)
{
    struct test_sink *sink = opaque;
    if (sink->refuse || frame_bytes > sizeof(sink->buffer))
        return false;
    sink->acquired++;
    /* A split after 7 bytes: the backend must not assume one segment per frame. */
    sink->segments[0] = (struct iovec){ sink->buffer, 7 };
    sink->segments[1] = (struct iovec){ sink->buffer + 7, sizeof(sink->buffer) - 7 };
    *segments = sink->segments;
    *count = 2;
    return true;
}

static void sink_commit(void *opaque, size_t bytes)
{
    struct test_sink *sink = opaque;
    sink->committed++;
    if (bytes == 0 || sink->count == FRAMES_KEPT)
        return;
    memcpy(sink->frames[sink->count], sink->buffer, bytes);
    sink->lengths[sink->count++] = bytes;
}

struct fixture {
    struct net_backend backend;
    struct test_sink sink;
    struct net_receive_sink receive;
};

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void fixture_open(struct fixture *fixture, const struct net_slirp_options *options)
{
    memset(fixture, 0, sizeof(*fixture));
    struct error error = { 0 };
    assert_int_equal(net_slirp_open(&fixture->backend, options, &error), 0);
    assert_int_equal(fixture->backend.pair_count, 1);
    assert_int_equal(fixture->backend.ops->header_size, 0);
    assert_int_equal(fixture->backend.offloads, 0);
    fixture->receive = (struct net_receive_sink){ sink_acquire, sink_commit, &fixture->sink };
}

static void fixture_transmit(struct fixture *fixture, const uint8_t *frame, size_t length)
{
    /* The frame arrives as three segments, as a guest may chain it. */
    size_t first = length / 3, second = length / 3;
    struct iovec segments[3] = {
        { (void *)frame, first },
        { (void *)(frame + first), second },
        { (void *)(frame + first + second), length - first - second },
    };
    assert_int_equal(fixture->backend.ops->transmit(fixture->backend.state, 0, segments, 3, &fixture->receive), 0);
}

typedef bool (*frame_match)(const uint8_t *frame, size_t length, const void *context);

/* Index of the first collected frame from `from` on that matches, or -1. */
static int find_frame(const struct fixture *fixture, unsigned from, frame_match match, const void *context)
{
    for (unsigned i = from; i < fixture->sink.count; i++)
        if (match(fixture->sink.frames[i], fixture->sink.lengths[i], context))
            return (int)i;
    return -1;
}

/* One round of the pair thread: fill (at most `capacity` fds), wait at most `wait_ms`, dispatch. */
static void fixture_poll_round(struct fixture *fixture, unsigned capacity, int wait_ms)
{
    struct pollfd fds[NET_BACKEND_MAX_POLL_FDS];
    int timeout = wait_ms;
    unsigned count = fixture->backend.ops->poll_fill(fixture->backend.state, 0, fds, capacity, true, false, &timeout);
    assert_true(count <= capacity);
    assert_true(timeout >= 0 && timeout <= wait_ms);
    assert_true(poll(fds, count, timeout) >= 0);
    fixture->backend.ops->poll_dispatch(fixture->backend.state, 0, fds, count, &fixture->receive);
}

static void fixture_poll_once(struct fixture *fixture, int wait_ms)
{
    fixture_poll_round(fixture, NET_BACKEND_MAX_POLL_FDS, wait_ms);
}

/* Runs the pair thread's loop until a frame matches (its index) or DRIVE_LIMIT_MS passes (-1). */
static int drive_with_capacity(struct fixture *fixture, unsigned capacity, frame_match match, const void *context)
{
    int64_t deadline = monotonic_ms() + DRIVE_LIMIT_MS;
    int found;
    while ((found = find_frame(fixture, 0, match, context)) < 0 && monotonic_ms() < deadline)
        fixture_poll_round(fixture, capacity, 20);
    return found;
}

static int drive_until(struct fixture *fixture, frame_match match, const void *context)
{
    return drive_with_capacity(fixture, NET_BACKEND_MAX_POLL_FDS, match, context);
}

static unsigned open_fd_count(void)
{
    DIR *directory = opendir("/proc/self/fd");
    assert_non_null(directory);
    unsigned count = 0;
    while (readdir(directory))
        count++;
    closedir(directory);
    return count;
}

#endif
