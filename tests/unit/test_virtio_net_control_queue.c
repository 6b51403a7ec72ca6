/*
 * KESTREL_TSAN_TEST (the queue pairs' threads run beside the driver's).
 * virtio-net's control queue through the device, on split and packed rings:
 * the receive mode (promiscuous at first, then off: other unicast addresses
 * filtered, the device's own and broadcast passing; ALLMULTI), MAC tables,
 * VQ_PAIRS_SET within and beyond the maximum, commands with bad lengths, no
 * ack byte, or outside RAM. Then two queue pairs carrying traffic at once,
 * and a device reset while frames flow both ways (the threads stop, nothing
 * crashes, the driver starts the device again and it works); the two-pair
 * cases also with both pairs on one I/O thread (iothreads=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "virtio_net_fixture.h"

#define CONTROL (1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_CTRL_RX)
#define MQ (1ull << VIRTIO_NET_F_MQ)
#define MRG (1ull << VIRTIO_NET_F_MRG_RXBUF)

enum { RX = 0, TX = 1, QUIET_MS = 150 };

/* A ring layout, and the I/O threads (0: one per pair; 1: both pairs on one thread). */
struct variant {
    enum virtq_layout layout;
    unsigned io_threads;
};
static struct variant split = {VIRTQ_LAYOUT_SPLIT, 0}, packed = {VIRTQ_LAYOUT_PACKED, 0};
static struct variant split_one_thread = {VIRTQ_LAYOUT_SPLIT, 1}, packed_one_thread = {VIRTQ_LAYOUT_PACKED, 1};
static const uint8_t other_unicast[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
static const uint8_t listed_unicast[6] = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03};
static const uint8_t listed_multicast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
static const uint8_t other_multicast[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct net_fixture *start(void **state, unsigned pairs, uint64_t wanted)
{
    const struct variant *variant = *state;
    const struct net_fixture_options options = {
        .pairs = pairs, .header_size = NET_BACKEND_HEADER_SIZE, .io_threads = variant->io_threads};
    struct net_fixture *fixture = net_fixture_create(&options);
    assert_true(net_fixture_start(fixture, variant->layout, 64, wanted) & VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

static uint8_t set_mode(struct net_fixture *fixture, uint8_t command, uint8_t on)
{
    return net_control(fixture, VIRTIO_NET_CTRL_RX, command, &on, 1);
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET with one unicast and one multicast entry. */
static uint8_t set_tables(struct net_fixture *fixture)
{
    uint8_t data[4 + 6 + 4 + 6];
    uint32_t one = htole32(1);
    memcpy(data, &one, 4);
    memcpy(data + 4, listed_unicast, 6);
    memcpy(data + 10, &one, 4);
    memcpy(data + 14, listed_multicast, 6);
    return net_control(fixture, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, data, sizeof(data));
}

/*
 * Injects a frame to `destination` and then one to the device's own address
 * into a single posted buffer: the buffer holds the first when the filter
 * passed it, else the second (the first left the buffer held, unused).
 */
static bool passes(struct net_fixture *fixture, const uint8_t destination[6])
{
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, RX, &buffer, 1530), 0);
    static uint8_t bytes[12 + 100];
    memset(bytes, 0, 12);
    net_frame_fill(bytes + 12, 100, destination, 1);
    net_test_backend_inject(fixture->backend, 0, bytes, sizeof(bytes));
    net_frame_fill(bytes + 12, 100, net_fixture_mac, 2);
    net_test_backend_inject(fixture->backend, 0, bytes, sizeof(bytes));
    uint64_t token;
    uint32_t written;
    assert_int_equal(net_wait_used(fixture, RX, &token, &written), 1);
    assert_int_equal(token, buffer.token);
    assert_int_equal(written, sizeof(bytes));
    bool first = memcmp(buffer.host + 12, destination, 6) == 0 && buffer.host[12 + 14] == (uint8_t)(1 + 14 * 7);
    if (first) { /* the second frame takes the next buffer */
        assert_int_equal(net_post_rx(fixture, RX, &buffer, 1530), 0);
        assert_int_equal(net_wait_used(fixture, RX, &token, &written), 1);
        assert_int_equal(buffer.host[12 + 14], (uint8_t)(2 + 14 * 7));
    }
    return first;
}

static void test_receive_modes_and_tables(void **state)
{
    struct net_fixture *fixture = start(state, 1, CONTROL);
    assert_int_equal(fixture->features & CONTROL, CONTROL);
    /* Promiscuous until the driver says otherwise. */
    assert_true(passes(fixture, other_unicast));
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_OK);
    assert_false(passes(fixture, other_unicast));
    assert_true(passes(fixture, broadcast));
    assert_false(passes(fixture, other_multicast));
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
    assert_true(passes(fixture, other_multicast));
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_ALLMULTI, 0), VIRTIO_NET_OK);
    assert_int_equal(set_tables(fixture), VIRTIO_NET_OK);
    assert_true(passes(fixture, listed_unicast));
    assert_true(passes(fixture, listed_multicast));
    assert_false(passes(fixture, other_unicast));
    assert_false(passes(fixture, other_multicast));
    assert_true(passes(fixture, broadcast));
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_OK);
    assert_true(passes(fixture, other_unicast));
    net_fixture_destroy(fixture);
}

