/*
 * The tap backend against the real tun driver, each test in a network
 * namespace of its own: creating and attaching, the data path both ways
 * (with the kernel acting on the virtio-net header), queues, offloads, and
 * every refusal leaving no tap behind.
 */
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "backends/net_tap.h"
#include "net_namespace_fixture.h"

enum { ETHERTYPE_TEST = 0x88b5, ETHERTYPE_IPV4 = 0x0800, MAX_FRAMES = 8 };

/* A receive sink over host buffers: every frame lands in two segments (the header and the rest), like a guest's. */
struct test_sink {
    uint8_t buffers[MAX_FRAMES][NET_TAP_RECEIVE_FRAME_BYTES];
    size_t lengths[MAX_FRAMES];
    unsigned frames;
    unsigned available; /* buffers the "guest" posted */
    struct iovec segments[2];
    bool acquired;
    size_t asked; /* the frame_bytes of the last acquire */
};

static bool sink_acquire(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count)
{
    struct test_sink *sink = opaque;
    assert_false(sink->acquired);
    assert_true(frame_bytes >= NET_BACKEND_HEADER_SIZE + 14 && frame_bytes <= NET_TAP_RECEIVE_FRAME_BYTES);
    sink->asked = frame_bytes;
    if (sink->frames >= sink->available || sink->frames >= MAX_FRAMES)
        return false;
    uint8_t *buffer = sink->buffers[sink->frames];
    sink->segments[0] = (struct iovec){ buffer, NET_BACKEND_HEADER_SIZE };
    sink->segments[1] = (struct iovec){ buffer + NET_BACKEND_HEADER_SIZE, frame_bytes - NET_BACKEND_HEADER_SIZE };
    *segments = sink->segments;
    *count = 2;
    sink->acquired = true;
    return true;
}

static void sink_commit(void *opaque, size_t bytes)
{
    struct test_sink *sink = opaque;
    assert_true(sink->acquired);
    sink->acquired = false;
    if (bytes > 0)
        sink->lengths[sink->frames++] = bytes;
}

static struct test_sink *sink_new(unsigned available, struct net_receive_sink *ops)
{
    struct test_sink *sink = calloc(1, sizeof(*sink));
    assert_non_null(sink);
    sink->available = available;
    *ops = (struct net_receive_sink){ .acquire = sink_acquire, .commit = sink_commit, .opaque = sink };
    return sink;
}

/* Polls pair `pair` as the device's thread would, until `sink` holds `frames` frames or a second passes. */
static void receive_frames(struct net_backend *backend, unsigned pair, const struct net_receive_sink *ops,
                           unsigned frames)
{
    struct test_sink *sink = ops->opaque;
    for (int round = 0; round < 100 && sink->frames < frames; round++) {
        struct pollfd fds[NET_BACKEND_MAX_POLL_FDS];
        int timeout = -1;
        unsigned count = backend->ops->poll_fill(backend->state, pair, fds, NET_BACKEND_MAX_POLL_FDS, true, false,
                                                 &timeout);
        assert_int_equal(count, 1);
        assert_int_equal(fds[0].events, POLLIN);
        if (poll(fds, count, 10) > 0)
            backend->ops->poll_dispatch(backend->state, pair, fds, count, ops);
    }
}

static void open_tap(struct net_backend *backend, const char *name, unsigned pairs)
{
    struct error error = { 0 };
    struct net_tap_options options = { .ifname = name, .pair_count = pairs };
    if (net_tap_open(backend, &options, &error) != 0)
        fail_msg("net_tap_open: %s", error.message);
}

static void assert_open_fails(const char *name, unsigned pairs, const char *expected)
{
    unsigned links = net_namespace_link_count();
    struct net_backend backend = { 0 };
    struct error error = { 0 };
    struct net_tap_options options = { .ifname = name, .pair_count = pairs };
    assert_int_equal(net_tap_open(&backend, &options, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, expected))
        fail_msg("message '%s' lacks '%s'", error.message, expected);
    assert_null(strchr(error.message, '\n'));
    assert_null(backend.state);
    assert_int_equal(net_namespace_link_count(), links);
}

