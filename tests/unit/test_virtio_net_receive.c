/*
 * KESTREL_TSAN_TEST (the queue pair's thread runs beside the driver's).
 * virtio-net receive through the device and a socketpair backend, on split
 * and packed rings: one chain per frame without VIRTIO_NET_F_MRG_RXBUF
 * (num_buffers 1); with it a 9000-byte frame over 1500-byte buffers
 * (num_buffers, the bytes, and the chains it did not use serving the next
 * frames); a backend without headers (the device writes the header,
 * DATA_VALID when asked for); a guest with no buffers (the frame waits for
 * them); buffers too small to use (the device neither crashes nor spins);
 * a runt frame; a receive chain outside RAM (the queue breaks, a reset
 * recovers); frames received while a frame is sent (libslirp's answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_net_fixture.h"

#define MRG (1ull << VIRTIO_NET_F_MRG_RXBUF)
#define GUEST_CSUM (1ull << VIRTIO_NET_F_GUEST_CSUM)
#define EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)

enum { RX = 0, TX = 1, QUIET_MS = 150 };

static enum virtq_layout split = VIRTQ_LAYOUT_SPLIT, packed = VIRTQ_LAYOUT_PACKED;

static struct net_fixture *start_with(void **state, const struct net_fixture_options *options, uint64_t wanted)
{
    struct net_fixture *fixture = net_fixture_create(options);
    enum virtq_layout layout = *(enum virtq_layout *)*state;
    assert_true(net_fixture_start(fixture, layout, 64, wanted) & VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

static struct net_fixture *start(void **state, size_t header_size, uint64_t wanted)
{
    const struct net_fixture_options options = {.header_size = header_size};
    return start_with(state, &options, wanted);
}

/* The host's packet: a tap's header (num_buffers left 0, as a tap leaves it) and a frame to the guest. */
static uint32_t host_packet(uint8_t *bytes, bool with_header, uint32_t frame_length, uint8_t seed)
{
    uint32_t offset = 0;
    if (with_header) {
        memset(bytes, 0, NET_BACKEND_HEADER_SIZE);
        offset = NET_BACKEND_HEADER_SIZE;
    }
    net_frame_fill(bytes + offset, frame_length, net_fixture_mac, seed);
    return offset + frame_length;
}

/* Waits for the next used RX buffer; returns it (by token) and its used length. */
static struct net_rx_buffer *expect_used(struct net_fixture *fixture, struct net_rx_buffer *buffers, unsigned count,
                                         uint32_t *written)
{
    uint64_t token = 0;
    assert_int_equal(net_wait_used(fixture, RX, &token, written), 1);
    for (unsigned i = 0; i < count; i++)
        if (buffers[i].token == token)
            return &buffers[i];
    fail_msg("used token %llu was never posted", (unsigned long long)token);
    return NULL;
}

/* The next used buffer is `buffer`, holding the tap's packet of `length` bytes (header and frame). */
static void expect_packet_in(struct net_fixture *fixture, struct net_rx_buffer *buffer, const uint8_t *packet,
                             uint32_t length)
{
    uint32_t written;
    assert_ptr_equal(expect_used(fixture, buffer, 1, &written), buffer);
    assert_int_equal(written, length);
    assert_memory_equal(buffer->host + 12, packet + 12, length - 12);
}

static void expect_nothing_used(struct net_fixture *fixture)
{
    uint64_t token;
    uint32_t written;
    assert_int_equal(net_wait_used_for(fixture, RX, &token, &written, QUIET_MS), 0);
}

static struct virtio_net_hdr_v1 header_in(const struct net_rx_buffer *buffer)
{
    struct virtio_net_hdr_v1 header;
    memcpy(&header, buffer->host, sizeof(header));
    return header;
}

