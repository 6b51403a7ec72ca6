/*
 * KESTREL_TSAN_TEST (the queue pair's thread runs beside the driver's).
 * virtio-net transmit through the device and a socketpair backend, on split
 * and packed rings: a frame and its header reach the backend intact, header
 * first and from kestrel's checked copy; frames and headers split over many
 * descriptors, directly and through indirect tables; a backend without
 * headers gets the bare frame; a backend with
 * no room keeps the frame until it has (also with its socket really full,
 * waiting for POLLOUT); malformed headers are dropped (the
 * chain comes back, nothing reaches the backend) and the device carries on;
 * a chain outside RAM breaks the queue (DEVICE_NEEDS_RESET) without a crash,
 * and a reset brings the device back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_net_fixture.h"

#define CSUM (1ull << VIRTIO_NET_F_CSUM)
#define INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define TSO4 (1ull << VIRTIO_NET_F_HOST_TSO4)

enum { TX = 1, FRAME = 200, QUIET_MS = 100 };

static enum virtq_layout split = VIRTQ_LAYOUT_SPLIT, packed = VIRTQ_LAYOUT_PACKED;

static struct net_fixture *start(void **state, size_t header_size, unsigned offloads, uint64_t wanted)
{
    const struct net_fixture_options options = {.header_size = header_size, .offloads = offloads};
    struct net_fixture *fixture = net_fixture_create(&options);
    enum virtq_layout layout = *(enum virtq_layout *)*state;
    assert_true(net_fixture_start(fixture, layout, 64, wanted) & VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

static struct virtio_net_hdr_v1 plain_header(void)
{
    struct virtio_net_hdr_v1 header;
    memset(&header, 0, sizeof(header));
    return header;
}

/* Header then frame in one buffer. */
static uint32_t packet(uint8_t *bytes, const struct virtio_net_hdr_v1 *header, uint32_t frame_length, uint8_t seed)
{
    static const uint8_t destination[6] = {0x02, 0, 0, 0, 0, 0x02};
    memcpy(bytes, header, sizeof(*header));
    net_frame_fill(bytes + sizeof(*header), frame_length, destination, seed);
    return (uint32_t)sizeof(*header) + frame_length;
}

/* The chain comes back with nothing written. */
static void expect_completed(struct net_fixture *fixture, uint64_t token)
{
    uint64_t got = 0;
    uint32_t written = 99;
    assert_int_equal(net_wait_used(fixture, TX, &got, &written), 1);
    assert_int_equal(got, token);
    assert_int_equal(written, 0);
}

static void expect_on_backend(struct net_fixture *fixture, const uint8_t *bytes, uint32_t length)
{
    static uint8_t received[70000];
    ssize_t got = net_test_backend_take(fixture->backend, 0, received, sizeof(received), NET_FIXTURE_WAIT_MS);
    assert_int_equal(got, length);
    assert_memory_equal(received, bytes, length);
}

static void expect_nothing_on_backend(struct net_fixture *fixture)
{
    uint8_t received[64];
    assert_int_equal(net_test_backend_take(fixture->backend, 0, received, sizeof(received), QUIET_MS), -1);
}

static bool inside_guest_memory(struct net_fixture *fixture, const void *pointer)
{
    const uint8_t *byte = pointer;
    for (unsigned i = 0; i < GUEST_MEMORY_MAX_REGIONS; i++) {
        const struct guest_memory_region *region = &fixture->memory.regions[i];
        if (region->host && byte >= region->host && byte < region->host + region->size)
            return true;
    }
    return false;
}

static void test_frame_crosses_with_header(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, NET_OFFLOAD_CSUM, CSUM);
    struct virtio_net_hdr_v1 header = plain_header();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = htole16(34);
    header.csum_offset = htole16(16);
    static uint8_t bytes[12 + FRAME];
    uint32_t length = packet(bytes, &header, FRAME, 1);
    uint64_t token;
    assert_int_equal(net_send(fixture, TX, bytes, length, &token), 0);
    expect_on_backend(fixture, bytes, length);
    expect_completed(fixture, token);
    /* The header the backend saw was kestrel's copy, not the guest's buffer (which it could still change). */
    assert_true(net_fixture_wait_deliveries(fixture, TX + 1, 1) >= 1);
    pthread_mutex_lock(&fixture->backend->lock);
    const void *first = fixture->backend->first_segment;
    pthread_mutex_unlock(&fixture->backend->lock);
    assert_non_null(first);
    assert_false(inside_guest_memory(fixture, first));
    net_fixture_destroy(fixture);
}

