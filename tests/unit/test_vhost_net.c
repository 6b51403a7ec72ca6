/*
 * vhost-net's control path. Everywhere: the argument builders (memory table,
 * ring checks, feature masks) and opening /dev/vhost-net (its absence is a
 * one-line error). Where /dev/vhost-net exists (the test host, level 1): a
 * real pair of split rings in "guest" memory handed to the kernel with a tap,
 * a frame each way, stop (after which the kernel leaves the rings alone) and
 * a restart from where it stopped.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "backends/net_tap.h"
#include "backends/vhost_net.h"
#include "net_namespace_fixture.h"

static uint64_t bit(unsigned number)
{
    return 1ull << number;
}

static void test_memory_table_from_two_regions(void **state)
{
    (void)state;
    struct guest_memory memory = { .region_count = 3 };
    memory.regions[0] = (struct guest_memory_region){ .gpa = 0, .size = 0xC0000000ull, .host = (uint8_t *)0x7f0000000000 };
    memory.regions[1] = (struct guest_memory_region){ .gpa = 0x200000000ull, .size = 0 };
    memory.regions[2] = (struct guest_memory_region){ .gpa = 0x100000000ull, .size = 0x40000000ull,
                                                      .host = (uint8_t *)0x7f2000000000 };
    struct vhost_memory_region regions[GUEST_MEMORY_MAX_REGIONS];
    memset(regions, 0xa5, sizeof(regions));
    assert_int_equal(vhost_net_memory_regions(&memory, regions, GUEST_MEMORY_MAX_REGIONS), 2);
    assert_int_equal(regions[0].guest_phys_addr, 0);
    assert_int_equal(regions[0].memory_size, 0xC0000000ull);
    assert_int_equal(regions[0].userspace_addr, 0x7f0000000000ull);
    assert_int_equal(regions[0].flags_padding, 0);
    assert_int_equal(regions[1].guest_phys_addr, 0x100000000ull);
    assert_int_equal(regions[1].memory_size, 0x40000000ull);
    assert_int_equal(regions[1].userspace_addr, 0x7f2000000000ull);
    assert_int_equal(regions[1].flags_padding, 0);
    assert_int_equal(vhost_net_memory_regions(&memory, regions, 1), 1);
}

static struct vhost_net_ring good_ring(void)
{
    return (struct vhost_net_ring){ .size = 256, .desc_user = 0x10000, .avail_user = 0x11002, .used_user = 0x12004,
                                    .kick_fd = 3, .call_fd = 4 };
}

static void assert_ring_refused(struct vhost_net_ring ring, const char *expected)
{
    struct error error = { 0 };
    assert_int_equal(vhost_net_ring_check(&ring, VHOST_NET_TX, &error), -1);
    if (!strstr(error.message, expected))
        fail_msg("message '%s' lacks '%s'", error.message, expected);
    assert_non_null(strstr(error.message, "TX"));
}

static void test_ring_checks(void **state)
{
    (void)state;
    struct error error = { 0 };
    struct vhost_net_ring ring = good_ring();
    assert_int_equal(vhost_net_ring_check(&ring, VHOST_NET_RX, &error), 0);
    ring.size = 1;
    assert_int_equal(vhost_net_ring_check(&ring, VHOST_NET_RX, &error), 0);
    ring.size = 32768;
    assert_int_equal(vhost_net_ring_check(&ring, VHOST_NET_RX, &error), 0);

    ring = good_ring(), ring.size = 0, assert_ring_refused(ring, "power of two");
    ring = good_ring(), ring.size = 384, assert_ring_refused(ring, "power of two");
    ring = good_ring(), ring.desc_user += 8, assert_ring_refused(ring, "aligned");
    ring = good_ring(), ring.desc_user = 0, assert_ring_refused(ring, "aligned");
    ring = good_ring(), ring.avail_user += 1, assert_ring_refused(ring, "aligned");
    ring = good_ring(), ring.used_user += 2, assert_ring_refused(ring, "aligned");
    ring = good_ring(), ring.kick_fd = -1, assert_ring_refused(ring, "eventfd");
    ring = good_ring(), ring.call_fd = -1, assert_ring_refused(ring, "eventfd");

    ring = good_ring();
    struct vhost_vring_addr addr = vhost_net_ring_addr(&ring, VHOST_NET_TX);
    assert_int_equal(addr.index, VHOST_NET_TX);
    assert_int_equal(addr.flags, 0);
    assert_int_equal(addr.desc_user_addr, ring.desc_user);
    assert_int_equal(addr.avail_user_addr, ring.avail_user);
    assert_int_equal(addr.used_user_addr, ring.used_user);
    assert_int_equal(addr.log_guest_addr, 0);
}

/* A kernel like 6.x's: ring features, MRG_RXBUF, VERSION_1, ACCESS_PLATFORM, and vhost's LOG_ALL and NET_HDR. */
static const uint64_t kernel_features = (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                                        (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_F_VERSION_1) |
                                        (1ull << VIRTIO_F_ACCESS_PLATFORM) | (1ull << 26) | (1ull << 27) |
                                        (1ull << VIRTIO_F_NOTIFY_ON_EMPTY);

static void test_feature_masks(void **state)
{
    (void)state;
    uint64_t device = bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_MAC) |
                      bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_MRG_RXBUF) | bit(VIRTIO_NET_F_STATUS) |
                      bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_RING_F_EVENT_IDX) |
                      bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_PACKED);
    struct vhost_net vhost = { .fd = -1, .features = kernel_features };
    uint64_t offered = vhost_net_offer_features(&vhost, device);
    assert_int_equal(offered, device & ~bit(VIRTIO_F_RING_PACKED));

    /* A kernel without MRG_RXBUF and EVENT_IDX takes them off the offer too. */
    vhost.features = bit(VIRTIO_F_VERSION_1);
    assert_int_equal(vhost_net_offer_features(&vhost, device),
                     device & ~(bit(VIRTIO_F_RING_PACKED) | bit(VIRTIO_NET_F_MRG_RXBUF) | bit(VIRTIO_RING_F_EVENT_IDX)));

    /* What VHOST_SET_FEATURES gets: ring and header bits only, never vhost's LOG_ALL or NET_HDR. */
    uint64_t negotiated = (device & ~bit(VIRTIO_F_RING_PACKED)) | bit(27) | bit(26);
    assert_int_equal(vhost_net_ack_features(kernel_features, negotiated),
                     bit(VIRTIO_NET_F_MRG_RXBUF) | bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_F_VERSION_1));
}