static void test_unnamed_tap_is_created_up_with_vnet_header(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, NULL, 1);
    const char *name = net_tap_name(&backend);
    assert_memory_equal(name, "tap", 3);
    assert_true(net_tap_created(&backend));
    assert_true(net_link_flags(name) & IFF_UP);
    assert_int_equal(backend.pair_count, 1);
    assert_int_equal(backend.ops->header_size, NET_BACKEND_HEADER_SIZE);
    unsigned must = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN;
    assert_int_equal(backend.offloads & must, must);

    struct ifreq ifr = { 0 };
    assert_int_equal(ioctl(backend.tap_fds[0], TUNGETIFF, &ifr), 0);
    assert_true(ifr.ifr_flags & IFF_TAP);
    assert_true(ifr.ifr_flags & IFF_VNET_HDR);
    assert_true(ifr.ifr_flags & IFF_NO_PI);
    assert_false(ifr.ifr_flags & IFF_MULTI_QUEUE);
    int header_size = 0;
    assert_int_equal(ioctl(backend.tap_fds[0], TUNGETVNETHDRSZ, &header_size), 0);
    assert_int_equal(header_size, NET_BACKEND_HEADER_SIZE);
    assert_true(fcntl(backend.tap_fds[0], F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(backend.tap_fds[0], F_GETFD) & FD_CLOEXEC);

    net_tap_close(&backend);
    assert_int_equal(net_namespace_link_count(), 1); /* not persistent: gone with its fd */
}

static void test_named_tap(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, "kestrel0", 1);
    assert_string_equal(net_tap_name(&backend), "kestrel0");
    assert_true(if_nametoindex("kestrel0") != 0);
    int header_size = 0;
    assert_int_equal(ioctl(backend.tap_fds[0], TUNGETVNETHDRSZ, &header_size), 0);
    assert_int_equal(header_size, NET_BACKEND_HEADER_SIZE);
    net_tap_close(&backend);
    assert_int_equal(if_nametoindex("kestrel0"), 0);
}

/* A bare frame: a zero header, then an Ethernet frame in two more segments (the device passes the guest's chain). */
static void test_transmit_plain_frame(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, "kt0", 1);
    int sock = net_packet_socket("kt0");
    assert_true(sock >= 0);
    struct virtio_net_hdr_v1 header = { 0 };
    uint8_t ethernet[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5 };
    char payload[] = "kestrel tap transmit";
    struct iovec segments[] = { { &header, sizeof(header) }, { ethernet, sizeof(ethernet) },
                                { payload, sizeof(payload) } };
    assert_int_equal(backend.ops->transmit(backend.state, 0, segments, 3, NULL), 0);
    uint8_t frame[2048];
    ssize_t bytes = net_packet_receive(sock, ETHERTYPE_TEST, frame, sizeof(frame), 1000);
    assert_int_equal(bytes, sizeof(ethernet) + sizeof(payload));
    assert_memory_equal(frame, ethernet, sizeof(ethernet));
    assert_memory_equal(frame + sizeof(ethernet), payload, sizeof(payload));
    assert_int_equal(net_tap_dropped_transmits(&backend), 0);

    /* A header the kernel refuses (an unknown GSO type) drops that frame, counted, and nothing else. */
    header.gso_type = 0x77;
    header.gso_size = 100;
    assert_int_equal(backend.ops->transmit(backend.state, 0, segments, 3, NULL), 0);
    assert_int_equal(net_tap_dropped_transmits(&backend), 1);
    close(sock);
    net_tap_close(&backend);
}

static uint32_t checksum_add(uint32_t sum, const uint8_t *bytes, size_t length)
{
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
    if (length & 1)
        sum += (uint32_t)bytes[length - 1] << 8;
    return sum;
}

static uint16_t checksum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

enum { UDP_PAYLOAD = 32, IP_OFFSET = 14, UDP_OFFSET = 34, UDP_FRAME = 34 + 8 + UDP_PAYLOAD };

