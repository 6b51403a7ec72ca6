#ifndef KESTREL_DEVICES_VIRTIO_NET_HEADER_H
#define KESTREL_DEVICES_VIRTIO_NET_HEADER_H

/*
 * The 12-byte virtio-net header (struct virtio_net_hdr_v1, virtio 1.2,
 * 5.1.6) in front of every packet. On transmit the guest wrote it, so it is
 * hostile: it is copied out of the chain once and checked against the
 * negotiated features and the frame's length before the frame goes to the
 * host (a tap hands it to the kernel's own checks too, but kestrel does not
 * lean on those). On receive kestrel writes it.
 */

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
    VIRTIO_NET_HEADER_SIZE = sizeof(struct virtio_net_hdr_v1),
    VIRTIO_NET_ETHERNET_HEADER = 14,
    /* The largest frame a GSO packet may be: 64 KiB of IP packet and its Ethernet and VLAN headers. */
    VIRTIO_NET_MAX_FRAME = 65535 + VIRTIO_NET_ETHERNET_HEADER + 4,
};

/*
 * Checks a transmit header (already copied out of guest memory, in the
 * guest's little-endian) for a frame of `frame_bytes` bytes after it.
 * `features` are the negotiated ones. NULL when it is acceptable, else a
 * static string that names the fault; the packet is then dropped.
 */
const char *virtio_net_header_check_transmit(const struct virtio_net_hdr_v1 *header, uint64_t frame_bytes,
                                             uint64_t features);

/*
 * Reads the header at the start of a chain's readable segments (it may be
 * split across them). False when the chain is shorter than the header.
 */
bool virtio_net_header_read(const struct iovec *segments, uint32_t count, struct virtio_net_hdr_v1 *header);

/*
 * The header kestrel writes in front of a frame received from a backend that
 * gives bare frames: nothing to offload, and DATA_VALID when the guest
 * negotiated GUEST_CSUM and the backend's frames carry checksums that were
 * computed on this host (libslirp's), so the guest need not verify them.
 */
struct virtio_net_hdr_v1 virtio_net_header_for_receive(bool data_valid, uint16_t buffers);

#endif
