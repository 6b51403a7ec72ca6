/*
 * The libslirp backend driven as the virtio-net pair thread drives it:
 * poll_fill, poll(2), poll_dispatch and transmit, with a sink that collects
 * what libslirp sends the guest. Loopback only.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_slirp_fixture.h"

enum { GUEST_PORT = 2222 };

static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint32_t GATEWAY = IPV4(10, 0, 2, 2);
static const uint32_t GUEST = IPV4(10, 0, 2, 15);

/* --- matchers -------------------------------------------------------------- */

static bool is_arp_reply_from(const uint8_t *frame, size_t length, const void *context)
{
    uint32_t sender = *(const uint32_t *)context;
    const uint8_t *arp = frame + ETH_HEADER;
    return length >= ETH_HEADER + 28 && get16(frame + 12) == ETHERTYPE_ARP && get16(arp + 6) == 2 &&
           get32(arp + 14) == sender && memcmp(arp + 18, GUEST_MAC, 6) == 0 && memcmp(frame, GUEST_MAC, 6) == 0;
}

static bool is_arp_request_for(const uint8_t *frame, size_t length, const void *context)
{
    uint32_t target = *(const uint32_t *)context;
    const uint8_t *arp = frame + ETH_HEADER;
    return length >= ETH_HEADER + 28 && get16(frame + 12) == ETHERTYPE_ARP && get16(arp + 6) == 1 &&
           get32(arp + 24) == target;
}

static bool is_dhcp_offer(const uint8_t *frame, size_t length, const void *context)
{
    uint32_t transaction = *(const uint32_t *)context;
    size_t udp_length;
    const uint8_t *udp = ipv4_payload(frame, length, IP_PROTOCOL_UDP, &udp_length);
    if (!udp || udp_length < UDP_HEADER + BOOTP_FIXED + 4 || get16(udp) != 67 || get16(udp + 2) != 68)
        return false;
    const uint8_t *bootp = udp + UDP_HEADER;
    uint8_t option_length = 0;
    const uint8_t *type = dhcp_option(bootp, udp_length - UDP_HEADER, 53, &option_length);
    return bootp[0] == 2 && get32(bootp + 4) == transaction && type && option_length == 1 && type[0] == DHCP_OFFER;
}

static bool is_echo_reply(const uint8_t *frame, size_t length, const void *context)
{
    (void)context;
    size_t icmp_length;
    const uint8_t *icmp = ipv4_payload(frame, length, IP_PROTOCOL_ICMP, &icmp_length);
    return icmp && icmp_length >= 8 && icmp[0] == 0 && get16(icmp + 4) == 0x4b53 && get16(icmp + 6) == 7 &&
           get32(frame + ETH_HEADER + 12) == GATEWAY && get32(frame + ETH_HEADER + 16) == GUEST;
}

static bool is_syn_to_guest_port(const uint8_t *frame, size_t length, const void *context)
{
    uint16_t port = *(const uint16_t *)context;
    size_t tcp_length;
    const uint8_t *tcp = ipv4_payload(frame, length, IP_PROTOCOL_TCP, &tcp_length);
    return tcp && tcp_length >= 20 && get16(tcp + 2) == port && (tcp[13] & 0x02) && !(tcp[13] & 0x10) &&
           get32(frame + ETH_HEADER + 16) == GUEST && memcmp(frame, GUEST_MAC, 6) == 0;
}

/* --- tests ----------------------------------------------------------------- */