/* 10.9.1.2:4000 -> 10.9.2.2:5000, to `destination_mac`, with the UDP checksum left as a guest leaves it for NEEDS_CSUM. */
static void build_udp_frame(uint8_t frame[UDP_FRAME], const uint8_t destination_mac[6])
{
    memset(frame, 0, UDP_FRAME);
    memcpy(frame, destination_mac, 6);
    memcpy(frame + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 2 }, 6);
    frame[12] = 0x08;
    uint8_t *ip = frame + IP_OFFSET;
    ip[0] = 0x45;
    ip[3] = 20 + 8 + UDP_PAYLOAD;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, (uint8_t[]){ 10, 9, 1, 2 }, 4);
    memcpy(ip + 16, (uint8_t[]){ 10, 9, 2, 2 }, 4);
    uint16_t ip_sum = (uint16_t)~checksum_fold(checksum_add(0, ip, 20));
    ip[10] = (uint8_t)(ip_sum >> 8);
    ip[11] = (uint8_t)ip_sum;
    uint8_t *udp = frame + UDP_OFFSET;
    udp[0] = 4000 >> 8, udp[1] = 4000 & 0xff, udp[2] = 5000 >> 8, udp[3] = 5000 & 0xff;
    udp[5] = 8 + UDP_PAYLOAD;
    for (int i = 0; i < UDP_PAYLOAD; i++)
        udp[8 + i] = (uint8_t)(0x41 + i);
    /* The pseudo-header sum, not complemented: what Linux leaves for the device to finish. */
    uint32_t pseudo = checksum_add(0, ip + 12, 8) + 17 + 8 + UDP_PAYLOAD;
    uint16_t partial = checksum_fold(pseudo);
    udp[6] = (uint8_t)(partial >> 8);
    udp[7] = (uint8_t)partial;
}

static bool udp_checksum_valid(const uint8_t *frame)
{
    const uint8_t *ip = frame + IP_OFFSET;
    uint32_t sum = checksum_add(0, ip + 12, 8) + 17 + 8 + UDP_PAYLOAD;
    sum = checksum_add(sum, frame + UDP_OFFSET, 8 + UDP_PAYLOAD);
    return checksum_fold(sum) == 0xffff;
}

/*
 * Two taps and IPv4 forwarding between them: a frame sent on "in" with
 * NEEDS_CSUM leaves through "out". With no offload on "out" the kernel must
 * finish the checksum before handing it over; with CSUM offloaded it hands
 * the frame over still partial, flagged NEEDS_CSUM. So this proves the
 * transmit header is honoured, the receive path, and set_offload.
 */
struct forwarding {
    struct net_backend in, out;
    struct net_receive_sink sink;
    uint8_t frame[UDP_FRAME];
};

static void forwarding_setup(struct forwarding *net)
{
    open_tap(&net->in, "in0", 1);
    open_tap(&net->out, "out0", 1);
    assert_int_equal(net_link_add_address("in0", "10.9.1.1"), 0);
    assert_int_equal(net_link_add_address("out0", "10.9.2.1"), 0);
    assert_int_equal(net_link_add_neighbour("out0", "10.9.2.2", (uint8_t[]){ 0x02, 0, 0, 0, 0, 3 }), 0);
    assert_int_equal(net_write_file("/proc/sys/net/ipv4/ip_forward", "1"), 0);
    uint8_t mac[6];
    assert_int_equal(net_link_mac("in0", mac), 0);
    build_udp_frame(net->frame, mac);
}

static const uint8_t *forward_once(struct forwarding *net, struct virtio_net_hdr_v1 *header)
{
    struct test_sink *sink = sink_new(MAX_FRAMES, &net->sink);
    struct iovec segments[] = { { header, sizeof(*header) }, { net->frame, UDP_FRAME } };
    assert_int_equal(net->in.ops->transmit(net->in.state, 0, segments, 2, NULL), 0);
    /* Skip anything else the kernel sends out of the tap. */
    for (unsigned seen = 0; seen < MAX_FRAMES; seen++) {
        receive_frames(&net->out, 0, &net->sink, seen + 1);
        assert_int_equal(sink->frames, seen + 1);
        const uint8_t *frame = sink->buffers[seen] + NET_BACKEND_HEADER_SIZE;
        if (((frame[12] << 8) | frame[13]) == ETHERTYPE_IPV4 && frame[IP_OFFSET + 9] == 17) {
            assert_int_equal(sink->lengths[seen], NET_BACKEND_HEADER_SIZE + UDP_FRAME);
            return sink->buffers[seen];
        }
    }
    fail_msg("no UDP frame came out of the tap");
    return NULL;
}