static void test_open_fails_cleanly_or_reports_features(void **state)
{
    (void)state;
    struct guest_memory memory = { 0 };
    struct error error = { 0 };
    assert_int_equal(guest_memory_add_region(&memory, 0, 1 << 20, &error), 0);
    struct vhost_net vhost;
    if (access("/dev/vhost-net", F_OK) != 0) {
        assert_int_equal(vhost_net_open(&vhost, &memory, &error), -1);
        assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        assert_string_equal(error.message, "vhost-net: /dev/vhost-net is missing (is the vhost_net module loaded?)");
        assert_int_equal(vhost.fd, -1);
    } else {
        if (vhost_net_open(&vhost, &memory, &error) != 0)
            fail_msg("vhost_net_open: %s", error.message);
        assert_true(vhost.fd >= 0);
        assert_true(vhost.features & bit(VIRTIO_F_VERSION_1));
        vhost_net_close(&vhost);
        assert_int_equal(vhost.fd, -1);
    }
    guest_memory_destroy(&memory);
}

/* --- the real thing, where /dev/vhost-net exists ---------------------------------------------- */

enum {
    RING_SIZE = 8,
    FRAME_BYTES = 60,
    RX_BUFFERS = 4,
    RX_BUFFER_BYTES = 2048,
    MEMORY_BYTES = 1 << 20,
};

/* Guest-physical layout of the two rings and their buffers. */
static const uint64_t desc_gpa[2] = { 0x1000, 0x3000 }, avail_gpa[2] = { 0x1800, 0x3800 },
                      used_gpa[2] = { 0x2000, 0x4000 };
static const uint64_t tx_buffer_gpa = 0x10000, rx_buffer_gpa = 0x20000;

struct vhost_fixture {
    struct guest_memory memory;
    struct net_backend tap;
    struct vhost_net vhost;
    struct vhost_net_ring rings[2];
    int packet_socket;
    uint16_t tx_avail, rx_avail;
};

