#ifndef KESTREL_DEVICES_VIRTIO_NET_CONTROL_H
#define KESTREL_DEVICES_VIRTIO_NET_CONTROL_H

/*
 * The virtio-net control queue's commands (virtio 1.2, 5.1.6.5): the receive
 * mode (VIRTIO_NET_CTRL_RX), the MAC filter tables (VIRTIO_NET_CTRL_MAC) and
 * the number of queue pairs in use (VIRTIO_NET_CTRL_MQ). A command is one
 * chain: a two-byte class/command header and its data, readable, then one
 * writable ack byte. Everything in it is the guest's and hostile: the parser
 * copies the command out once, checks every length, and answers
 * VIRTIO_NET_ERR to whatever it cannot take; a chain with no room for the ack
 * is malformed and answered with nothing.
 *
 * The resulting filter decides which frames a user-space backend passes to
 * the guest (vhost-net does its own receiving and filters nothing, as QEMU's).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
    /* Filter entries kept per table; a longer table turns into "accept all of that kind", as QEMU does. */
    VIRTIO_NET_FILTER_ENTRIES = 64,
    /* The longest command kestrel reads: two full MAC tables and their counts. */
    VIRTIO_NET_CONTROL_MAX_BYTES = 2 + 2 * (4 + VIRTIO_NET_FILTER_ENTRIES * 6),
};

struct virtio_net_filter {
    bool promiscuous;
    bool all_multicast;
    bool unicast_overflow;   /* the guest gave more unicast addresses than kept */
    bool multicast_overflow;
    unsigned unicast_count, multicast_count;
    uint8_t unicast[VIRTIO_NET_FILTER_ENTRIES][6];
    uint8_t multicast[VIRTIO_NET_FILTER_ENTRIES][6];
};

struct virtio_net_control_limits {
    uint64_t features;     /* negotiated: a command whose feature is missing is refused */
    uint16_t max_pairs;    /* max_virtqueue_pairs in the configuration */
};

/* What a command changed, for the device to apply. */
struct virtio_net_control_effect {
    bool pairs_changed;
    uint16_t pairs;
};

enum virtio_net_control_outcome {
    VIRTIO_NET_CONTROL_ANSWERED, /* *ack holds VIRTIO_NET_OK or VIRTIO_NET_ERR; write it and push 1 byte */
    VIRTIO_NET_CONTROL_NO_ACK,   /* no writable byte at the end: push with 0 bytes written */
};

/* The filter before any command: promiscuous, as QEMU starts, until the driver sets its receive mode. */
void virtio_net_filter_reset(struct virtio_net_filter *filter);

/*
 * Handles one command chain: `segments` are its readable_count readable
 * segments followed by writable_count writable ones. On ANSWERED the caller
 * writes *ack to the first writable byte and pushes the chain with 1 byte.
 */
enum virtio_net_control_outcome virtio_net_control_handle(const struct iovec *segments, uint32_t readable_count,
                                                          uint32_t writable_count,
                                                          const struct virtio_net_control_limits *limits,
                                                          struct virtio_net_filter *filter,
                                                          struct virtio_net_control_effect *effect, uint8_t *ack);

/* Does the filter pass a frame with this destination address to a guest whose address is `own`? */
bool virtio_net_filter_accepts(const struct virtio_net_filter *filter, const uint8_t own[6],
                               const uint8_t destination[6]);

#endif