static void test_frame_over_many_descriptors(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0, INDIRECT);
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t bytes[12 + 1500];
    uint32_t length = packet(bytes, &header, 1500, 2);
    /* 16 descriptors: the header alone, then the frame in uneven pieces (one of a single byte). */
    const uint32_t cuts[15] = {12, 13, 26, 100, 101, 300, 301, 302, 600, 900, 1000, 1100, 1200, 1400, 1500};
    uint64_t token;
    assert_int_equal(net_send_split(fixture, TX, bytes, length, cuts, 15, false, &token), 0);
    expect_on_backend(fixture, bytes, length);
    expect_completed(fixture, token);
    /* The same chain from an indirect table. */
    assert_int_equal(net_send_split(fixture, TX, bytes, length, cuts, 15, true, &token), 0);
    expect_on_backend(fixture, bytes, length);
    expect_completed(fixture, token);
    net_fixture_destroy(fixture);
}

static void test_header_split_across_descriptors(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, NET_OFFLOAD_CSUM, CSUM);
    struct virtio_net_hdr_v1 header = plain_header();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = htole16(14);
    header.csum_offset = htole16(10);
    static uint8_t bytes[12 + 64];
    uint32_t length = packet(bytes, &header, 64, 3);
    /* The header in pieces of 1, 4, 6 bytes, its last byte sharing a descriptor with the frame's start. */
    const uint32_t cuts[3] = {1, 5, 11};
    uint64_t token;
    assert_int_equal(net_send_split(fixture, TX, bytes, length, cuts, 3, false, &token), 0);
    expect_on_backend(fixture, bytes, length);
    expect_completed(fixture, token);
    net_fixture_destroy(fixture);
}

static void test_bare_frame_for_a_backend_without_headers(void **state)
{
    struct net_fixture *fixture = start(state, 0, 0, INDIRECT);
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t bytes[12 + FRAME];
    uint32_t length = packet(bytes, &header, FRAME, 4);
    const uint32_t cuts[2] = {6, 40};
    uint64_t token;
    assert_int_equal(net_send_split(fixture, TX, bytes, length, cuts, 2, true, &token), 0);
    expect_on_backend(fixture, bytes + 12, FRAME);
    expect_completed(fixture, token);
    net_fixture_destroy(fixture);
}

static void test_backend_without_room_keeps_the_frame(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0, 0);
    net_test_backend_set(fixture->backend, &fixture->backend->transmit_full, true);
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t first[12 + FRAME], second[12 + FRAME];
    uint32_t length = packet(first, &header, FRAME, 5);
    packet(second, &header, FRAME, 6);
    uint64_t token_first, token_second, got;
    uint32_t written;
    assert_int_equal(net_send(fixture, TX, first, length, &token_first), 0);
    assert_int_equal(net_send(fixture, TX, second, length, &token_second), 0);
    assert_int_equal(net_wait_used_for(fixture, TX, &got, &written, QUIET_MS), 0);
    expect_nothing_on_backend(fixture);
    net_test_backend_set(fixture->backend, &fixture->backend->transmit_full, false);
    /* Both go, in order, once the backend has room. */
    expect_on_backend(fixture, first, length);
    expect_on_backend(fixture, second, length);
    expect_completed(fixture, token_first);
    expect_completed(fixture, token_second);
    net_fixture_destroy(fixture);
}

/*
 * The host's socket really full (a small send buffer, nobody reading): the
 * pair's thread waits for POLLOUT instead of spinning, and once the host
 * reads, every frame arrives, in order, and every chain comes back.
 */
