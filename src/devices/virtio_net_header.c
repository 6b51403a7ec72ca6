#include "devices/virtio_net_header.h"

#include <endian.h>
#include <string.h>

#include "mem/iovec.h"

static bool negotiated(uint64_t features, unsigned bit)
{
    return (features >> bit) & 1;
}

static const char *check_gso(const struct virtio_net_hdr_v1 *header, uint64_t frame_bytes, uint64_t features)
{
    uint8_t type = header->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (type == VIRTIO_NET_HDR_GSO_NONE)
        return (header->gso_type & VIRTIO_NET_HDR_GSO_ECN) ? "ECN without a GSO type" : NULL;
    if ((header->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !negotiated(features, VIRTIO_NET_F_HOST_ECN))
        return "GSO with ECN, not negotiated";
    switch (type) {
    case VIRTIO_NET_HDR_GSO_TCPV4:
        if (!negotiated(features, VIRTIO_NET_F_HOST_TSO4))
            return "TSO4 not negotiated";
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        if (!negotiated(features, VIRTIO_NET_F_HOST_TSO6))
            return "TSO6 not negotiated";
        break;
    case VIRTIO_NET_HDR_GSO_UDP:
        if (!negotiated(features, VIRTIO_NET_F_HOST_UFO))
            return "UFO not negotiated";
        break;
    default:
        return "an unknown GSO type";
    }
    /* Segmentation needs a partial checksum to finish in each segment, and a segment size. */
    if (!(header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return "GSO without NEEDS_CSUM";
    if (le16toh(header->gso_size) == 0)
        return "GSO with a segment size of 0";
    if (le16toh(header->hdr_len) > frame_bytes)
        return "hdr_len past the frame";
    return NULL;
}

const char *virtio_net_header_check_transmit(const struct virtio_net_hdr_v1 *header, uint64_t frame_bytes,
                                             uint64_t features)
{
    if (frame_bytes < VIRTIO_NET_ETHERNET_HEADER)
        return "a frame shorter than an Ethernet header";
    if (frame_bytes > VIRTIO_NET_MAX_FRAME)
        return "a frame longer than 64 KiB";
    if (header->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return "flags a driver may not set on transmit";
    if (header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!negotiated(features, VIRTIO_NET_F_CSUM))
            return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
        /* The 16-bit checksum field must lie inside the frame: start + offset + 2 <= length, in 32 bits. */
        uint32_t end = (uint32_t)le16toh(header->csum_start) + le16toh(header->csum_offset) + 2u;
        if (end > frame_bytes)
            return "a checksum field past the frame";
    }
    return check_gso(header, frame_bytes, features);
}

bool virtio_net_header_read(const struct iovec *segments, uint32_t count, struct virtio_net_hdr_v1 *header)
{
    return iovec_copy_from(segments, count, 0, header, sizeof(*header)) == sizeof(*header);
}

struct virtio_net_hdr_v1 virtio_net_header_for_receive(bool data_valid, uint16_t buffers)
{
    struct virtio_net_hdr_v1 header;
    memset(&header, 0, sizeof(header));
    header.flags = data_valid ? VIRTIO_NET_HDR_F_DATA_VALID : 0;
    header.gso_type = VIRTIO_NET_HDR_GSO_NONE;
    header.num_buffers = htole16(buffers);
    return header;
}
