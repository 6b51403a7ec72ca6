/*
 * Guest frames into the libslirp backend: whatever a guest transmits
 * (truncated headers, bad lengths, fragments, DHCP options, ICMP) goes to
 * libslirp's parsers through transmit, and what libslirp answers comes back
 * through a sink that sometimes has no buffers. No input may crash, leak or
 * hang. The fuzz build runs libslirp restricted, so no frame reaches a real
 * host socket.
 *
 * Input: one flags byte (bit 0: the guest posts no buffers; bit 1: MTU 1500
 * rather than 65520), then records of a 16-bit little-endian length and that
 * many bytes, each one frame; a poll round without waiting follows each.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net_slirp.h"

enum { FRAMES_MAX = 32, RECEIVE_BYTES = 65536 + 64 };

struct fuzz_sink {
    bool refuse;
    bool acquired;
    uint8_t *buffer;
    struct iovec segments[2];
};

static bool fuzz_acquire(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count)
{
    struct fuzz_sink *sink = opaque;
    if (sink->refuse || frame_bytes > RECEIVE_BYTES || sink->acquired)
        return false;
    sink->acquired = true;
    sink->segments[0] = (struct iovec){ sink->buffer, 1 };
    sink->segments[1] = (struct iovec){ sink->buffer + 1, RECEIVE_BYTES - 1 };
    *segments = sink->segments;
    *count = 2;
    return true;
}

static void fuzz_commit(void *opaque, size_t bytes)
{
    struct fuzz_sink *sink = opaque;
    if (!sink->acquired || bytes > RECEIVE_BYTES)
        abort();
    sink->acquired = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t receive_buffer[RECEIVE_BYTES];
    if (size < 1)
        return 0;
    struct fuzz_sink sink = { .refuse = data[0] & 1, .buffer = receive_buffer };
    struct net_receive_sink receive = { fuzz_acquire, fuzz_commit, &sink };
    struct net_backend backend;
    struct error error;
    struct net_slirp_options options = { .mtu = (data[0] & 2) ? 1500 : 65520 };
    if (net_slirp_open(&backend, &options, &error) != 0)
        abort();
    size_t at = 1;
    for (unsigned frame = 0; frame < FRAMES_MAX && at + 2 <= size; frame++) {
        size_t length = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (length > size - at)
            length = size - at;
        struct iovec segment = { (void *)(data + at), length };
        if (backend.ops->transmit(backend.state, 0, &segment, 1, &receive) != 0)
            abort();
        at += length;
        struct pollfd fds[NET_BACKEND_MAX_POLL_FDS];
        int timeout = 0;
        unsigned count = backend.ops->poll_fill(backend.state, 0, fds, NET_BACKEND_MAX_POLL_FDS, true, false, &timeout);
        if (count > NET_BACKEND_MAX_POLL_FDS || timeout != 0)
            abort();
        backend.ops->poll_dispatch(backend.state, 0, fds, count, &receive);
    }
    net_slirp_close(&backend);
    return 0;
}