static void test_full_socket_waits_for_room(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0, 0);
    int small = 4096;
    assert_int_equal(setsockopt(fixture->backend->device_end[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    enum { COUNT = 40 };
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t bytes[12 + 1500];
    uint64_t tokens[COUNT];
    for (unsigned i = 0; i < COUNT; i++) {
        uint32_t length = packet(bytes, &header, 1500, (uint8_t)i);
        assert_int_equal(net_send(fixture, TX, bytes, length, &tokens[i]), 0);
    }
    usleep(QUIET_MS * 1000);
    unsigned before = net_test_backend_read(fixture->backend, &fixture->backend->transmits);
    usleep(QUIET_MS * 1000);
    unsigned after = net_test_backend_read(fixture->backend, &fixture->backend->transmits);
    assert_in_range(after - before, 0, 2); /* blocked, not retrying in a loop */
    for (unsigned i = 0; i < COUNT; i++) {
        uint32_t length = packet(bytes, &header, 1500, (uint8_t)i);
        expect_on_backend(fixture, bytes, length);
    }
    for (unsigned i = 0; i < COUNT; i++)
        expect_completed(fixture, tokens[i]);
    net_fixture_destroy(fixture);
}

/* Sends a malformed packet (dropped: completed, nothing on the backend), then a good one that passes. */
static void expect_dropped_then_working(struct net_fixture *fixture, const uint8_t *bytes, uint32_t length)
{
    uint64_t token;
    assert_int_equal(net_send(fixture, TX, bytes, length, &token), 0);
    expect_completed(fixture, token);
    expect_nothing_on_backend(fixture);
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t good[12 + 60];
    uint32_t good_length = packet(good, &header, 60, 9);
    assert_int_equal(net_send(fixture, TX, good, good_length, &token), 0);
    expect_on_backend(fixture, good, good_length);
    expect_completed(fixture, token);
    assert_false(net_fixture_status(fixture) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_malformed_headers_dropped(void **state)
{
    /* CSUM negotiated, TSO4 not (the backend takes checksums but not segmentation). */
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, NET_OFFLOAD_CSUM, CSUM | TSO4);
    assert_false(fixture->features & TSO4);
    static uint8_t bytes[12 + 1500];
    struct virtio_net_hdr_v1 header = plain_header();

    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    header.gso_size = htole16(1448);
    header.hdr_len = htole16(54);
    expect_dropped_then_working(fixture, bytes, packet(bytes, &header, 1500, 10));

    header = plain_header();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = htole16(190);
    header.csum_offset = htole16(9); /* the field would end at 201, past a 200-byte frame */
    expect_dropped_then_working(fixture, bytes, packet(bytes, &header, 200, 11));

    header = plain_header();
    header.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* the device's flag, not the driver's */
    expect_dropped_then_working(fixture, bytes, packet(bytes, &header, 200, 12));

    header = plain_header();
    expect_dropped_then_working(fixture, bytes, packet(bytes, &header, 13, 13)); /* shorter than Ethernet's header */
    expect_dropped_then_working(fixture, bytes, 8);                              /* shorter than the virtio header */
    net_fixture_destroy(fixture);
}

static void test_needs_csum_without_csum_dropped(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, NET_OFFLOAD_CSUM, 0);
    assert_false(fixture->features & CSUM);
    static uint8_t bytes[12 + 200];
    struct virtio_net_hdr_v1 header = plain_header();
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = htole16(34);
    header.csum_offset = htole16(6);
    expect_dropped_then_working(fixture, bytes, packet(bytes, &header, 200, 14));
    net_fixture_destroy(fixture);
}

/* A readable descriptor outside guest RAM (in the hole below 4 GiB) breaks the queue, not the process. */
static void test_chain_outside_ram_breaks_the_queue(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0, 0);
    const struct virtq_driver_buffer outside = {0x80000000ull, 100};
    const struct virtq_driver_request request = {.readable = &outside, .readable_count = 1};
    assert_int_equal(virtq_driver_add(&fixture->drivers[TX], &request, 77), 0);
    net_notify(fixture, TX);
    assert_true(net_fixture_wait_needs_reset(fixture));
    expect_nothing_on_backend(fixture);
    /* The driver resets and starts again; the device works. */
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
    assert_int_equal(net_fixture_status(fixture), 0);
    enum virtq_layout layout = *(enum virtq_layout *)*state;
    assert_true(net_fixture_start(fixture, layout, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t bytes[12 + 80];
    uint32_t length = packet(bytes, &header, 80, 15);
    uint64_t token;
    assert_int_equal(net_send(fixture, TX, bytes, length, &token), 0);
    expect_on_backend(fixture, bytes, length);
    expect_completed(fixture, token);
    net_fixture_destroy(fixture);
}

/* Many frames, more than the ring holds, each kicked: all arrive in order, with the event index on. */
static void test_many_frames_in_order(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0, EVENT_IDX);
    enum { COUNT = 300 };
    struct virtio_net_hdr_v1 header = plain_header();
    static uint8_t bytes[12 + 100], received[12 + 100];
    unsigned sent = 0, arrived = 0, completed = 0;
    while (arrived < COUNT) {
        uint64_t token;
        if (sent < COUNT) {
            uint32_t length = packet(bytes, &header, 100, (uint8_t)sent);
            if (net_send(fixture, TX, bytes, length, &token) == 0)
                sent++;
        }
        uint32_t written;
        while (virtq_driver_get_used(&fixture->drivers[TX], &token, &written) == 1)
            completed++;
        ssize_t got = net_test_backend_take(fixture->backend, 0, received, sizeof(received),
                                            sent == COUNT ? NET_FIXTURE_WAIT_MS : 0);
        if (got < 0) {
            assert_true(sent < COUNT);
            continue;
        }
        packet(bytes, &header, 100, (uint8_t)arrived);
        assert_int_equal(got, 112);
        assert_memory_equal(received, bytes, 112);
        arrived++;
    }
    uint64_t token;
    uint32_t written;
    while (completed < COUNT && net_wait_used(fixture, TX, &token, &written) == 1)
        completed++;
    assert_int_equal(completed, COUNT);
    net_fixture_destroy(fixture);
}

#define BOTH(test) cmocka_unit_test_prestate(test, &split), cmocka_unit_test_prestate(test, &packed)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_frame_crosses_with_header),
        BOTH(test_frame_over_many_descriptors),
        BOTH(test_header_split_across_descriptors),
        BOTH(test_bare_frame_for_a_backend_without_headers),
        BOTH(test_backend_without_room_keeps_the_frame),
        BOTH(test_full_socket_waits_for_room),
        BOTH(test_malformed_headers_dropped),
        BOTH(test_needs_csum_without_csum_dropped),
        BOTH(test_chain_outside_ram_breaks_the_queue),
        BOTH(test_many_frames_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
