/*
 * virtio_net_control_handle on arbitrary command bytes split into arbitrary
 * segments, with features and the pair limit from the input, up to four
 * commands in a row on one filter; then virtio_net_filter_accepts for an
 * arbitrary address. Nothing may crash or touch bytes outside the segments;
 * a chain with no writable byte is never answered; a refused command leaves
 * the filter as it was; a pairs change is answered OK, needs MQ and stays in
 * 1..max; the filter's counts stay within its tables; broadcast, the
 * device's own address and everything in promiscuous mode pass.
 *
 * Input, per command: flags (1: bit 0 CTRL_RX, bit 1 MQ, bits 2-3 writable
 * bytes), max pairs (1, 1 + v % 16), segment count (1, 1 + v % 8), a length
 * per segment (2, v % 1024), destination address (6), then the segments'
 * bytes.
 */
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio_net_control.h"

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition)) {                                                                                           \
            fprintf(stderr, "fuzz_virtio_net_control: check failed: %s (line %d)\n", #condition, __LINE__);       \
            __builtin_trap();                                                                                         \
        }                                                                                                             \
    } while (0)

enum { MAX_SEGMENTS = 8, MAX_SEGMENT = 1024, COMMANDS = 4 };

static const uint8_t own[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint64_t take(const uint8_t **data, size_t *size, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes && *size; i++, (*size)--, (*data)++)
        value |= (uint64_t)**data << (8 * i);
    return value;
}

static void check_filter(const struct virtio_net_filter *filter, const uint8_t destination[6])
{
    CHECK(filter->unicast_count <= VIRTIO_NET_FILTER_ENTRIES);
    CHECK(filter->multicast_count <= VIRTIO_NET_FILTER_ENTRIES);
    CHECK(!filter->unicast_overflow || filter->unicast_count == 0);
    CHECK(!filter->multicast_overflow || filter->multicast_count == 0);
    CHECK(virtio_net_filter_accepts(filter, own, broadcast));
    CHECK(virtio_net_filter_accepts(filter, own, own));
    bool accepted = virtio_net_filter_accepts(filter, own, destination);
    if (filter->promiscuous || (filter->all_multicast && (destination[0] & 1)))
        CHECK(accepted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    static uint8_t storage[MAX_SEGMENTS + 1][MAX_SEGMENT];
    for (unsigned command = 0; command < COMMANDS && size > 0; command++) {
        uint8_t flags = (uint8_t)take(&data, &size, 1);
        struct virtio_net_control_limits limits = {
            .features = ((flags & 1) ? 1ull << VIRTIO_NET_F_CTRL_RX : 0) | ((flags & 2) ? 1ull << VIRTIO_NET_F_MQ : 0),
            .max_pairs = (uint16_t)(1 + take(&data, &size, 1) % 16),
        };
        unsigned writable = (flags >> 2) & 3;
        unsigned count = 1 + (unsigned)(take(&data, &size, 1) % MAX_SEGMENTS);
        size_t lengths[MAX_SEGMENTS];
        for (unsigned i = 0; i < count; i++)
            lengths[i] = (size_t)(take(&data, &size, 2) % MAX_SEGMENT);
        uint8_t destination[6] = {0};
        for (unsigned i = 0; i < 6; i++)
            destination[i] = (uint8_t)take(&data, &size, 1);
        struct iovec segments[MAX_SEGMENTS + 1];
        for (unsigned i = 0; i < count; i++) {
            size_t length = lengths[i] < size ? lengths[i] : size;
            memcpy(storage[i], data, length);
            data += length, size -= length;
            segments[i] = (struct iovec){storage[i], length};
        }
        segments[count] = (struct iovec){storage[MAX_SEGMENTS], writable};
        struct virtio_net_filter before = filter;
        struct virtio_net_control_effect effect;
        uint8_t ack = 0xee;
        enum virtio_net_control_outcome outcome =
            virtio_net_control_handle(segments, count, 1, &limits, &filter, &effect, &ack);
        if (writable == 0) {
            CHECK(outcome == VIRTIO_NET_CONTROL_NO_ACK);
            CHECK(memcmp(&before, &filter, sizeof(filter)) == 0);
        } else {
            CHECK(outcome == VIRTIO_NET_CONTROL_ANSWERED);
            CHECK(ack == VIRTIO_NET_OK || ack == VIRTIO_NET_ERR);
        }
        if (outcome == VIRTIO_NET_CONTROL_NO_ACK || ack == VIRTIO_NET_ERR) {
            CHECK(memcmp(&before, &filter, sizeof(filter)) == 0);
            CHECK(!effect.pairs_changed);
        }
        if (effect.pairs_changed) {
            CHECK(limits.features & (1ull << VIRTIO_NET_F_MQ));
            CHECK(effect.pairs >= 1 && effect.pairs <= limits.max_pairs);
        }
        check_filter(&filter, destination);
    }
    return 0;
}
