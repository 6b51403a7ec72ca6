#include "devices/virtio_net_control.h"

#include <endian.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "mem/iovec.h"

void virtio_net_filter_reset(struct virtio_net_filter *filter)
{
    memset(filter, 0, sizeof(*filter));
    filter->promiscuous = true;
}

static bool negotiated(const struct virtio_net_control_limits *limits, unsigned bit)
{
    return (limits->features >> bit) & 1;
}

/* VIRTIO_NET_CTRL_RX: one byte, 0 or 1. */
static uint8_t handle_rx(uint8_t command, const uint8_t *data, uint32_t length,
                         const struct virtio_net_control_limits *limits, struct virtio_net_filter *filter)
{
    if (!negotiated(limits, VIRTIO_NET_F_CTRL_RX) || length != 1 || data[0] > 1)
        return VIRTIO_NET_ERR;
    bool on = data[0] == 1;
    switch (command) {
    case VIRTIO_NET_CTRL_RX_PROMISC:
        filter->promiscuous = on;
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_RX_ALLMULTI:
        filter->all_multicast = on;
        return VIRTIO_NET_OK;
    default:
        /* ALLUNI, NOMULTI, NOUNI and NOBCAST belong to CTRL_RX_EXTRA, which is not offered. */
        return VIRTIO_NET_ERR;
    }
}

/* One table of VIRTIO_NET_CTRL_MAC_TABLE_SET: a 32-bit count and that many addresses; returns bytes used or 0. */
static uint32_t read_table(const uint8_t *data, uint32_t length, uint8_t table[][6], unsigned *count,
                           bool *overflow)
{
    uint32_t entries;
    if (length < sizeof(entries))
        return 0;
    memcpy(&entries, data, sizeof(entries));
    entries = le32toh(entries);
    /* The command is at most VIRTIO_NET_CONTROL_MAX_BYTES long, so this product cannot wrap in 64 bits. */
    uint64_t bytes = (uint64_t)entries * 6u;
    if (bytes > length - sizeof(entries))
        return 0;
    *overflow = entries > VIRTIO_NET_FILTER_ENTRIES;
    *count = *overflow ? 0 : entries;
    memcpy(table, data + sizeof(entries), (size_t)*count * 6u);
    return (uint32_t)(sizeof(entries) + bytes);
}

static uint8_t handle_mac(uint8_t command, const uint8_t *data, uint32_t length,
                          const struct virtio_net_control_limits *limits, struct virtio_net_filter *filter)
{
    if (!negotiated(limits, VIRTIO_NET_F_CTRL_RX) || command != VIRTIO_NET_CTRL_MAC_TABLE_SET)
        return VIRTIO_NET_ERR; /* ADDR_SET needs CTRL_MAC_ADDR, which is not offered */
    struct virtio_net_filter next = *filter;
    uint32_t used = read_table(data, length, next.unicast, &next.unicast_count, &next.unicast_overflow);
    if (used == 0)
        return VIRTIO_NET_ERR;
    uint32_t more = read_table(data + used, length - used, next.multicast, &next.multicast_count,
                               &next.multicast_overflow);
    if (more == 0 || used + more != length)
        return VIRTIO_NET_ERR;
    *filter = next;
    return VIRTIO_NET_OK;
}

static uint8_t handle_mq(uint8_t command, const uint8_t *data, uint32_t length,
                         const struct virtio_net_control_limits *limits, struct virtio_net_control_effect *effect)
{
    uint16_t pairs;
    if (!negotiated(limits, VIRTIO_NET_F_MQ) || command != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || length != sizeof(pairs))
        return VIRTIO_NET_ERR;
    memcpy(&pairs, data, sizeof(pairs));
    pairs = le16toh(pairs);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > limits->max_pairs)
        return VIRTIO_NET_ERR;
    effect->pairs_changed = true;
    effect->pairs = pairs;
    return VIRTIO_NET_OK;
}

enum virtio_net_control_outcome virtio_net_control_handle(const struct iovec *segments, uint32_t readable_count,
                                                          uint32_t writable_count,
                                                          const struct virtio_net_control_limits *limits,
                                                          struct virtio_net_filter *filter,
                                                          struct virtio_net_control_effect *effect, uint8_t *ack)
{
    memset(effect, 0, sizeof(*effect));
    if (iovec_total_length(segments + readable_count, writable_count) == 0)
        return VIRTIO_NET_CONTROL_NO_ACK;
    *ack = VIRTIO_NET_ERR;
    /* One copy of the command, then every check on the copy: the guest may rewrite its buffers meanwhile. */
    uint8_t command[VIRTIO_NET_CONTROL_MAX_BYTES];
    uint64_t length = iovec_total_length(segments, readable_count);
    if (length < 2 || length > sizeof(command))
        return VIRTIO_NET_CONTROL_ANSWERED;
    iovec_copy_from(segments, readable_count, 0, command, (size_t)length);
    const uint8_t *data = command + 2;
    uint32_t data_length = (uint32_t)length - 2;
    switch (command[0]) {
    case VIRTIO_NET_CTRL_RX:
        *ack = handle_rx(command[1], data, data_length, limits, filter);
        break;
    case VIRTIO_NET_CTRL_MAC:
        *ack = handle_mac(command[1], data, data_length, limits, filter);
        break;
    case VIRTIO_NET_CTRL_MQ:
        *ack = handle_mq(command[1], data, data_length, limits, effect);
        break;
    default:
        break;
    }
    return VIRTIO_NET_CONTROL_ANSWERED;
}

static bool in_table(const uint8_t table[][6], unsigned count, const uint8_t address[6])
{
    for (unsigned i = 0; i < count && i < VIRTIO_NET_FILTER_ENTRIES; i++)
        if (memcmp(table[i], address, 6) == 0)
            return true;
    return false;
}

bool virtio_net_filter_accepts(const struct virtio_net_filter *filter, const uint8_t own[6],
                               const uint8_t destination[6])
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (filter->promiscuous || memcmp(destination, broadcast, 6) == 0)
        return true;
    if (destination[0] & 1)
        return filter->all_multicast || filter->multicast_overflow ||
               in_table(filter->multicast, filter->multicast_count, destination);
    return memcmp(destination, own, 6) == 0 || filter->unicast_overflow ||
           in_table(filter->unicast, filter->unicast_count, destination);
}
