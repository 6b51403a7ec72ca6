/*
 * virtio_net_header_read and virtio_net_header_check_transmit on arbitrary
 * header bytes split over arbitrary segments, any frame length and any
 * negotiated features. Nothing may crash or read outside the segments, and
 * whatever the check lets through must keep the promises the device and a
 * tap rely on: a frame of 14 bytes to 64 KiB, only NEEDS_CSUM among the
 * flags, a checksum field inside the frame and only with CSUM, segmentation
 * only of a negotiated kind, with NEEDS_CSUM, a segment size and hdr_len
 * inside the frame.
 *
 * Input: features (8, little-endian), frame length (3), segment count (1,
 * 1 + v % 12) and one length byte per segment (v % 13), then the bytes the
 * segments cover, in order.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio_net_header.h"

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition)) {                                                                                           \
            fprintf(stderr, "fuzz_virtio_net_header: check failed: %s (line %d)\n", #condition, __LINE__);        \
            __builtin_trap();                                                                                         \
        }                                                                                                             \
    } while (0)

enum { MAX_SEGMENTS = 12, MAX_SEGMENT = 12 };

static uint64_t take(const uint8_t **data, size_t *size, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes && *size; i++, (*size)--, (*data)++)
        value |= (uint64_t)**data << (8 * i);
    return value;
}

static int has(uint64_t features, unsigned bit)
{
    return (features >> bit) & 1;
}

static void check_accepted(const struct virtio_net_hdr_v1 *header, uint64_t frame, uint64_t features)
{
    CHECK(frame >= VIRTIO_NET_ETHERNET_HEADER && frame <= VIRTIO_NET_MAX_FRAME);
    CHECK((header->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0);
    if (header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        CHECK(has(features, VIRTIO_NET_F_CSUM));
        CHECK((uint64_t)le16toh(header->csum_start) + le16toh(header->csum_offset) + 2 <= frame);
    }
    uint8_t type = header->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (type == VIRTIO_NET_HDR_GSO_NONE) {
        CHECK(header->gso_type == VIRTIO_NET_HDR_GSO_NONE);
        return;
    }
    CHECK(!(header->gso_type & VIRTIO_NET_HDR_GSO_ECN) || has(features, VIRTIO_NET_F_HOST_ECN));
    CHECK((type == VIRTIO_NET_HDR_GSO_TCPV4 && has(features, VIRTIO_NET_F_HOST_TSO4)) ||
          (type == VIRTIO_NET_HDR_GSO_TCPV6 && has(features, VIRTIO_NET_F_HOST_TSO6)) ||
          (type == VIRTIO_NET_HDR_GSO_UDP && has(features, VIRTIO_NET_F_HOST_UFO)));
    CHECK(header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK(le16toh(header->gso_size) > 0);
    CHECK(le16toh(header->hdr_len) <= frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t features = take(&data, &size, 8);
    uint64_t frame = take(&data, &size, 3);
    unsigned count = 1 + (unsigned)(take(&data, &size, 1) % MAX_SEGMENTS);
    uint8_t lengths[MAX_SEGMENTS];
    for (unsigned i = 0; i < count; i++)
        lengths[i] = (uint8_t)(take(&data, &size, 1) % (MAX_SEGMENT + 1));
    /* Each segment its own copy, so a read past one is an ASan report, not a neighbour's byte. */
    uint8_t storage[MAX_SEGMENTS][MAX_SEGMENT];
    struct iovec segments[MAX_SEGMENTS];
    uint8_t flat[MAX_SEGMENTS * MAX_SEGMENT];
    size_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        size_t length = lengths[i] < size ? lengths[i] : size;
        memcpy(storage[i], data, length);
        memcpy(flat + total, data, length);
        data += length, size -= length, total += length;
        segments[i] = (struct iovec){storage[i], length};
    }
    struct virtio_net_hdr_v1 header;
    bool read = virtio_net_header_read(segments, count, &header);
    CHECK(read == (total >= sizeof(header)));
    if (!read)
        memset(&header, 0, sizeof(header));
    else
        CHECK(memcmp(&header, flat, sizeof(header)) == 0);
    if (!virtio_net_header_check_transmit(&header, frame, features))
        check_accepted(&header, frame, features);
    /* The same header under every offload at once and none: acceptance only grows with features. */
    const uint64_t offloads = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |
                              1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_HOST_ECN |
                              1ull << VIRTIO_NET_F_HOST_UFO;
    if (!virtio_net_header_check_transmit(&header, frame, 0))
        CHECK(!virtio_net_header_check_transmit(&header, frame, offloads));
    return 0;
}
