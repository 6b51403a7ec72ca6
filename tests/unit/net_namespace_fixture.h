#ifndef KESTREL_TESTS_UNIT_NET_NAMESPACE_FIXTURE_H
#define KESTREL_TESTS_UNIT_NET_NAMESPACE_FIXTURE_H

/*
 * What the tap and vhost-net tests share: a fresh network namespace per test
 * (so a tap that outlives a failed test cannot leak into the host or the next
 * test), the skip rule, links, addresses, and AF_PACKET sockets on a link.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* True when the tests cannot run here; then it has printed one TAP skip line with its category. */
static inline bool net_namespace_unavailable(const char *what)
{
    if (geteuid() != 0) {
        printf("ok - %s # SKIP not-root: network namespaces and taps need root\n", what);
        return true;
    }
    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        printf("ok - %s # SKIP no-tun: /dev/net/tun: %s\n", what, strerror(errno));
        return true;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        printf("ok - %s # SKIP no-net-namespace: unshare(CLONE_NEWNET): %s\n", what, strerror(errno));
        return true;
    }
    return false;
}

static inline int net_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t written = write(fd, text, strlen(text));
    close(fd);
    return written == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * cmocka setup: each test starts in a namespace of its own, holding only `lo`,
 * with IPv6 off for links made later: their router solicitations and MLD
 * reports would otherwise arrive among a test's frames.
 */
static inline int net_namespace_enter(void **state)
{
    (void)state;
    if (unshare(CLONE_NEWNET) != 0)
        return -1;
    (void)net_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"); /* absent without IPv6: fine */
    return 0;
}

static inline unsigned net_namespace_link_count(void)
{
    struct if_nameindex *links = if_nameindex();
    unsigned count = 0;
    for (struct if_nameindex *link = links; link && link->if_index; link++)
        count++;
    if_freenameindex(links);
    return count;
}

static inline int net_link_ioctl(unsigned long request, struct ifreq *ifr)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    int status = ioctl(sock, request, ifr);
    close(sock);
    return status;
}

static inline short net_link_flags(const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    return net_link_ioctl(SIOCGIFFLAGS, &ifr) == 0 ? ifr.ifr_flags : 0;
}

static inline int net_link_set_up(const char *name)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (net_link_ioctl(SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return net_link_ioctl(SIOCSIFFLAGS, &ifr);
}

static inline int net_link_mac(const char *name, uint8_t mac[6])
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (net_link_ioctl(SIOCGIFHWADDR, &ifr) < 0)
        return -1;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

/* An IPv4 address with a /24 on the link (the connected route comes with it). */
static inline int net_link_add_address(const char *name, const char *address)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    struct sockaddr_in *in = (struct sockaddr_in *)&ifr.ifr_addr;
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, address, &in->sin_addr) != 1 || net_link_ioctl(SIOCSIFADDR, &ifr) < 0)
        return -1;
    inet_pton(AF_INET, "255.255.255.0", &in->sin_addr);
    return net_link_ioctl(SIOCSIFNETMASK, &ifr);
}

/* A permanent neighbour entry, so the kernel sends to `address` without asking ARP. */
static inline int net_link_add_neighbour(const char *name, const char *address, const uint8_t mac[6])
{
    struct arpreq request = { 0 };
    struct sockaddr_in *in = (struct sockaddr_in *)&request.arp_pa;
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, address, &in->sin_addr) != 1)
        return -1;
    request.arp_ha.sa_family = ARPHRD_ETHER;
    memcpy(request.arp_ha.sa_data, mac, 6);
    request.arp_flags = ATF_COM | ATF_PERM;
    snprintf(request.arp_dev, sizeof(request.arp_dev), "%s", name);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    int status = ioctl(sock, SIOCSARP, &request);
    close(sock);
    return status;
}

/* An AF_PACKET socket on the link: what it reads the link received (our transmits), what it sends the link sends (our receives). */
static inline int net_packet_socket(const char *name)
{
    int sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (sock < 0)
        return -1;
    struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                                   .sll_ifindex = (int)if_nametoindex(name) };
    if (bind(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
        close(sock);
        return -1;
    }
    return sock;
}

/*
 * The next frame on `sock` whose EtherType is `ethertype`, skipping the
 * kernel's own chatter (IPv6 router solicitations and the like); -1 after
 * `timeout_ms` without one.
 */
static inline ssize_t net_packet_receive(int sock, uint16_t ethertype, uint8_t *frame, size_t capacity,
                                         int timeout_ms)
{
    for (int round = 0; round < 64; round++) {
        struct pollfd wait = { .fd = sock, .events = POLLIN };
        if (poll(&wait, 1, timeout_ms) <= 0)
            return -1;
        ssize_t bytes = recv(sock, frame, capacity, 0);
        if (bytes >= 14 && ((frame[12] << 8) | frame[13]) == ethertype)
            return bytes;
    }
    return -1;
}

static inline int net_packet_send(int sock, const void *frame, size_t length)
{
    return send(sock, frame, length, 0) == (ssize_t)length ? 0 : -1;
}

#endif