static void *gpa(struct vhost_fixture *fixture, uint64_t address)
{
    void *host = gpa_to_hva(&fixture->memory, address, 1);
    assert_non_null(host);
    return host;
}

static struct vring_desc *descriptors(struct vhost_fixture *fixture, unsigned ring)
{
    return gpa(fixture, desc_gpa[ring]);
}

static struct vring_avail *avail(struct vhost_fixture *fixture, unsigned ring)
{
    return gpa(fixture, avail_gpa[ring]);
}

static volatile struct vring_used *used(struct vhost_fixture *fixture, unsigned ring)
{
    return gpa(fixture, used_gpa[ring]);
}

static void publish(struct vhost_fixture *fixture, unsigned ring, uint16_t *index, uint16_t head)
{
    struct vring_avail *ring_avail = avail(fixture, ring);
    ring_avail->ring[*index % RING_SIZE] = head;
    (*index)++;
    __atomic_store_n(&ring_avail->idx, *index, __ATOMIC_RELEASE);
}

static void kick(int fd)
{
    assert_int_equal(eventfd_write(fd, 1), 0);
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd wait = { .fd = fd, .events = POLLIN };
    return poll(&wait, 1, timeout_ms) == 1;
}

static uint16_t used_index(struct vhost_fixture *fixture, unsigned ring)
{
    return __atomic_load_n(&used(fixture, ring)->idx, __ATOMIC_ACQUIRE);
}

/* A TX descriptor at `head`: a zero header and a test frame tagged with `tag`. */
static void queue_transmit(struct vhost_fixture *fixture, uint16_t head, uint8_t tag)
{
    uint8_t *buffer = gpa(fixture, tx_buffer_gpa + head * 256u);
    memset(buffer, 0, NET_BACKEND_HEADER_SIZE + FRAME_BYTES);
    uint8_t *frame = buffer + NET_BACKEND_HEADER_SIZE;
    memcpy(frame, (uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 7, 0x88, 0xb5 }, 14);
    frame[14] = tag;
    descriptors(fixture, VHOST_NET_TX)[head] =
        (struct vring_desc){ .addr = tx_buffer_gpa + head * 256u, .len = NET_BACKEND_HEADER_SIZE + FRAME_BYTES };
    publish(fixture, VHOST_NET_TX, &fixture->tx_avail, head);
}

static void start(struct vhost_fixture *fixture)
{
    struct error error = { 0 };
    uint64_t features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_MAC);
    if (vhost_net_start(&fixture->vhost, features, fixture->rings, fixture->tap.tap_fds[0], &error) != 0)
        fail_msg("vhost_net_start: %s", error.message);
}

static int vhost_setup(void **state)
{
    if (net_namespace_enter(state) != 0)
        return -1;
    struct vhost_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error = { 0 };
    if (!fixture || guest_memory_add_region(&fixture->memory, 0, MEMORY_BYTES, &error) != 0)
        return -1;
    struct net_tap_options options = { .ifname = "vh0", .pair_count = 1 };
    if (net_tap_open(&fixture->tap, &options, &error) != 0 || vhost_net_open(&fixture->vhost, &fixture->memory, &error) != 0) {
        print_error("setup: %s\n", error.message);
        return -1;
    }
    for (unsigned ring = 0; ring < 2; ring++) {
        fixture->rings[ring] = (struct vhost_net_ring){
            .size = RING_SIZE,
            .desc_user = (uint64_t)(uintptr_t)gpa(fixture, desc_gpa[ring]),
            .avail_user = (uint64_t)(uintptr_t)gpa(fixture, avail_gpa[ring]),
            .used_user = (uint64_t)(uintptr_t)gpa(fixture, used_gpa[ring]),
            .kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
            .call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
        };
    }
    fixture->packet_socket = net_packet_socket("vh0");
    if (fixture->packet_socket < 0)
        return -1;
    *state = fixture;
    return 0;
}

static int vhost_teardown(void **state)
{
    struct vhost_fixture *fixture = *state;
    vhost_net_close(&fixture->vhost);
    net_tap_close(&fixture->tap);
    for (unsigned ring = 0; ring < 2; ring++) {
        close(fixture->rings[ring].kick_fd);
        close(fixture->rings[ring].call_fd);
    }
    close(fixture->packet_socket);
    guest_memory_destroy(&fixture->memory);
    free(fixture);
    return 0;
}