static void test_bad_commands_refused(void **state)
{
    struct net_fixture *fixture = start(state, 1, CONTROL);
    const uint8_t two[2] = {0, 0};
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2), VIRTIO_NET_ERR);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0), VIRTIO_NET_ERR);
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_PROMISC, 2), VIRTIO_NET_ERR);
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_NOBCAST, 1), VIRTIO_NET_ERR);
    /* A table that claims more entries than it carries, and one with bytes left over. */
    uint8_t table[4 + 6 + 4 + 1] = {2, 0, 0, 0};
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 14),
                     VIRTIO_NET_ERR);
    table[0] = 1;
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 15),
                     VIRTIO_NET_ERR);
    uint16_t pairs = htole16(1);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_ERR); /* MQ not negotiated */
    assert_int_equal(net_control(fixture, 0x7f, 0, NULL, 0), VIRTIO_NET_ERR);
    /* The refusals changed nothing: still promiscuous. */
    assert_true(passes(fixture, other_unicast));
    net_fixture_destroy(fixture);
}

/* A command chain with no writable byte comes back with nothing written, and the queue carries on. */
static void test_command_without_ack(void **state)
{
    struct net_fixture *fixture = start(state, 1, CONTROL);
    uint64_t gpa = net_alloc(fixture, 3);
    uint8_t *command = net_host(fixture, gpa, 3);
    command[0] = VIRTIO_NET_CTRL_RX;
    command[1] = VIRTIO_NET_CTRL_RX_PROMISC;
    command[2] = 0;
    const struct virtq_driver_buffer readable = {gpa, 3};
    const struct virtq_driver_request request = {.readable = &readable, .readable_count = 1};
    assert_int_equal(virtq_driver_add(&fixture->drivers[fixture->control_queue], &request, 4242), 0);
    net_notify(fixture, fixture->control_queue);
    uint64_t token;
    uint32_t written;
    assert_int_equal(net_wait_used(fixture, fixture->control_queue, &token, &written), 1);
    assert_int_equal(token, 4242);
    assert_int_equal(written, 0);
    /*
     * Its interrupt first: the device may answer both commands in one pass with one interrupt if the next one
     * is posted before it signals, so only an interrupt seen before the next command proves this one had its own.
     */
    assert_true(net_fixture_wait_deliveries(fixture, fixture->control_queue + 1, 1) >= 1);
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
    assert_true(net_fixture_wait_deliveries(fixture, fixture->control_queue + 1, 2) >= 2);
    net_fixture_destroy(fixture);
}

