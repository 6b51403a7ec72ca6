/*
 * virtio_net_control_handle on commands in any split, with bad lengths,
 * without their feature, without an ack byte; and virtio_net_filter_accepts
 * for every kind of destination under every receive mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "devices/virtio_net_control.h"

#define F(bit) (1ull << (bit))

static const struct virtio_net_control_limits all = {
    .features = F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_MQ),
    .max_pairs = 4,
};
static const uint8_t own[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};

struct outcome {
    enum virtio_net_control_outcome result;
    uint8_t ack;
    struct virtio_net_control_effect effect;
};

/* The command bytes in segments of `piece` bytes (0: one segment), then `ack_bytes` writable bytes. */
static struct outcome run(const uint8_t *command, uint32_t length, uint32_t piece, uint32_t ack_bytes,
                          const struct virtio_net_control_limits *limits, struct virtio_net_filter *filter)
{
    static uint8_t bytes[4096], ack[4];
    struct iovec segments[4096 + 1];
    assert_true(length <= sizeof(bytes));
    memcpy(bytes, command, length);
    uint32_t count = 0;
    for (uint32_t offset = 0; offset < length; count++) {
        uint32_t size = piece && length - offset > piece ? piece : length - offset;
        segments[count] = (struct iovec){bytes + offset, size};
        offset += size;
    }
    segments[count] = (struct iovec){ack, ack_bytes};
    struct outcome outcome = {.ack = 0xee};
    outcome.result = virtio_net_control_handle(segments, count, 1, limits, filter, &outcome.effect, &outcome.ack);
    return outcome;
}

static uint8_t ack_of(const uint8_t *command, uint32_t length, struct virtio_net_filter *filter)
{
    struct outcome outcome = run(command, length, 0, 1, &all, filter);
    assert_int_equal(outcome.result, VIRTIO_NET_CONTROL_ANSWERED);
    return outcome.ack;
}

static void test_receive_mode(void **state)
{
    (void)state;
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    assert_true(filter.promiscuous);
    const uint8_t off[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0};
    assert_int_equal(ack_of(off, 3, &filter), VIRTIO_NET_OK);
    assert_false(filter.promiscuous);
    const uint8_t multi[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 1};
    assert_int_equal(ack_of(multi, 3, &filter), VIRTIO_NET_OK);
    assert_true(filter.all_multicast);
    /* Split one byte per segment, the same. */
    const uint8_t on[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
    struct outcome outcome = run(on, 3, 1, 1, &all, &filter);
    assert_int_equal(outcome.ack, VIRTIO_NET_OK);
    assert_true(filter.promiscuous);
    /* Refused: a value other than 0/1, a length other than 1, the extra modes, no CTRL_RX. */
    struct virtio_net_filter before = filter;
    const uint8_t two[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 2};
    assert_int_equal(ack_of(two, 3, &filter), VIRTIO_NET_ERR);
    const uint8_t longer[4] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0, 0};
    assert_int_equal(ack_of(longer, 4, &filter), VIRTIO_NET_ERR);
    assert_int_equal(ack_of(longer, 2, &filter), VIRTIO_NET_ERR);
    const uint8_t nobcast[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, 1};
    assert_int_equal(ack_of(nobcast, 3, &filter), VIRTIO_NET_ERR);
    const struct virtio_net_control_limits bare = {.features = F(VIRTIO_NET_F_CTRL_VQ), .max_pairs = 1};
    assert_int_equal(run(off, 3, 0, 1, &bare, &filter).ack, VIRTIO_NET_ERR);
    assert_memory_equal(&filter, &before, sizeof(filter));
}