static void test_one_chain_per_frame(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, 0);
    assert_false(fixture->features & MRG);
    struct net_rx_buffer buffers[3];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 1530), 0);
    static uint8_t bytes[2][12 + 1514];
    uint32_t lengths[2] = {host_packet(bytes[0], true, 1514, 1), host_packet(bytes[1], true, 60, 2)};
    for (unsigned i = 0; i < 2; i++)
        net_test_backend_inject(fixture->backend, 0, bytes[i], lengths[i]);
    for (unsigned i = 0; i < 2; i++) {
        uint32_t written;
        struct net_rx_buffer *buffer = expect_used(fixture, buffers, 3, &written);
        assert_ptr_equal(buffer, &buffers[i]);
        assert_int_equal(written, lengths[i]);
        assert_int_equal(le16toh(header_in(buffer).num_buffers), 1);
        assert_memory_equal(buffer->host + 12, bytes[i] + 12, lengths[i] - 12);
    }
    /* The guest asked for interrupts (no EVENT_IDX, flags clear): the receive queue's vector fired. */
    assert_true(net_fixture_wait_deliveries(fixture, RX + 1, 1) >= 1);
    expect_nothing_used(fixture);
    net_fixture_destroy(fixture);
}

/* 9000 bytes of frame and 12 of header over 1500-byte buffers: seven of them, the last with 12 bytes. */
static void test_mergeable_jumbo_frame(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, MRG);
    assert_true(fixture->features & MRG);
    /* A jumbo frame comes from a link with a jumbo MTU: the tap then asks for that much. */
    pthread_mutex_lock(&fixture->backend->lock);
    fixture->backend->mtu = 9000;
    pthread_mutex_unlock(&fixture->backend->lock);
    enum { POSTED = 12, REFILL = 6 };
    struct net_rx_buffer buffers[POSTED + REFILL];
    for (unsigned i = 0; i < POSTED; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 1500), 0);
    static uint8_t jumbo[12 + 9000], small[12 + 100];
    uint32_t jumbo_length = host_packet(jumbo, true, 9000, 3);
    net_test_backend_inject(fixture->backend, 0, jumbo, jumbo_length);
    uint32_t offset = 0;
    for (unsigned i = 0; i < 7; i++) {
        uint32_t written;
        struct net_rx_buffer *buffer = expect_used(fixture, buffers, POSTED, &written);
        assert_ptr_equal(buffer, &buffers[i]);
        assert_int_equal(written, i < 6 ? 1500 : 12);
        if (i == 0)
            assert_int_equal(le16toh(header_in(buffer).num_buffers), 7);
        assert_memory_equal(buffer->host + (i == 0 ? 12 : 0), jumbo + offset + (i == 0 ? 12 : 0),
                            written - (i == 0 ? 12 : 0));
        offset += written;
    }
    assert_int_equal(offset, jumbo_length);
    /*
     * The five chains left hold less than the link's largest frame, so the
     * device waits for the guest to post more rather than cut a frame short.
     */
    uint32_t small_length = host_packet(small, true, 100, 10);
    net_test_backend_inject(fixture->backend, 0, small, small_length);
    expect_nothing_used(fixture);
    for (unsigned i = POSTED; i < POSTED + REFILL; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 1500), 0);
    /* Then the chains the jumbo frame did not use carry the next frames, one each, in order. */
    for (unsigned frame = 0; frame < 3; frame++) {
        small_length = host_packet(small, true, 100, (uint8_t)(10 + frame));
        if (frame > 0)
            net_test_backend_inject(fixture->backend, 0, small, small_length);
        uint32_t written;
        struct net_rx_buffer *buffer = expect_used(fixture, buffers, POSTED + REFILL, &written);
        assert_ptr_equal(buffer, &buffers[7 + frame]);
        assert_int_equal(written, small_length);
        assert_int_equal(le16toh(header_in(buffer).num_buffers), 1);
        assert_memory_equal(buffer->host + 12, small + 12, 100);
    }
    net_fixture_destroy(fixture);
}