/* A command chain outside guest RAM breaks the control queue (DEVICE_NEEDS_RESET); the data path is unharmed. */
static void test_command_outside_ram(void **state)
{
    struct net_fixture *fixture = start(state, 1, CONTROL);
    const struct virtq_driver_buffer readable = {0x80000000ull, 3}, ack = {net_alloc(fixture, 1), 1};
    const struct virtq_driver_request request = {
        .readable = &readable, .readable_count = 1, .writable = &ack, .writable_count = 1};
    assert_int_equal(virtq_driver_add(&fixture->drivers[fixture->control_queue], &request, 5), 0);
    net_notify(fixture, fixture->control_queue);
    assert_true(net_fixture_wait_needs_reset(fixture));
    assert_true(passes(fixture, other_unicast)); /* still promiscuous, still receiving */
    net_fixture_destroy(fixture);
}

static void test_queue_pairs_set(void **state)
{
    struct net_fixture *fixture = start(state, 2, CONTROL | MQ);
    assert_true(fixture->features & MQ);
    assert_int_equal(fixture->control_queue, 4);
    struct net_test_backend *backend = fixture->backend;
    assert_int_equal(net_test_backend_read(backend, &backend->active_pairs), 1);
    uint16_t pairs = htole16(2);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_OK);
    assert_int_equal(net_test_backend_read(backend, &backend->active_pairs), 2);
    pairs = htole16(3);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_ERR);
    pairs = 0;
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_ERR);
    pairs = htole16(1);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 1),
                     VIRTIO_NET_ERR);
    assert_int_equal(net_test_backend_read(backend, &backend->active_pairs), 2);
    /* A backend that cannot follow makes the command fail. */
    net_test_backend_set(backend, &backend->refuse_pairs, true);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_ERR);
    net_fixture_destroy(fixture);
}

/* Both pairs carry frames each way at once, each on its own socket. */
static void test_two_pairs_carry_traffic(void **state)
{
    struct net_fixture *fixture = start(state, 2, CONTROL | MQ | MRG);
    uint16_t pairs = htole16(2);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                     VIRTIO_NET_OK);
    enum { FRAMES = 20 };
    static struct net_rx_buffer buffers[2][FRAMES];
    static uint8_t bytes[12 + 200], received[12 + 200];
    memset(bytes, 0, 12);
    for (unsigned pair = 0; pair < 2; pair++)
        for (unsigned i = 0; i < FRAMES; i++)
            assert_int_equal(net_post_rx(fixture, 2 * pair, &buffers[pair][i], 1530), 0);
    for (unsigned i = 0; i < FRAMES; i++)
        for (unsigned pair = 0; pair < 2; pair++) {
            net_frame_fill(bytes + 12, 200, net_fixture_mac, (uint8_t)(pair * 100 + i));
            net_test_backend_inject(fixture->backend, pair, bytes, sizeof(bytes));
            uint64_t token;
            assert_int_equal(net_send(fixture, 2 * pair + 1, bytes, sizeof(bytes), &token), 0);
        }
    for (unsigned pair = 0; pair < 2; pair++)
        for (unsigned i = 0; i < FRAMES; i++) {
            net_frame_fill(bytes + 12, 200, net_fixture_mac, (uint8_t)(pair * 100 + i));
            assert_int_equal(net_test_backend_take(fixture->backend, pair, received, sizeof(received),
                                                   NET_FIXTURE_WAIT_MS),
                             sizeof(bytes));
            assert_memory_equal(received, bytes, sizeof(bytes));
            uint64_t token;
            uint32_t written;
            assert_int_equal(net_wait_used(fixture, 2 * pair, &token, &written), 1);
            assert_int_equal(token, buffers[pair][i].token);
            assert_memory_equal(buffers[pair][i].host + 12, bytes + 12, 200);
            assert_int_equal(net_wait_used(fixture, 2 * pair + 1, &token, &written), 1);
        }
    /*
     * Each queue raised its own vector (q + 1). The device signals after it publishes the used entry, so the last
     * queue's interrupt can still be on its way when its entry is seen: wait for it (bounded).
     */
    for (unsigned queue = 0; queue < 4; queue++)
        assert_true(net_fixture_wait_deliveries(fixture, queue + 1, 1) > 0);
    net_fixture_destroy(fixture);
}

struct flood {
    struct net_test_backend *backend;
    atomic_bool stop;
    unsigned sent;
};