static void test_dhcp_offer(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .mtu = 1500 });
    uint8_t frame[FRAME_MAX];
    uint32_t transaction = 0x6b657374;
    fixture_transmit(&fixture, frame, dhcp_discover_build(frame, GUEST_MAC, transaction));
    int found = drive_until(&fixture, is_dhcp_offer, &transaction);
    assert_true(found >= 0);

    size_t udp_length;
    const uint8_t *udp = ipv4_payload(fixture.sink.frames[found], fixture.sink.lengths[found], IP_PROTOCOL_UDP,
                                      &udp_length);
    const uint8_t *bootp = udp + UDP_HEADER;
    assert_int_equal(get32(bootp + 16), GUEST); /* yiaddr */
    uint8_t option_length = 0;
    const uint8_t *dns = dhcp_option(bootp, udp_length - UDP_HEADER, 6, &option_length);
    assert_non_null(dns);
    assert_int_equal(option_length, 4);
    assert_int_equal(get32(dns), IPV4(10, 0, 2, 3));
    const uint8_t *router = dhcp_option(bootp, udp_length - UDP_HEADER, 3, &option_length);
    assert_non_null(router);
    assert_int_equal(get32(router), GATEWAY);
    assert_int_equal(net_slirp_counters(&fixture.backend).frames_from_guest, 1);
    net_slirp_close(&fixture.backend);
    assert_null(fixture.backend.state);
}

static void test_arp_reply_for_gateway_and_dns(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ 0 });
    uint8_t frame[FRAME_MAX];
    const uint32_t targets[] = { GATEWAY, IPV4(10, 0, 2, 3) };
    for (unsigned i = 0; i < 2; i++) {
        unsigned before = fixture.sink.count;
        fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, targets[i]));
        /* libslirp answers inside slirp_input, so the reply is in the sink when transmit returns. */
        assert_true(find_frame(&fixture, before, is_arp_reply_from, &targets[i]) >= 0);
    }
    /* An address libslirp does not own gets no answer. */
    unsigned before = fixture.sink.count;
    uint32_t stranger = IPV4(10, 0, 2, 77);
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, stranger));
    assert_int_equal(find_frame(&fixture, before, is_arp_reply_from, &stranger), -1);
    net_slirp_close(&fixture.backend);
}

static void test_ping_gateway(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .mtu = 65520 });
    uint8_t frame[FRAME_MAX];
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    int reply = find_frame(&fixture, 0, is_arp_reply_from, &GATEWAY);
    assert_true(reply >= 0);
    const uint8_t *gateway_mac = fixture.sink.frames[reply] + ETH_HEADER + 8;
    fixture_transmit(&fixture, frame, icmp_echo_build(frame, GUEST_MAC, gateway_mac, GUEST, GATEWAY, 0x4b53, 7));
    int found = drive_until(&fixture, is_echo_reply, NULL);
    assert_true(found >= 0);
    size_t icmp_length;
    const uint8_t *icmp = ipv4_payload(fixture.sink.frames[found], fixture.sink.lengths[found], IP_PROTOCOL_ICMP,
                                       &icmp_length);
    assert_int_equal(internet_checksum(icmp, icmp_length), 0);
    assert_memory_equal(icmp + 8, "kestrel ping 123", 16);
    net_slirp_close(&fixture.backend);
}

/* A loopback port nobody listens on now (bound and released). */
static uint16_t free_loopback_port(void)
{
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(probe >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(probe, (struct sockaddr *)&address, sizeof(address)), 0);
    socklen_t size = sizeof(address);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&address, &size), 0);
    close(probe);
    return ntohs(address.sin_port);
}

static int connect_loopback(uint16_t port)
{
    int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(client >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int result = connect(client, (struct sockaddr *)&address, sizeof(address));
    assert_true(result == 0 || errno == EINPROGRESS);
    return client;
}

static struct net_hostfwd loopback_forward(uint16_t host_port)
{
    return (struct net_hostfwd){ .host_address = INADDR_LOOPBACK, .host_port = host_port, .guest_address = GUEST,
                                 .guest_port = GUEST_PORT };
}

/* A host client of `forward` whose connection libslirp has carried to the guest (its SYN); the client's fd. */
static int connect_to_guest(struct fixture *fixture, const struct net_hostfwd *forward)
{
    uint8_t frame[FRAME_MAX];
    /* The guest's ARP request teaches libslirp its MAC, as DHCP would. */
    fixture_transmit(fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    int client = connect_loopback(forward->host_port);
    uint16_t port = GUEST_PORT;
    assert_true(drive_until(fixture, is_syn_to_guest_port, &port) >= 0);
    return client;
}

static void test_hostfwd_connect_reaches_guest(void **state)
{
    (void)state;
    struct net_hostfwd forward = loopback_forward(free_loopback_port());
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = &forward, .hostfwd_count = 1 });
    close(connect_to_guest(&fixture, &forward));
    net_slirp_close(&fixture.backend);
}