/* Starts vhost with one frame tagged `tag` waiting at head 0 of the TX ring; the tap must see it. */
static void start_with_one_transmit(struct vhost_fixture *fixture, uint8_t tag)
{
    queue_transmit(fixture, 0, tag);
    start(fixture);
    kick(fixture->rings[VHOST_NET_TX].kick_fd);
    uint8_t frame[2048];
    assert_int_equal(net_packet_receive(fixture->packet_socket, 0x88b5, frame, sizeof(frame), 2000), FRAME_BYTES);
    assert_int_equal(frame[14], tag);
}

static void test_transmit_through_the_kernel_then_stop_and_restart(void **state)
{
    struct vhost_fixture *fixture = *state;
    start_with_one_transmit(fixture, 0xa1);
    uint8_t frame[2048];
    assert_true(wait_readable(fixture->rings[VHOST_NET_TX].call_fd, 2000));
    assert_int_equal(used_index(fixture, VHOST_NET_TX), 1);
    assert_int_equal(used(fixture, VHOST_NET_TX)->ring[0].id, 0);

    vhost_net_stop(&fixture->vhost);
    assert_int_equal(fixture->vhost.stopped_next_avail[VHOST_NET_TX], 1);
    assert_int_equal(fixture->vhost.stopped_next_avail[VHOST_NET_RX], 0);
    /* Stopped: a new buffer and a kick reach nobody. */
    queue_transmit(fixture, 1, 0xa2);
    kick(fixture->rings[VHOST_NET_TX].kick_fd);
    assert_int_equal(net_packet_receive(fixture->packet_socket, 0x88b5, frame, sizeof(frame), 300), -1);
    assert_int_equal(used_index(fixture, VHOST_NET_TX), 1);

    /* A restart from where it stopped picks the waiting buffer up. */
    fixture->rings[VHOST_NET_TX].next_avail = fixture->vhost.stopped_next_avail[VHOST_NET_TX];
    start(fixture);
    kick(fixture->rings[VHOST_NET_TX].kick_fd);
    assert_int_equal(net_packet_receive(fixture->packet_socket, 0x88b5, frame, sizeof(frame), 2000), FRAME_BYTES);
    assert_int_equal(frame[14], 0xa2);
    for (int i = 0; i < 200 && used_index(fixture, VHOST_NET_TX) != 2; i++)
        usleep(10000);
    assert_int_equal(used_index(fixture, VHOST_NET_TX), 2);
}

/*
 * A driver unload or device reset, then a new driver: the device stops vhost,
 * and the new driver's rings are elsewhere in guest memory and start from
 * index 0. vhost must take the new rings (a stop that left the backend bound
 * makes VHOST_SET_VRING_NUM fail with EBUSY) and never touch the old ones.
 */
static void test_stop_then_a_new_driver_on_new_rings(void **state)
{
    struct vhost_fixture *fixture = *state;
    start_with_one_transmit(fixture, 0xb1);
    for (int i = 0; i < 200 && used_index(fixture, VHOST_NET_TX) != 1; i++)
        usleep(10000);
    vhost_net_stop(&fixture->vhost);
    assert_false(fixture->vhost.started);

    /* The new driver's TX ring, 32 KiB up; the old one keeps its stale contents. */
    const uint64_t moved = 0x8000;
    struct vhost_net_ring *tx = &fixture->rings[VHOST_NET_TX];
    tx->desc_user += moved;
    tx->avail_user += moved;
    tx->used_user += moved;
    tx->next_avail = 0;
    struct vring_desc *new_descriptors = (struct vring_desc *)(uintptr_t)tx->desc_user;
    struct vring_avail *new_avail = (struct vring_avail *)(uintptr_t)tx->avail_user;
    volatile struct vring_used *new_used = (volatile struct vring_used *)(uintptr_t)tx->used_user;
    uint8_t *buffer = gpa(fixture, tx_buffer_gpa + 3 * 256u);
    memset(buffer, 0, NET_BACKEND_HEADER_SIZE + FRAME_BYTES);
    static const uint8_t tagged[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 7, 0x88, 0xb5, 0xb2 };
    memcpy(buffer + NET_BACKEND_HEADER_SIZE, tagged, sizeof(tagged));
    new_descriptors[0] =
        (struct vring_desc){ .addr = tx_buffer_gpa + 3 * 256u, .len = NET_BACKEND_HEADER_SIZE + FRAME_BYTES };
    new_avail->ring[0] = 0;
    __atomic_store_n(&new_avail->idx, 1, __ATOMIC_RELEASE);
    start(fixture);
    kick(tx->kick_fd);
    uint8_t frame[2048];
    assert_int_equal(net_packet_receive(fixture->packet_socket, 0x88b5, frame, sizeof(frame), 2000), FRAME_BYTES);
    assert_int_equal(frame[14], 0xb2);
    for (int i = 0; i < 200 && __atomic_load_n(&new_used->idx, __ATOMIC_ACQUIRE) != 1; i++)
        usleep(10000);
    assert_int_equal(__atomic_load_n(&new_used->idx, __ATOMIC_ACQUIRE), 1);
    assert_int_equal(new_used->ring[0].id, 0);
    assert_int_equal(used_index(fixture, VHOST_NET_TX), 1); /* the old ring is left alone */
}