/* A backend that gives bare frames: the device writes the whole header, DATA_VALID only when both sides asked. */
static void header_written_by_device(void **state, bool data_valid, uint64_t wanted, uint8_t flags)
{
    const struct net_fixture_options options = {.data_valid = data_valid};
    struct net_fixture *fixture = start_with(state, &options, wanted);
    struct net_rx_buffer buffers[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 2048), 0);
    static uint8_t frame[1514];
    uint32_t length = host_packet(frame, false, 1514, 4);
    net_test_backend_inject(fixture->backend, 0, frame, length);
    uint32_t written;
    struct net_rx_buffer *buffer = expect_used(fixture, buffers, 2, &written);
    assert_ptr_equal(buffer, &buffers[0]);
    assert_int_equal(written, 12 + length);
    struct virtio_net_hdr_v1 header = header_in(buffer);
    assert_int_equal(header.flags, flags);
    assert_int_equal(header.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(header.hdr_len | header.gso_size | header.csum_start | header.csum_offset, 0);
    assert_int_equal(le16toh(header.num_buffers), 1);
    assert_memory_equal(buffer->host + 12, frame, length);
    net_fixture_destroy(fixture);
}

static void test_bare_frames_data_valid(void **state)
{
    header_written_by_device(state, true, GUEST_CSUM | MRG, VIRTIO_NET_HDR_F_DATA_VALID);
}

static void test_bare_frames_without_guest_csum(void **state)
{
    header_written_by_device(state, true, MRG, 0);
}

static void test_bare_frames_not_data_valid(void **state)
{
    header_written_by_device(state, false, GUEST_CSUM, 0);
}

/* Bare frames over mergeable buffers: the header the device writes counts the buffers. */
static void test_bare_frame_over_mergeable_buffers(void **state)
{
    struct net_fixture *fixture = start(state, 0, MRG);
    struct net_rx_buffer buffers[4];
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 1024), 0);
    static uint8_t frame[2500];
    uint32_t length = host_packet(frame, false, 2500, 5);
    net_test_backend_inject(fixture->backend, 0, frame, length);
    uint8_t joined[3 * 1024];
    uint32_t total = 0;
    for (unsigned i = 0; i < 3; i++) {
        uint32_t written;
        struct net_rx_buffer *buffer = expect_used(fixture, buffers, 4, &written);
        assert_ptr_equal(buffer, &buffers[i]);
        memcpy(joined + total, buffer->host, written);
        total += written;
    }
    assert_int_equal(total, 12 + length);
    assert_int_equal(le16toh(header_in(&buffers[0]).num_buffers), 3);
    assert_memory_equal(joined + 12, frame, length);
    net_fixture_destroy(fixture);
}

/* No buffers: the frame waits in the backend until the guest posts one (and kicks). */
static void test_frame_waits_for_buffers(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, MRG | EVENT_IDX);
    static uint8_t bytes[12 + 200];
    uint32_t length = host_packet(bytes, true, 200, 6);
    net_test_backend_inject(fixture->backend, 0, bytes, length);
    expect_nothing_used(fixture);
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, RX, &buffer, 4096), 0);
    expect_packet_in(fixture, &buffer, bytes, length);
    net_fixture_destroy(fixture);
}

/*
 * Buffers the device cannot use (shorter than the header): no crash, and the
 * pair's thread does not spin on a frame it cannot place; once the guest
 * posts a usable buffer the traffic flows again.
 */