static void test_hostfwd_to_unknown_guest_asks_arp(void **state)
{
    (void)state;
    struct net_hostfwd forward = loopback_forward(free_loopback_port());
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = &forward, .hostfwd_count = 1 });
    int client = connect_loopback(forward.host_port);
    assert_true(drive_until(&fixture, is_arp_request_for, &GUEST) >= 0);
    close(client);
    net_slirp_close(&fixture.backend);
}

/* More host sockets than the device's poll array holds: the ones past it are still served. */
static void test_poll_overflow_still_served(void **state)
{
    (void)state;
    enum { FORWARDS = 4, CAPACITY = 1 };
    struct net_hostfwd forwards[FORWARDS];
    for (unsigned i = 0; i < FORWARDS; i++) {
        forwards[i] = loopback_forward(free_loopback_port());
        forwards[i].guest_port = (uint16_t)(GUEST_PORT + i);
    }
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = forwards, .hostfwd_count = FORWARDS });
    uint8_t frame[FRAME_MAX];
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    int clients[FORWARDS];
    for (unsigned i = 0; i < FORWARDS; i++)
        clients[i] = connect_loopback(forwards[i].host_port);
    for (unsigned i = 0; i < FORWARDS; i++) {
        uint16_t port = forwards[i].guest_port;
        assert_true(drive_with_capacity(&fixture, CAPACITY, is_syn_to_guest_port, &port) >= 0);
    }
    assert_true(net_slirp_counters(&fixture.backend).poll_overflows > 0);
    /* The wait is bounded while sockets wait outside the array. */
    struct pollfd fds[CAPACITY];
    int timeout = -1;
    fixture.backend.ops->poll_fill(fixture.backend.state, 0, fds, CAPACITY, true, false, &timeout);
    assert_true(timeout >= 0 && timeout <= 10);
    fixture.backend.ops->poll_dispatch(fixture.backend.state, 0, fds, CAPACITY, &fixture.receive);
    for (unsigned i = 0; i < FORWARDS; i++)
        close(clients[i]);
    net_slirp_close(&fixture.backend);
}

/* Without guest buffers, host sockets are not read: the data waits in the kernel instead of being dropped. */
static void test_no_guest_buffers_withholds_pollin(void **state)
{
    (void)state;
    struct net_hostfwd forward = loopback_forward(free_loopback_port());
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = &forward, .hostfwd_count = 1 });
    const struct net_backend_ops *ops = fixture.backend.ops;
    struct pollfd fds[NET_BACKEND_MAX_POLL_FDS];
    for (int receive = 1; receive >= 0; receive--) {
        int timeout = -1;
        unsigned count = ops->poll_fill(fixture.backend.state, 0, fds, NET_BACKEND_MAX_POLL_FDS, receive, false,
                                        &timeout);
        assert_int_equal(count, 1); /* the forward's listening socket */
        assert_int_equal(!!(fds[0].events & POLLIN), receive);
        ops->poll_dispatch(fixture.backend.state, 0, fds, count, &fixture.receive);
    }
    net_slirp_close(&fixture.backend);
}