static void test_needs_csum_is_finished_by_the_kernel(void **state)
{
    (void)state;
    struct forwarding net;
    forwarding_setup(&net);
    assert_false(udp_checksum_valid(net.frame));
    struct virtio_net_hdr_v1 header = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = UDP_OFFSET,
                                        .csum_offset = 6 };

    const uint8_t *received = forward_once(&net, &header);
    const struct virtio_net_hdr_v1 *out_header = (const void *)received;
    assert_false(out_header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(received[NET_BACKEND_HEADER_SIZE + IP_OFFSET + 8], 63); /* forwarded: TTL down by one */
    assert_true(udp_checksum_valid(received + NET_BACKEND_HEADER_SIZE));
    /* Before any set_offload a read may bring 64 KiB. */
    assert_int_equal(((struct test_sink *)net.sink.opaque)->asked, NET_TAP_RECEIVE_FRAME_BYTES);
    free(net.sink.opaque);

    assert_int_equal(net.out.ops->set_offload(net.out.state, NET_OFFLOAD_CSUM), 0);
    received = forward_once(&net, &header);
    /* Without segmentation offloads a read brings at most the MTU (1500), a VLAN tag and the headers. */
    assert_int_equal(((struct test_sink *)net.sink.opaque)->asked, NET_BACKEND_HEADER_SIZE + 14 + 4 + 1500);
    out_header = (const void *)received;
    assert_true(out_header->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(out_header->csum_start, UDP_OFFSET);
    assert_int_equal(out_header->csum_offset, 6);
    assert_false(udp_checksum_valid(received + NET_BACKEND_HEADER_SIZE));
    free(net.sink.opaque);

    assert_int_equal(net_tap_receive_errors(&net.out), 0);
    net_tap_close(&net.in);
    net_tap_close(&net.out);
}

/* From the host side of the tap to the sink, header first; without guest buffers the frame waits in the kernel. */
static void test_receive_into_sink(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, "kt0", 1);
    int sock = net_packet_socket("kt0");
    assert_true(sock >= 0);
    uint8_t frame[60] = { 0x02, 0, 0, 0, 0, 9, 0x02, 0, 0, 0, 0, 8, 0x88, 0xb5, 'r', 'x' };
    assert_int_equal(net_packet_send(sock, frame, sizeof(frame)), 0);

    struct net_receive_sink ops;
    struct test_sink *sink = sink_new(0, &ops);
    struct pollfd fds[1];
    int timeout = -1;
    assert_int_equal(backend.ops->poll_fill(backend.state, 0, fds, 1, true, false, &timeout), 1);
    assert_int_equal(poll(fds, 1, 1000), 1);
    backend.ops->poll_dispatch(backend.state, 0, fds, 1, &ops);
    assert_int_equal(sink->frames, 0);

    sink->available = MAX_FRAMES;
    /* The kernel may queue its own frames (IPv6 solicitations) too: find ours among what arrives. */
    bool found = false;
    for (int round = 0; round < 5 && !found; round++) {
        receive_frames(&backend, 0, &ops, sink->frames + 1);
        for (unsigned i = 0; i < sink->frames && !found; i++) {
            const uint8_t *received = sink->buffers[i];
            struct virtio_net_hdr_v1 none = { 0 };
            if (sink->lengths[i] == NET_BACKEND_HEADER_SIZE + sizeof(frame) &&
                memcmp(received + NET_BACKEND_HEADER_SIZE, frame, sizeof(frame)) == 0) {
                assert_memory_equal(received, &none, offsetof(struct virtio_net_hdr_v1, num_buffers));
                found = true;
            }
        }
    }
    assert_true(found);
    assert_int_equal(net_tap_receive_errors(&backend), 0);
    free(sink);
    close(sock);
    net_tap_close(&backend);
}

static void test_transmit_wants_pollout_only_when_asked(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, NULL, 1);
    struct pollfd fds[2];
    int timeout = 5;
    assert_int_equal(backend.ops->poll_fill(backend.state, 0, fds, 2, false, true, &timeout), 1);
    assert_int_equal(fds[0].events, POLLOUT);
    assert_int_equal(timeout, 5);
    assert_int_equal(backend.ops->poll_fill(backend.state, 0, fds, 2, true, true, &timeout), 1);
    assert_int_equal(fds[0].events, POLLIN | POLLOUT);
    assert_int_equal(backend.ops->poll_fill(backend.state, 0, fds, 2, false, false, &timeout), 0);
    assert_int_equal(backend.ops->poll_fill(backend.state, 0, fds, 0, true, true, &timeout), 0);
    net_tap_close(&backend);
}