static void test_buffers_too_small(void **state, size_t header_size, uint64_t wanted)
{
    struct net_fixture *fixture = start(state, header_size, wanted);
    struct net_rx_buffer tiny;
    assert_int_equal(net_post_rx(fixture, RX, &tiny, 8), 0);
    static uint8_t bytes[12 + 200];
    uint32_t length = host_packet(bytes, header_size != 0, 200, 7);
    net_test_backend_inject(fixture->backend, 0, bytes, length);
    usleep(QUIET_MS * 1000);
    unsigned before = net_test_backend_read(fixture->backend, &fixture->backend->dispatches);
    usleep(QUIET_MS * 1000);
    unsigned after = net_test_backend_read(fixture->backend, &fixture->backend->dispatches);
    assert_in_range(after - before, 0, 10);
    assert_false(net_fixture_status(fixture) & VIRTIO_CONFIG_S_NEEDS_RESET);
    /* A usable buffer: the tiny one comes back unused, and a frame (a tap's first, still queued) fills the new one. */
    struct net_rx_buffer usable[2] = {tiny};
    assert_int_equal(net_post_rx(fixture, RX, &usable[1], 2048), 0);
    static uint8_t next[12 + 200];
    uint32_t next_length = host_packet(next, header_size != 0, 200, 8);
    net_test_backend_inject(fixture->backend, 0, next, next_length);
    uint32_t written;
    assert_ptr_equal(expect_used(fixture, usable, 2, &written), &usable[0]);
    assert_int_equal(written, 0);
    assert_ptr_equal(expect_used(fixture, usable, 2, &written), &usable[1]);
    const uint8_t *expected = header_size ? bytes : next;
    assert_int_equal(written, 12 + 200);
    assert_memory_equal(usable[1].host + 12, expected + (header_size ? 12 : 0), 200);
    net_fixture_destroy(fixture);
}

static void test_buffer_shorter_than_header_tap(void **state)
{
    test_buffers_too_small(state, NET_BACKEND_HEADER_SIZE, 0);
}

static void test_buffer_shorter_than_header_user(void **state)
{
    test_buffers_too_small(state, 0, MRG);
}

/* A bare frame larger than the one chain a guest without MRG_RXBUF posted is dropped; the chain takes the next. */
static void test_bare_frame_larger_than_the_chain(void **state)
{
    struct net_fixture *fixture = start(state, 0, 0);
    struct net_rx_buffer small;
    assert_int_equal(net_post_rx(fixture, RX, &small, 100), 0);
    static uint8_t frame[1000];
    net_test_backend_inject(fixture->backend, 0, frame, host_packet(frame, false, 1000, 8));
    expect_nothing_used(fixture);
    assert_int_equal(net_test_backend_read(fixture->backend, &fixture->backend->acquire_refusals), 1);
    uint32_t length = host_packet(frame, false, 80, 9);
    net_test_backend_inject(fixture->backend, 0, frame, length);
    uint32_t written;
    assert_ptr_equal(expect_used(fixture, &small, 1, &written), &small);
    assert_int_equal(written, 12 + length);
    assert_memory_equal(small.host + 12, frame, length);
    net_fixture_destroy(fixture);
}

/* A runt from the host (shorter than an Ethernet header) is not delivered; its buffer takes the next frame. */
static void test_runt_frame_not_delivered(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, MRG);
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, RX, &buffer, 1530), 0);
    static uint8_t bytes[12 + 100];
    net_test_backend_inject(fixture->backend, 0, bytes, host_packet(bytes, true, 13, 20));
    uint32_t length = host_packet(bytes, true, 100, 21);
    net_test_backend_inject(fixture->backend, 0, bytes, length);
    expect_packet_in(fixture, &buffer, bytes, length);
    net_fixture_destroy(fixture);
}

/* A receive chain outside guest RAM breaks the queue (DEVICE_NEEDS_RESET); nothing crashes and a reset recovers. */
static void test_receive_chain_outside_ram(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, MRG);
    const struct virtq_driver_buffer outside = {0x80000000ull, 1530};
    const struct virtq_driver_request request = {.writable = &outside, .writable_count = 1};
    assert_int_equal(virtq_driver_add(&fixture->drivers[RX], &request, 99), 0);
    net_notify(fixture, RX);
    static uint8_t bytes[12 + 100];
    uint32_t length = host_packet(bytes, true, 100, 22);
    net_test_backend_inject(fixture->backend, 0, bytes, length);
    assert_true(net_fixture_wait_needs_reset(fixture));
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
    enum virtq_layout layout = *(enum virtq_layout *)*state;
    assert_true(net_fixture_start(fixture, layout, 64, MRG) & VIRTIO_CONFIG_S_DRIVER_OK);
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, RX, &buffer, 1530), 0);
    expect_packet_in(fixture, &buffer, bytes, length);
    net_fixture_destroy(fixture);
}