/* A MAC_TABLE_SET command: `unicast` and `multicast` entries of distinct addresses. */
static uint32_t table_command(uint8_t *command, uint32_t unicast, uint32_t multicast)
{
    uint32_t length = 0;
    command[length++] = VIRTIO_NET_CTRL_MAC;
    command[length++] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
    const uint32_t counts[2] = {unicast, multicast};
    for (unsigned table = 0; table < 2; table++) {
        uint32_t count = htole32(counts[table]);
        memcpy(command + length, &count, 4);
        length += 4;
        for (uint32_t i = 0; i < counts[table]; i++) {
            const uint8_t address[6] = {table ? 0x01 : 0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
            memcpy(command + length, address, 6);
            length += 6;
        }
    }
    return length;
}

static void test_mac_tables(void **state)
{
    (void)state;
    static uint8_t command[4096];
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    uint32_t length = table_command(command, 2, 3);
    assert_int_equal(run(command, length, 5, 1, &all, &filter).ack, VIRTIO_NET_OK);
    assert_int_equal(filter.unicast_count, 2);
    assert_int_equal(filter.multicast_count, 3);
    assert_false(filter.unicast_overflow || filter.multicast_overflow);
    const uint8_t second[6] = {0x02, 0, 0, 0, 0, 1};
    assert_memory_equal(filter.unicast[1], second, 6);
    /* Empty tables. */
    length = table_command(command, 0, 0);
    assert_int_equal(ack_of(command, length, &filter), VIRTIO_NET_OK);
    assert_int_equal(filter.unicast_count + filter.multicast_count, 0);
    /* More entries than kept: accept all of that kind. */
    length = table_command(command, VIRTIO_NET_FILTER_ENTRIES + 1, 1);
    assert_int_equal(ack_of(command, length, &filter), VIRTIO_NET_OK);
    assert_true(filter.unicast_overflow);
    assert_int_equal(filter.unicast_count, 0);
    assert_int_equal(filter.multicast_count, 1);
    /* Malformed: each refused, the filter unchanged. */
    struct virtio_net_filter before = filter;
    length = table_command(command, 2, 3);
    assert_int_equal(ack_of(command, length - 1, &filter), VIRTIO_NET_ERR); /* cut short */
    assert_int_equal(ack_of(command, length + 1, &filter), VIRTIO_NET_ERR); /* a byte left over */
    assert_int_equal(ack_of(command, 2 + 4 + 12 + 3, &filter), VIRTIO_NET_ERR); /* no second count */
    assert_int_equal(ack_of(command, 2 + 3, &filter), VIRTIO_NET_ERR);
    uint32_t huge = htole32(UINT32_MAX);
    memcpy(command + 2, &huge, 4);
    assert_int_equal(ack_of(command, length, &filter), VIRTIO_NET_ERR);
    length = table_command(command, 2, 3);
    command[1] = VIRTIO_NET_CTRL_MAC_ADDR_SET;
    assert_int_equal(ack_of(command, 8, &filter), VIRTIO_NET_ERR);
    /* Longer than any command kestrel reads. */
    length = table_command(command, 200, 0);
    assert_true(length > VIRTIO_NET_CONTROL_MAX_BYTES);
    assert_int_equal(ack_of(command, length, &filter), VIRTIO_NET_ERR);
    assert_memory_equal(&filter, &before, sizeof(filter));
}

static void test_queue_pairs(void **state)
{
    (void)state;
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    uint8_t command[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 4, 0};
    struct outcome outcome = run(command, 4, 1, 1, &all, &filter);
    assert_int_equal(outcome.ack, VIRTIO_NET_OK);
    assert_true(outcome.effect.pairs_changed);
    assert_int_equal(outcome.effect.pairs, 4);
    const uint8_t refused[][4] = {
        {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 5, 0},
        {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0, 0},
        {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0, 1},
        {VIRTIO_NET_CTRL_MQ, 1 /* RSS_CONFIG */, 1, 0},
    };
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        outcome = run(refused[i], 4, 0, 1, &all, &filter);
        assert_int_equal(outcome.ack, VIRTIO_NET_ERR);
        assert_false(outcome.effect.pairs_changed);
    }
    assert_int_equal(run(command, 3, 0, 1, &all, &filter).ack, VIRTIO_NET_ERR);
    const struct virtio_net_control_limits single = {.features = F(VIRTIO_NET_F_CTRL_RX), .max_pairs = 4};
    command[2] = 1;
    outcome = run(command, 4, 0, 1, &single, &filter);
    assert_int_equal(outcome.ack, VIRTIO_NET_ERR);
    assert_false(outcome.effect.pairs_changed);
}