static void test_hostfwd_port_in_use(void **state)
{
    (void)state;
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(holder, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(listen(holder, 1), 0);
    socklen_t size = sizeof(address);
    assert_int_equal(getsockname(holder, (struct sockaddr *)&address, &size), 0);
    struct net_hostfwd forwards[2] = { loopback_forward(free_loopback_port()), loopback_forward(ntohs(address.sin_port)) };

    unsigned fds_before = open_fd_count();
    struct net_backend backend = { 0 };
    struct error error = { 0 };
    /* The first forward listens before the second fails: it must be closed again. */
    assert_int_equal(net_slirp_open(&backend, &(struct net_slirp_options){ .hostfwds = forwards, .hostfwd_count = 2 },
                                    &error),
                     -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    char expected[128];
    snprintf(expected, sizeof(expected), "--net user: hostfwd tcp:127.0.0.1:%u-10.0.2.15:%u: address already in use",
             forwards[1].host_port, GUEST_PORT);
    assert_string_equal(error.message, expected);
    assert_null(strchr(error.message, '\n'));
    assert_null(backend.state);
    assert_int_equal(open_fd_count(), fds_before);
    /* And the first forward's port is free again. */
    struct net_hostfwd first_only = forwards[0];
    assert_int_equal(net_slirp_open(&backend, &(struct net_slirp_options){ .hostfwds = &first_only, .hostfwd_count = 1 },
                                    &error),
                     0);
    net_slirp_close(&backend);
    close(holder);
}

static void test_bad_mtu_is_usage_error(void **state)
{
    (void)state;
    const uint32_t bad[] = { 67, 65522, UINT32_MAX };
    for (unsigned i = 0; i < 3; i++) {
        struct net_backend backend = { 0 };
        struct error error = { 0 };
        assert_int_equal(net_slirp_open(&backend, &(struct net_slirp_options){ .mtu = bad[i] }, &error), -1);
        assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        assert_non_null(strstr(error.message, "--net user: mtu"));
        assert_null(backend.state);
    }
}

static void test_refusing_sink_drops(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ 0 });
    fixture.sink.refuse = true;
    uint8_t frame[FRAME_MAX];
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    fixture_transmit(&fixture, frame, icmp_echo_build(frame, GUEST_MAC, BROADCAST_MAC, GUEST, GATEWAY, 0x4b53, 7));
    for (unsigned i = 0; i < 5; i++)
        fixture_poll_once(&fixture, 5);
    assert_int_equal(fixture.sink.count, 0);
    assert_int_equal(fixture.sink.committed, 0);
    struct net_slirp_counters counters = net_slirp_counters(&fixture.backend);
    assert_true(counters.dropped_to_guest >= 2);
    assert_int_equal(counters.frames_to_guest, 0);
    /* With buffers again, the link works: the drops left nothing half done. */
    fixture.sink.refuse = false;
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    assert_true(find_frame(&fixture, 0, is_arp_reply_from, &GATEWAY) >= 0);
    assert_int_equal(fixture.sink.acquired, fixture.sink.committed);
    net_slirp_close(&fixture.backend);
}

static void test_malformed_frames_dropped(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .mtu = 576 });
    static uint8_t big[FRAME_MAX];
    size_t length = arp_request_build(big, GUEST_MAC, GUEST, GATEWAY);
    fixture_transmit(&fixture, big, 13);            /* shorter than an Ethernet header */
    fixture_transmit(&fixture, big, 14 + 4 + 577); /* past the MTU (with a VLAN tag) */
    assert_int_equal(net_slirp_counters(&fixture.backend).dropped_from_guest, 2);
    /* Garbage of every length up to a little past the MTU: libslirp must reject it, not crash. */
    for (size_t size = 14; size <= 14 + 4 + 576; size += 37) {
        for (size_t i = 0; i < size; i++)
            big[i] = (uint8_t)(i * 131 + size);
        put16(big + 12, size & 1 ? ETHERTYPE_IPV4 : ETHERTYPE_ARP);
        fixture_transmit(&fixture, big, size);
    }
    fixture_poll_once(&fixture, 1);
    length = arp_request_build(big, GUEST_MAC, GUEST, GATEWAY);
    unsigned before = fixture.sink.count;
    fixture_transmit(&fixture, big, length);
    assert_true(find_frame(&fixture, before, is_arp_reply_from, &GATEWAY) >= 0);
    net_slirp_close(&fixture.backend);
}