static void test_multi_queue_pairs(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, "mq0", 2);
    assert_int_equal(backend.pair_count, 2);
    assert_true(backend.tap_fds[0] != backend.tap_fds[1]);
    for (unsigned pair = 0; pair < 2; pair++) {
        struct ifreq ifr = { 0 };
        assert_int_equal(ioctl(backend.tap_fds[pair], TUNGETIFF, &ifr), 0);
        assert_string_equal(ifr.ifr_name, "mq0");
        assert_true(ifr.ifr_flags & IFF_MULTI_QUEUE);
        assert_true(ifr.ifr_flags & IFF_VNET_HDR);
    }
    assert_int_equal(backend.ops->set_active_pairs(backend.state, 1), 0);
    /* Detached: the kernel says so when asked to detach it again, and steers every frame to queue 0. */
    struct ifreq again = { .ifr_flags = IFF_DETACH_QUEUE };
    assert_int_equal(ioctl(backend.tap_fds[1], TUNSETQUEUE, &again), -1);
    assert_int_equal(ioctl(backend.tap_fds[0], TUNSETQUEUE, &again), 0);
    again.ifr_flags = IFF_ATTACH_QUEUE;
    assert_int_equal(ioctl(backend.tap_fds[0], TUNSETQUEUE, &again), 0);
    int sock = net_packet_socket("mq0");
    assert_true(sock >= 0);
    uint8_t frame[60] = { 0x02, 0, 0, 0, 0, 9, 0x02, 0, 0, 0, 0, 8, 0x88, 0xb5 };
    for (int i = 0; i < 8; i++) {
        frame[20] = (uint8_t)i; /* different flows, which 2 attached queues would spread */
        assert_int_equal(net_packet_send(sock, frame, sizeof(frame)), 0);
    }
    uint8_t buffer[256];
    assert_int_equal(read(backend.tap_fds[1], buffer, sizeof(buffer)), -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(read(backend.tap_fds[0], buffer, sizeof(buffer)) > 0);

    assert_int_equal(backend.ops->set_active_pairs(backend.state, 2), 0);
    assert_int_equal(ioctl(backend.tap_fds[1], TUNSETQUEUE, &again), -1); /* attached already */
    assert_int_equal(backend.ops->set_active_pairs(backend.state, 2), 0);
    struct pollfd fds[1];
    int timeout = -1;
    assert_int_equal(backend.ops->poll_fill(backend.state, 1, fds, 1, true, true, &timeout), 1);
    close(sock);
    assert_int_equal(backend.ops->set_active_pairs(backend.state, 0), -EINVAL);
    assert_int_equal(backend.ops->set_active_pairs(backend.state, 3), -EINVAL);
    net_tap_close(&backend);
    assert_int_equal(net_namespace_link_count(), 1);
}

static int ethtool_value(const char *name, uint32_t command)
{
    struct ethtool_value value = { .cmd = command };
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_data = (void *)&value;
    assert_int_equal(net_link_ioctl(SIOCETHTOOL, &ifr), 0);
    return (int)value.data;
}

/* TUNSETOFFLOAD turns into the tap's own features, which ethtool shows. */
static void test_set_offload_each_flag(void **state)
{
    (void)state;
    struct net_backend backend;
    open_tap(&backend, "off0", 1);
    assert_int_equal(ethtool_value("off0", ETHTOOL_GTXCSUM), 0);
    assert_int_equal(ethtool_value("off0", ETHTOOL_GTSO), 0);
    const unsigned flags[] = { NET_OFFLOAD_CSUM, NET_OFFLOAD_TSO4, NET_OFFLOAD_TSO6, NET_OFFLOAD_ECN,
                               NET_OFFLOAD_UFO };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        unsigned offloads = NET_OFFLOAD_CSUM | flags[i];
        assert_int_equal(backend.ops->set_offload(backend.state, offloads), 0);
        assert_int_equal(ethtool_value("off0", ETHTOOL_GTXCSUM), 1);
        bool tso = offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6);
        assert_int_equal(ethtool_value("off0", ETHTOOL_GTSO) != 0, tso);
    }
    assert_int_equal(backend.ops->set_offload(backend.state, backend.offloads), 0);
    assert_int_equal(ethtool_value("off0", ETHTOOL_GTSO) != 0, 1);
    /* TSO without checksum offload is not a combination the kernel takes: it becomes none. */
    assert_int_equal(backend.ops->set_offload(backend.state, NET_OFFLOAD_TSO4 | NET_OFFLOAD_ECN), 0);
    assert_int_equal(ethtool_value("off0", ETHTOOL_GTXCSUM), 0);
    assert_int_equal(ethtool_value("off0", ETHTOOL_GTSO), 0);
    net_tap_close(&backend);
}