static void test_receive_through_the_kernel(void **state)
{
    struct vhost_fixture *fixture = *state;
    for (uint16_t head = 0; head < RX_BUFFERS; head++) {
        descriptors(fixture, VHOST_NET_RX)[head] = (struct vring_desc){
            .addr = rx_buffer_gpa + head * (uint64_t)RX_BUFFER_BYTES, .len = RX_BUFFER_BYTES, .flags = VRING_DESC_F_WRITE };
        publish(fixture, VHOST_NET_RX, &fixture->rx_avail, head);
    }
    start(fixture);
    kick(fixture->rings[VHOST_NET_RX].kick_fd);
    uint8_t frame[FRAME_BYTES] = { 0x02, 0, 0, 0, 0, 9, 0x02, 0, 0, 0, 0, 8, 0x88, 0xb5, 'v', 'h', 'o', 's', 't' };
    assert_int_equal(net_packet_send(fixture->packet_socket, frame, sizeof(frame)), 0);
    assert_true(wait_readable(fixture->rings[VHOST_NET_RX].call_fd, 2000));
    bool found = false;
    for (int round = 0; round < 200 && !found; round++) {
        uint16_t done = used_index(fixture, VHOST_NET_RX);
        for (uint16_t i = 0; i < done && !found; i++) {
            volatile struct vring_used_elem *element = &used(fixture, VHOST_NET_RX)->ring[i % RING_SIZE];
            uint8_t *buffer = gpa(fixture, rx_buffer_gpa + element->id * (uint64_t)RX_BUFFER_BYTES);
            if (element->len == NET_BACKEND_HEADER_SIZE + FRAME_BYTES &&
                memcmp(buffer + NET_BACKEND_HEADER_SIZE, frame, sizeof(frame)) == 0)
                found = true;
        }
        if (!found)
            usleep(10000);
    }
    assert_true(found);
    vhost_net_stop(&fixture->vhost);
    assert_int_equal(fixture->vhost.stopped_next_avail[VHOST_NET_RX], used_index(fixture, VHOST_NET_RX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_table_from_two_regions),
        cmocka_unit_test(test_ring_checks),
        cmocka_unit_test(test_feature_masks),
        cmocka_unit_test(test_open_fails_cleanly_or_reports_features),
    };
    int failed = cmocka_run_group_tests_name("vhost-net arguments", tests, NULL, NULL);
    if (access("/dev/vhost-net", F_OK) != 0) {
        printf("ok - vhost-net with a tap # SKIP no-vhost-net: /dev/vhost-net does not exist here (it does in the test host)\n");
        return failed;
    }
    if (net_namespace_unavailable("vhost-net with a tap"))
        return failed;
    const struct CMUnitTest kernel_tests[] = {
        cmocka_unit_test_setup_teardown(test_transmit_through_the_kernel_then_stop_and_restart, vhost_setup,
                                        vhost_teardown),
        cmocka_unit_test_setup_teardown(test_stop_then_a_new_driver_on_new_rings, vhost_setup, vhost_teardown),
        cmocka_unit_test_setup_teardown(test_receive_through_the_kernel, vhost_setup, vhost_teardown),
    };
    return failed | cmocka_run_group_tests_name("vhost-net with a tap", kernel_tests, NULL, NULL);
}