/*
 * A lone IPv4 fragment with a nonzero offset faults libslirp 4.7.0 (SIGBUS in
 * ip_reass, found by fuzz_net_slirp): this is that frame, and the backend must
 * keep it from libslirp, like every guest fragment.
 */
static void test_ipv4_fragments_dropped(void **state)
{
    (void)state;
    static const uint8_t lone_last_fragment[] = {
        0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00, 0x45, 0x00,
        0x00, 0x2c, 0x00, 0x34, 0x12, 0x00, 0x40, 0x01, 0x50, 0x8d, 0x0a, 0x00, 0x02, 0x0f, 0x0a, 0x00,
        0x02, 0x02, 0x08, 0x00, 0xbe, 0x16, 0x4b, 0x53, 0x00, 0x01, 0x6b, 0x65, 0x73, 0x74, 0x72, 0x65,
        0x6c, 0x20, 0x70, 0x69, 0x6e, 0x67, 0x20, 0x31, 0x32, 0x33,
    };
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ 0 });
    fixture_transmit(&fixture, lone_last_fragment, sizeof(lone_last_fragment));
    /* A first fragment (MF set, offset 0) is kept out too: its datagram could never complete. */
    uint8_t frame[FRAME_MAX];
    size_t length = icmp_echo_build(frame, GUEST_MAC, BROADCAST_MAC, GUEST, GATEWAY, 0x4b53, 7);
    put16(frame + ETH_HEADER + 6, 0x2000);
    put16(frame + ETH_HEADER + 10, 0);
    put16(frame + ETH_HEADER + 10, internet_checksum(frame + ETH_HEADER, IPV4_HEADER));
    fixture_transmit(&fixture, frame, length);
    struct net_slirp_counters counters = net_slirp_counters(&fixture.backend);
    assert_int_equal(counters.dropped_from_guest, 2);
    assert_int_equal(counters.frames_from_guest, 0);
    /* DF alone is no fragment: the same ping with DF is answered. */
    fixture_transmit(&fixture, frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY));
    length = icmp_echo_build(frame, GUEST_MAC, BROADCAST_MAC, GUEST, GATEWAY, 0x4b53, 7);
    put16(frame + ETH_HEADER + 6, 0x4000);
    put16(frame + ETH_HEADER + 10, 0);
    put16(frame + ETH_HEADER + 10, internet_checksum(frame + ETH_HEADER, IPV4_HEADER));
    fixture_transmit(&fixture, frame, length);
    assert_true(drive_until(&fixture, is_echo_reply, NULL) >= 0);
    net_slirp_close(&fixture.backend);
}