static void test_no_ack_and_odd_lengths(void **state)
{
    (void)state;
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    const uint8_t off[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0};
    struct outcome outcome = run(off, 3, 0, 0, &all, &filter);
    assert_int_equal(outcome.result, VIRTIO_NET_CONTROL_NO_ACK);
    assert_true(filter.promiscuous); /* not applied */
    struct iovec none[1] = {{(void *)off, 3}};
    struct virtio_net_control_effect effect;
    uint8_t ack = 0xee;
    assert_int_equal(virtio_net_control_handle(none, 1, 0, &all, &filter, &effect, &ack), VIRTIO_NET_CONTROL_NO_ACK);
    assert_int_equal(ack, 0xee);
    assert_int_equal(ack_of(off, 0, &filter), VIRTIO_NET_ERR);
    assert_int_equal(ack_of(off, 1, &filter), VIRTIO_NET_ERR);
    const uint8_t unknown[2] = {0x7f, 0};
    assert_int_equal(ack_of(unknown, 2, &filter), VIRTIO_NET_ERR);
    /* Two ack bytes: the first is written by the caller; still answered. */
    outcome = run(off, 3, 0, 2, &all, &filter);
    assert_int_equal(outcome.result, VIRTIO_NET_CONTROL_ANSWERED);
    assert_int_equal(outcome.ack, VIRTIO_NET_OK);
}

static void test_filter(void **state)
{
    (void)state;
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    const uint8_t other[6] = {0x52, 0x54, 0, 0xaa, 0xbb, 0xcc};
    const uint8_t multicast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_true(virtio_net_filter_accepts(&filter, own, other));
    filter.promiscuous = false;
    assert_false(virtio_net_filter_accepts(&filter, own, other));
    assert_true(virtio_net_filter_accepts(&filter, own, own));
    assert_true(virtio_net_filter_accepts(&filter, own, broadcast));
    assert_false(virtio_net_filter_accepts(&filter, own, multicast));
    filter.all_multicast = true;
    assert_true(virtio_net_filter_accepts(&filter, own, multicast));
    assert_false(virtio_net_filter_accepts(&filter, own, other));
    filter.all_multicast = false;
    filter.multicast_overflow = true;
    assert_true(virtio_net_filter_accepts(&filter, own, multicast));
    filter.multicast_overflow = false;
    memcpy(filter.multicast[0], multicast, 6);
    filter.multicast_count = 1;
    assert_true(virtio_net_filter_accepts(&filter, own, multicast));
    memcpy(filter.unicast[3], other, 6);
    filter.unicast_count = 3;
    assert_false(virtio_net_filter_accepts(&filter, own, other)); /* past the count */
    filter.unicast_count = 4;
    assert_true(virtio_net_filter_accepts(&filter, own, other));
    filter.unicast_count = 0;
    filter.unicast_overflow = true;
    assert_true(virtio_net_filter_accepts(&filter, own, other));
    assert_false(virtio_net_filter_accepts(&filter, own, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 2}));
    /* A count past the table is bounded, not trusted. */
    filter.unicast_overflow = false;
    filter.unicast_count = UINT32_MAX;
    assert_false(virtio_net_filter_accepts(&filter, own, (const uint8_t[6]){0x02, 9, 9, 9, 9, 9}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receive_mode), cmocka_unit_test(test_mac_tables),
        cmocka_unit_test(test_queue_pairs),  cmocka_unit_test(test_no_ack_and_odd_lengths),
        cmocka_unit_test(test_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
