/*
 * virtio_net_header_check_transmit, branch by branch (each fault, and the
 * boundary just inside it), virtio_net_header_read over a header split
 * anywhere or cut short, and the header written for a bare received frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <string.h>

#include "devices/virtio_net_header.h"

#define F(bit) (1ull << (bit))
#define ALL_OFFLOADS                                                                                                 \
    (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |    \
     F(VIRTIO_NET_F_HOST_UFO))

static struct virtio_net_hdr_v1 plain(void)
{
    struct virtio_net_hdr_v1 header;
    memset(&header, 0, sizeof(header));
    return header;
}

/* A valid TSO4 header for a 1514-byte frame. */
static struct virtio_net_hdr_v1 tso4(void)
{
    struct virtio_net_hdr_v1 header = plain();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    header.gso_size = htole16(1448);
    header.hdr_len = htole16(66);
    header.csum_start = htole16(34);
    header.csum_offset = htole16(16);
    return header;
}

static void test_frame_length_bounds(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = plain();
    assert_non_null(virtio_net_header_check_transmit(&header, 0, 0));
    assert_non_null(virtio_net_header_check_transmit(&header, 13, 0));
    assert_null(virtio_net_header_check_transmit(&header, 14, 0));
    assert_null(virtio_net_header_check_transmit(&header, VIRTIO_NET_MAX_FRAME, 0));
    assert_non_null(virtio_net_header_check_transmit(&header, VIRTIO_NET_MAX_FRAME + 1, 0));
    assert_non_null(virtio_net_header_check_transmit(&header, UINT64_MAX, ALL_OFFLOADS));
}

static void test_flags_the_driver_may_not_set(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = plain();
    header.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    assert_non_null(virtio_net_header_check_transmit(&header, 100, ALL_OFFLOADS));
    header.flags = 4; /* RSC_INFO */
    assert_non_null(virtio_net_header_check_transmit(&header, 100, ALL_OFFLOADS));
    header.flags = 0x80;
    assert_non_null(virtio_net_header_check_transmit(&header, 100, ALL_OFFLOADS));
}

static void test_partial_checksum(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = plain();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = htole16(34);
    header.csum_offset = htole16(16);
    assert_non_null(virtio_net_header_check_transmit(&header, 100, 0)); /* CSUM not negotiated */
    assert_null(virtio_net_header_check_transmit(&header, 100, F(VIRTIO_NET_F_CSUM)));
    /* The 2-byte field ends at 52: a 52-byte frame holds it, a 51-byte one does not. */
    assert_null(virtio_net_header_check_transmit(&header, 52, F(VIRTIO_NET_F_CSUM)));
    assert_non_null(virtio_net_header_check_transmit(&header, 51, F(VIRTIO_NET_F_CSUM)));
    /* Large fields must not wrap the sum. */
    header.csum_start = htole16(0xffff);
    header.csum_offset = htole16(0xffff);
    assert_non_null(virtio_net_header_check_transmit(&header, VIRTIO_NET_MAX_FRAME, F(VIRTIO_NET_F_CSUM)));
    header.csum_start = htole16(0xfffe);
    header.csum_offset = 0;
    assert_non_null(virtio_net_header_check_transmit(&header, 0xffff, F(VIRTIO_NET_F_CSUM)));
    assert_null(virtio_net_header_check_transmit(&header, 0x10000, F(VIRTIO_NET_F_CSUM)));
}

static void test_gso_needs_its_feature(void **state)
{
    (void)state;
    const struct {
        uint8_t type;
        unsigned feature;
    } kinds[] = {
        {VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_F_HOST_TSO4},
        {VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_F_HOST_TSO6},
        {VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_F_HOST_UFO},
    };
    for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct virtio_net_hdr_v1 header = tso4();
        header.gso_type = kinds[i].type;
        uint64_t features = F(VIRTIO_NET_F_CSUM) | F(kinds[i].feature);
        assert_null(virtio_net_header_check_transmit(&header, 1514, features));
        assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS & ~F(kinds[i].feature)));
    }
}

static void test_gso_ecn(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = tso4();
    header.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
    assert_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS & ~F(VIRTIO_NET_F_HOST_ECN)));
    /* ECN without a GSO type. */
    header = plain();
    header.gso_type = VIRTIO_NET_HDR_GSO_ECN;
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
}

static void test_gso_shape(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = tso4();
    assert_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    header.gso_type = 5; /* UDP_L4: not offered */
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    header.gso_type = 2;
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    header = tso4();
    header.flags = 0;
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS)); /* no NEEDS_CSUM */
    header = tso4();
    header.gso_size = 0;
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    header = tso4();
    header.hdr_len = htole16(1514);
    assert_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
    header.hdr_len = htole16(1515);
    assert_non_null(virtio_net_header_check_transmit(&header, 1514, ALL_OFFLOADS));
}

static void test_read_split_header(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 original = tso4(), copy;
    original.num_buffers = htole16(0x1234);
    uint8_t bytes[sizeof(original) + 4];
    memcpy(bytes, &original, sizeof(original));
    /* Every split of the header into two segments, and one byte per segment. */
    for (unsigned cut = 0; cut <= sizeof(original); cut++) {
        const struct iovec segments[2] = {{bytes, cut}, {bytes + cut, sizeof(bytes) - cut}};
        memset(&copy, 0, sizeof(copy));
        assert_true(virtio_net_header_read(segments, 2, &copy));
        assert_memory_equal(&copy, &original, sizeof(original));
    }
    struct iovec single[sizeof(original)];
    for (unsigned i = 0; i < sizeof(original); i++)
        single[i] = (struct iovec){bytes + i, 1};
    assert_true(virtio_net_header_read(single, sizeof(original), &copy));
    assert_memory_equal(&copy, &original, sizeof(original));
    assert_false(virtio_net_header_read(single, sizeof(original) - 1, &copy));
    assert_false(virtio_net_header_read(single, 0, &copy));
}

static void test_header_for_receive(void **state)
{
    (void)state;
    struct virtio_net_hdr_v1 header = virtio_net_header_for_receive(true, 3);
    assert_int_equal(header.flags, VIRTIO_NET_HDR_F_DATA_VALID);
    assert_int_equal(header.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(le16toh(header.num_buffers), 3);
    assert_int_equal(header.hdr_len | header.gso_size | header.csum_start | header.csum_offset, 0);
    header = virtio_net_header_for_receive(false, 1);
    assert_int_equal(header.flags, 0);
    assert_int_equal(le16toh(header.num_buffers), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_length_bounds),   cmocka_unit_test(test_flags_the_driver_may_not_set),
        cmocka_unit_test(test_partial_checksum),      cmocka_unit_test(test_gso_needs_its_feature),
        cmocka_unit_test(test_gso_ecn),               cmocka_unit_test(test_gso_shape),
        cmocka_unit_test(test_read_split_header),     cmocka_unit_test(test_header_for_receive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