static void test_ops_accept_one_pair_no_offloads(void **state)
{
    (void)state;
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ 0 });
    const struct net_backend_ops *ops = fixture.backend.ops;
    assert_string_equal(ops->name, "user");
    assert_int_equal(ops->set_offload(fixture.backend.state, 0), 0);
    assert_int_equal(ops->set_offload(fixture.backend.state, NET_OFFLOAD_CSUM), -EINVAL);
    assert_int_equal(ops->set_active_pairs(fixture.backend.state, 0), 0);
    assert_int_equal(ops->set_active_pairs(fixture.backend.state, 1), 0);
    assert_int_equal(ops->set_active_pairs(fixture.backend.state, 2), -EINVAL);
    /* With no connections and no timers, libslirp still bounds the wait (its TCP slow timer). */
    struct pollfd fds[NET_BACKEND_MAX_POLL_FDS];
    int timeout = -1;
    assert_int_equal(ops->poll_fill(fixture.backend.state, 0, fds, NET_BACKEND_MAX_POLL_FDS, true, false, &timeout), 0);
    assert_true(timeout >= 0 && timeout <= 1000);
    ops->poll_dispatch(fixture.backend.state, 0, fds, 0, &fixture.receive);
    /* Another pair does not exist: nothing to poll, and its frames are dropped. */
    timeout = -1;
    assert_int_equal(ops->poll_fill(fixture.backend.state, 1, fds, NET_BACKEND_MAX_POLL_FDS, true, false, &timeout), 0);
    uint8_t frame[FRAME_MAX];
    struct iovec segment = { frame, arp_request_build(frame, GUEST_MAC, GUEST, GATEWAY) };
    assert_int_equal(ops->transmit(fixture.backend.state, 1, &segment, 1, &fixture.receive), 0);
    assert_int_equal(fixture.sink.count, 0);
    assert_int_equal(net_slirp_counters(&fixture.backend).dropped_from_guest, 1);
    net_slirp_close(&fixture.backend);
}

static void test_open_close_no_fd_leak(void **state)
{
    (void)state;
    struct net_hostfwd forward = loopback_forward(free_loopback_port());
    unsigned fds_before = open_fd_count();
    for (unsigned i = 0; i < 100; i++) {
        struct fixture fixture;
        /* The same port each time: it must be released by close. */
        fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = &forward, .hostfwd_count = 1 });
        if (i % 10 == 0)
            fixture_poll_once(&fixture, 0);
        net_slirp_close(&fixture.backend);
    }
    assert_int_equal(open_fd_count(), fds_before);
}

/* A VM reset: the last boot's connection ends (its host socket closed), and the forward listens again. */
static void test_reset_ends_connections_and_forwards_again(void **state)
{
    (void)state;
    struct net_hostfwd forward = loopback_forward(free_loopback_port());
    struct fixture fixture;
    fixture_open(&fixture, &(struct net_slirp_options){ .hostfwds = &forward, .hostfwd_count = 1 });
    int client = connect_to_guest(&fixture, &forward);
    unsigned fds_connected = open_fd_count();

    struct error error = { 0 };
    assert_int_equal(net_slirp_reset(&fixture.backend, &error), 0);
    /* The accepted socket went with the old libslirp; the listening one was made again. */
    assert_int_equal(open_fd_count(), fds_connected - 1);
    struct pollfd hangup = { .fd = client, .events = POLLIN };
    assert_int_equal(poll(&hangup, 1, 2000), 1);
    char byte;
    assert_true(read(client, &byte, 1) <= 0); /* end of stream or a reset, never data */
    close(client);

    /* The new libslirp knows no guest yet: its ARP, then a new connection reaches the guest again. */
    fixture.sink.count = 0;
    close(connect_to_guest(&fixture, &forward));
    net_slirp_close(&fixture.backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dhcp_offer),
        cmocka_unit_test(test_arp_reply_for_gateway_and_dns),
        cmocka_unit_test(test_ping_gateway),
        cmocka_unit_test(test_hostfwd_connect_reaches_guest),
        cmocka_unit_test(test_hostfwd_to_unknown_guest_asks_arp),
        cmocka_unit_test(test_poll_overflow_still_served),
        cmocka_unit_test(test_no_guest_buffers_withholds_pollin),
        cmocka_unit_test(test_hostfwd_port_in_use),
        cmocka_unit_test(test_bad_mtu_is_usage_error),
        cmocka_unit_test(test_refusing_sink_drops),
        cmocka_unit_test(test_malformed_frames_dropped),
        cmocka_unit_test(test_ipv4_fragments_dropped),
        cmocka_unit_test(test_ops_accept_one_pair_no_offloads),
        cmocka_unit_test(test_open_close_no_fd_leak),
        cmocka_unit_test(test_reset_ends_connections_and_forwards_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