/* A persistent tun or tap made by someone else (as `ip tuntap add` does). */
static void make_persistent_device(const char *name, short flags)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    struct ifreq ifr = { .ifr_flags = flags };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
    assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
    close(fd);
}

/* An existing tap is attached to, not brought up, and still there after close. */
static void test_attach_to_existing_persistent_tap(void **state)
{
    (void)state;
    make_persistent_device("keep0", IFF_TAP | IFF_NO_PI);
    struct net_backend backend;
    open_tap(&backend, "keep0", 1);
    assert_false(net_tap_created(&backend));
    assert_false(net_link_flags("keep0") & IFF_UP);
    net_tap_close(&backend);
    assert_true(if_nametoindex("keep0") != 0);

    /* Asking for two queues of a single-queue tap: refused, and the tap stays as it was. */
    assert_open_fails("keep0", 2, "is not multi_queue");
    assert_true(if_nametoindex("keep0") != 0);

    /* A multi_queue tap serves one pair too. */
    make_persistent_device("keepmq0", IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE);
    open_tap(&backend, "keepmq0", 1);
    assert_false(net_tap_created(&backend));
    net_tap_close(&backend);
    open_tap(&backend, "keepmq0", 3);
    assert_int_equal(backend.pair_count, 3);
    net_tap_close(&backend);
    assert_true(if_nametoindex("keepmq0") != 0);

    /* A tun (layer 3) device of that name is not a tap. */
    make_persistent_device("tun0", IFF_TUN | IFF_NO_PI);
    assert_open_fails("tun0", 1, "tun0 exists and is not a tap device");
    assert_true(if_nametoindex("tun0") != 0);
}

static void test_busy_single_queue_tap(void **state)
{
    (void)state;
    struct net_backend first;
    open_tap(&first, "busy0", 1);
    assert_open_fails("busy0", 1, "is busy");
    assert_true(if_nametoindex("busy0") != 0);
    net_tap_close(&first);
}

static void test_bad_names(void **state)
{
    (void)state;
    assert_open_fails("sixteen-bytes-ab", 1, "too long");
    assert_open_fails("", 1, "empty");
    assert_open_fails("a/b", 1, "not valid");
    assert_open_fails("..", 1, "not valid");
    assert_open_fails("lo", 1, "lo exists and is not a tap device");
    assert_open_fails("lo", 2, "lo exists and is not a tap device");
    assert_open_fails("kt0", 0, "queue pairs");
    assert_open_fails("kt0", NET_TAP_MAX_PAIRS + 1, "queue pairs");
    assert_int_equal(net_namespace_link_count(), 1);
}

/* Without CAP_NET_ADMIN (dropped in a child): the one-line refusal, and no tap. */
static int open_without_net_admin(void)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return 10;
    data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    data[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
    if (syscall(SYS_capset, &header, data) != 0)
        return 11;
    struct net_backend backend = { 0 };
    struct error error = { 0 };
    struct net_tap_options options = { .ifname = "noperm0", .pair_count = 2 };
    if (net_tap_open(&backend, &options, &error) != -1)
        return 12;
    if (error.exit_status != EXIT_STATUS_USAGE)
        return 13;
    if (strcmp(error.message, "--net tap: cannot create tap noperm0: permission denied (needs CAP_NET_ADMIN)") != 0)
        return 14;
    return net_namespace_link_count() == 1 ? 0 : 15;
}

static void test_permission_denied(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(open_without_net_admin());
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(if_nametoindex("noperm0"), 0);
}

#define TEST(name) cmocka_unit_test_setup(name, net_namespace_enter)

int main(void)
{
    if (net_namespace_unavailable("tap backend tests"))
        return 0;
    const struct CMUnitTest tests[] = {
        TEST(test_unnamed_tap_is_created_up_with_vnet_header),
        TEST(test_named_tap),
        TEST(test_transmit_plain_frame),
        TEST(test_needs_csum_is_finished_by_the_kernel),
        TEST(test_receive_into_sink),
        TEST(test_transmit_wants_pollout_only_when_asked),
        TEST(test_multi_queue_pairs),
        TEST(test_set_offload_each_flag),
        TEST(test_attach_to_existing_persistent_tap),
        TEST(test_busy_single_queue_tap),
        TEST(test_bad_names),
        TEST(test_permission_denied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
