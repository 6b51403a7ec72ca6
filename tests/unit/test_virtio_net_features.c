/*
 * KESTREL_TSAN_TEST (activation starts the queue pairs' threads).
 * What virtio-net offers and shows: feature bits with and without the
 * backend's offloads (each offload both ways only with checksums), MQ only
 * with more than one pair, MTU only when set; the configuration space (MAC,
 * link up, max_virtqueue_pairs, MTU); the receive offloads the driver took
 * reaching the backend at DRIVER_OK; and the options virtio_net_init refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_net_fixture.h"

#define F(bit) (1ull << (bit))
#define HOST_OFFLOADS                                                                                                \
    (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |    \
     F(VIRTIO_NET_F_HOST_UFO))
#define GUEST_OFFLOADS                                                                                               \
    (F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |                         \
     F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO))
#define ALWAYS                                                                                                       \
    (F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |          \
     F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_F_VERSION_1))

static uint64_t offered(const struct net_fixture_options *options)
{
    struct net_fixture *fixture = net_fixture_create(options);
    uint64_t features = net_offered_features(fixture);
    net_fixture_destroy(fixture);
    return features;
}

static void test_features_without_offloads(void **state)
{
    (void)state;
    const struct net_fixture_options options = {.header_size = NET_BACKEND_HEADER_SIZE};
    uint64_t features = offered(&options);
    assert_int_equal(features & ALWAYS, ALWAYS);
    assert_int_equal(features & (HOST_OFFLOADS | GUEST_OFFLOADS), 0);
    assert_false(features & F(VIRTIO_NET_F_MQ));
    assert_false(features & F(VIRTIO_NET_F_MTU));
    assert_false(features & F(VIRTIO_NET_F_CTRL_MAC_ADDR));
}

static void test_features_with_offloads(void **state)
{
    (void)state;
    const unsigned every = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN | NET_OFFLOAD_UFO;
    struct net_fixture_options options = {.header_size = NET_BACKEND_HEADER_SIZE, .offloads = every};
    uint64_t features = offered(&options);
    assert_int_equal(features & (HOST_OFFLOADS | GUEST_OFFLOADS), HOST_OFFLOADS | GUEST_OFFLOADS);
    /* Segmentation without checksums is nothing a driver can use. */
    options.offloads = NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_UFO;
    assert_int_equal(offered(&options) & (HOST_OFFLOADS | GUEST_OFFLOADS), 0);
    /* ECN only with a TCP segmentation offload. */
    options.offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_ECN | NET_OFFLOAD_UFO;
    features = offered(&options);
    assert_false(features & (F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_GUEST_ECN)));
    assert_true(features & F(VIRTIO_NET_F_HOST_UFO));
    options.offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4;
    features = offered(&options);
    assert_int_equal(features & (HOST_OFFLOADS | GUEST_OFFLOADS),
                     F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
                         F(VIRTIO_NET_F_GUEST_TSO4));
}

static void test_data_valid_offers_guest_csum(void **state)
{
    (void)state;
    const struct net_fixture_options options = {.data_valid = true};
    uint64_t features = offered(&options);
    assert_true(features & F(VIRTIO_NET_F_GUEST_CSUM));
    assert_false(features & F(VIRTIO_NET_F_CSUM));
}

static void test_multiqueue_and_mtu(void **state)
{
    (void)state;
    const struct net_fixture_options options = {.pairs = 3, .mtu = 9000, .header_size = NET_BACKEND_HEADER_SIZE};
    struct net_fixture *fixture = net_fixture_create(&options);
    uint64_t features = net_offered_features(fixture);
    assert_true(features & F(VIRTIO_NET_F_MQ));
    assert_true(features & F(VIRTIO_NET_F_MTU));
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(net_config_read(fixture, i, 1), net_fixture_mac[i]);
    assert_int_equal(net_config_read(fixture, offsetof(struct virtio_net_config, status), 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(net_config_read(fixture, offsetof(struct virtio_net_config, max_virtqueue_pairs), 2), 3);
    assert_int_equal(net_config_read(fixture, offsetof(struct virtio_net_config, mtu), 2), 9000);
    /* Seven queues: three pairs and the control queue. */
    assert_int_equal(virtio_pci_guest_bar_read(&fixture->guest, COMMON_NUM_QUEUES, 2), 7);
    net_fixture_destroy(fixture);
}

/* The receive offloads the driver took reach the backend when it starts the device. */
static void test_offloads_reach_the_backend(void **state)
{
    (void)state;
    const unsigned every = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN | NET_OFFLOAD_UFO;
    const struct net_fixture_options options = {.header_size = NET_BACKEND_HEADER_SIZE, .offloads = every};
    struct net_fixture *fixture = net_fixture_create(&options);
    uint64_t wanted = F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_CSUM);
    assert_true(net_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 64, wanted) & VIRTIO_CONFIG_S_DRIVER_OK);
    struct net_test_backend *backend = fixture->backend;
    assert_int_equal(net_test_backend_read(backend, &backend->offloads_set), NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4);
    assert_int_equal(net_test_backend_read(backend, &backend->active_pairs), 1);
    /* A driver that takes none: the backend is told so on the next start. */
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
    assert_true(net_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(net_test_backend_read(backend, &backend->offloads_set), 0);
    assert_int_equal(net_test_backend_read(backend, &backend->set_offload_calls), 2);
    net_fixture_destroy(fixture);
}

static int init_with(struct net_test_backend *backend, unsigned pairs, uint16_t queue_size, const uint8_t mac[6])
{
    struct virtio_net_options options = {
        .backend = backend ? &backend->backend : NULL, .pair_count = pairs, .queue_size = queue_size};
    memcpy(options.mac, mac, 6);
    struct virtio_net device;
    struct error error = {0};
    int result = virtio_net_init(&device, &options, NULL, NULL, NULL, NULL, NULL, &error);
    assert_int_equal(result, -1);
    return error.exit_status;
}

static void test_init_refuses_bad_options(void **state)
{
    (void)state;
    struct net_test_backend *backend = net_test_backend_create(2, NET_BACKEND_HEADER_SIZE, 0);
    const uint8_t multicast[6] = {0x01, 0, 0, 0, 0, 1}, zero[6] = {0};
    assert_int_equal(init_with(backend, 0, 0, net_fixture_mac), EXIT_STATUS_USAGE);
    assert_int_equal(init_with(backend, 3, 0, net_fixture_mac), EXIT_STATUS_USAGE); /* more than the backend has */
    assert_int_equal(init_with(backend, 1, 100, net_fixture_mac), EXIT_STATUS_USAGE);
    assert_int_equal(init_with(backend, 1, 1, net_fixture_mac), EXIT_STATUS_USAGE);
    assert_int_equal(init_with(backend, 1, 0, multicast), EXIT_STATUS_USAGE);
    assert_int_equal(init_with(backend, 1, 0, zero), EXIT_STATUS_USAGE);
    assert_int_equal(init_with(NULL, 1, 0, net_fixture_mac), EXIT_STATUS_FAILURE);
    net_test_backend_destroy(backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_without_offloads), cmocka_unit_test(test_features_with_offloads),
        cmocka_unit_test(test_data_valid_offers_guest_csum), cmocka_unit_test(test_multiqueue_and_mtu),
        cmocka_unit_test(test_offloads_reach_the_backend), cmocka_unit_test(test_init_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