/* libslirp answers some frames while they are sent (ARP, ping): received through the sink inside transmit. */
static void test_answer_while_transmitting(void **state)
{
    struct net_fixture *fixture = start(state, 0, MRG);
    net_test_backend_set(fixture->backend, &fixture->backend->echo, true);
    struct net_rx_buffer buffers[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[i], 2048), 0);
    static uint8_t bytes[12 + 300];
    memset(bytes, 0, 12);
    const uint8_t host[6] = {0x02, 0, 0, 0, 0, 0x02};
    for (unsigned i = 0; i < 2; i++) {
        net_frame_fill(bytes + 12, 300, host, (uint8_t)(30 + i));
        memcpy(bytes + 12 + 6, net_fixture_mac, 6);
        uint64_t token, got;
        uint32_t written;
        assert_int_equal(net_send(fixture, TX, bytes, sizeof(bytes), &token), 0);
        assert_int_equal(net_wait_used(fixture, TX, &got, &written), 1);
        assert_int_equal(got, token);
        struct net_rx_buffer *buffer = expect_used(fixture, buffers, 2, &written);
        assert_ptr_equal(buffer, &buffers[i]);
        assert_int_equal(written, sizeof(bytes));
        assert_memory_equal(buffer->host + 12, net_fixture_mac, 6);
        assert_memory_equal(buffer->host + 12 + 6, host, 6);
        assert_memory_equal(buffer->host + 12 + 12, bytes + 12 + 12, 300 - 12);
    }
    assert_true(net_fixture_wait_deliveries(fixture, RX + 1, 1) >= 1);
    net_fixture_destroy(fixture);
}

/* Many frames through a ring refilled as it drains, with the event index: all arrive, in order. */
static void test_stream_with_refill(void **state)
{
    struct net_fixture *fixture = start(state, NET_BACKEND_HEADER_SIZE, MRG | EVENT_IDX);
    enum { COUNT = 500, RING = 32 };
    static struct net_rx_buffer buffers[COUNT];
    unsigned posted = 0, received = 0, injected = 0;
    for (; posted < RING; posted++)
        assert_int_equal(net_post_rx(fixture, RX, &buffers[posted], 1530), 0);
    static uint8_t bytes[12 + 300];
    while (received < COUNT) {
        if (injected < COUNT && injected < received + 48) {
            net_test_backend_inject(fixture->backend, 0, bytes, host_packet(bytes, true, 300, (uint8_t)injected));
            injected++;
        }
        uint64_t token;
        uint32_t written;
        int result = virtq_driver_get_used(&fixture->drivers[RX], &token, &written);
        if (result == 0 && injected == COUNT)
            result = net_wait_used(fixture, RX, &token, &written);
        if (result == 0)
            continue;
        assert_int_equal(result, 1);
        assert_int_equal(token, buffers[received].token);
        assert_int_equal(written, 312);
        host_packet(bytes, true, 300, (uint8_t)received);
        assert_memory_equal(buffers[received].host + 12, bytes + 12, 300);
        received++;
        if (posted < COUNT) {
            assert_int_equal(net_post_rx(fixture, RX, &buffers[posted], 1530), 0);
            posted++;
        }
    }
    net_fixture_destroy(fixture);
}

#define BOTH(test) cmocka_unit_test_prestate(test, &split), cmocka_unit_test_prestate(test, &packed)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_one_chain_per_frame),
        BOTH(test_mergeable_jumbo_frame),
        BOTH(test_bare_frames_data_valid),
        BOTH(test_bare_frames_without_guest_csum),
        BOTH(test_bare_frames_not_data_valid),
        BOTH(test_bare_frame_over_mergeable_buffers),
        BOTH(test_frame_waits_for_buffers),
        BOTH(test_buffer_shorter_than_header_tap),
        BOTH(test_buffer_shorter_than_header_user),
        BOTH(test_bare_frame_larger_than_the_chain),
        BOTH(test_runt_frame_not_delivered),
        BOTH(test_receive_chain_outside_ram),
        BOTH(test_answer_while_transmitting),
        BOTH(test_stream_with_refill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