/* The host keeps sending frames towards the guest, as a busy network does. */
static void *flood_main(void *opaque)
{
    struct flood *flood = opaque;
    uint8_t bytes[12 + 300];
    memset(bytes, 0, 12);
    net_frame_fill(bytes + 12, 300, net_fixture_mac, 3);
    while (!atomic_load(&flood->stop)) {
        for (unsigned pair = 0; pair < 2; pair++)
            if (send(flood->backend->test_end[pair], bytes, sizeof(bytes), MSG_DONTWAIT) == (ssize_t)sizeof(bytes))
                flood->sent++;
        usleep(50);
    }
    return NULL;
}

static void test_reset_while_traffic_flows(void **state)
{
    struct net_fixture *fixture = start(state, 2, CONTROL | MQ | MRG);
    const uint16_t both_pairs = htole16(2);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &both_pairs, 2),
                     VIRTIO_NET_OK);
    struct flood flood = {.backend = fixture->backend};
    atomic_init(&flood.stop, false);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, flood_main, &flood), 0);
    static uint8_t bytes[12 + 300];
    memset(bytes, 0, 12);
    net_frame_fill(bytes + 12, 300, net_fixture_mac, 4);
    for (unsigned round = 0; round < 3; round++) {
        struct net_rx_buffer buffer;
        for (unsigned pair = 0; pair < 2; pair++)
            for (unsigned i = 0; i < 16; i++) {
                uint64_t token;
                assert_int_equal(net_post_rx(fixture, 2 * pair, &buffer, 1530), 0);
                assert_int_equal(net_send(fixture, 2 * pair + 1, bytes, sizeof(bytes), &token), 0);
            }
        usleep(2000);
        /* The reset returns once the pairs' threads stopped; then the driver starts again. */
        virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
        assert_int_equal(net_fixture_status(fixture), 0);
        const struct variant *variant = *state;
        assert_true(net_fixture_start(fixture, variant->layout, 64, CONTROL | MQ | MRG) & VIRTIO_CONFIG_S_DRIVER_OK);
        /* A new driver starts on one pair (the reset forgot VQ_PAIRS_SET) and turns the second on again. */
        assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &both_pairs, 2),
                         VIRTIO_NET_OK);
    }
    atomic_store(&flood.stop, true);
    pthread_join(thread, NULL);
    assert_true(flood.sent > 0);
    /* The device works after the last start: a control command, a frame out and a frame in. */
    assert_int_equal(set_mode(fixture, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_OK);
    net_frame_fill(bytes + 12, 300, net_fixture_mac, 5);
    uint64_t token;
    assert_int_equal(net_send(fixture, TX, bytes, sizeof(bytes), &token), 0);
    static uint8_t received[12 + 300];
    ssize_t got;
    do /* frames the guest sent before the reset come first */
        got = net_test_backend_take(fixture->backend, 0, received, sizeof(received), NET_FIXTURE_WAIT_MS);
    while (got == (ssize_t)sizeof(bytes) && memcmp(received, bytes, sizeof(bytes)) != 0);
    assert_int_equal(got, sizeof(bytes));
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, RX, &buffer, 1530), 0);
    uint32_t written;
    assert_int_equal(net_wait_used(fixture, RX, &token, &written), 1);
    assert_int_equal(token, buffer.token);
    assert_int_equal(written, sizeof(bytes));
    net_fixture_destroy(fixture);
}

#define BOTH(test) cmocka_unit_test_prestate(test, &split), cmocka_unit_test_prestate(test, &packed)
#define ONE_THREAD(test)                                                                                               \
    cmocka_unit_test_prestate(test, &split_one_thread), cmocka_unit_test_prestate(test, &packed_one_thread)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_receive_modes_and_tables),
        BOTH(test_bad_commands_refused),
        BOTH(test_command_without_ack),
        BOTH(test_command_outside_ram),
        BOTH(test_queue_pairs_set),
        BOTH(test_two_pairs_carry_traffic),
        ONE_THREAD(test_two_pairs_carry_traffic),
        BOTH(test_reset_while_traffic_flows),
        ONE_THREAD(test_reset_while_traffic_flows),
        ONE_THREAD(test_queue_pairs_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
