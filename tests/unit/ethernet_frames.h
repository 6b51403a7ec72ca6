#ifndef KESTREL_TESTS_ETHERNET_FRAMES_H
#define KESTREL_TESTS_ETHERNET_FRAMES_H

/*
 * Builds and reads the few IPv4 frames a network test needs (ARP, ICMP echo,
 * DHCP over UDP, a TCP header), byte by byte in network order, so that a test
 * plays the guest's side of a link without a guest.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
    ETH_HEADER = 14,
    IPV4_HEADER = 20,
    UDP_HEADER = 8,
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_ARP = 0x0806,
    IP_PROTOCOL_ICMP = 1,
    IP_PROTOCOL_TCP = 6,
    IP_PROTOCOL_UDP = 17,
    BOOTP_FIXED = 236, /* op .. file */
    BOOTP_VENDOR = 312,
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    FRAME_MAX = 2048,
};

#define IPV4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static inline void put16(uint8_t *at, uint16_t value)
{
    at[0] = (uint8_t)(value >> 8);
    at[1] = (uint8_t)value;
}

static inline void put32(uint8_t *at, uint32_t value)
{
    put16(at, (uint16_t)(value >> 16));
    put16(at + 2, (uint16_t)value);
}

static inline uint16_t get16(const uint8_t *at)
{
    return (uint16_t)(at[0] << 8 | at[1]);
}

static inline uint32_t get32(const uint8_t *at)
{
    return (uint32_t)get16(at) << 16 | get16(at + 2);
}

static inline uint16_t internet_checksum(const uint8_t *data, size_t length)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += get16(data + i);
    if (length & 1)
        sum += (uint32_t)data[length - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static inline size_t ethernet_put(uint8_t *frame, const uint8_t destination[6], const uint8_t source[6],
                                  uint16_t type)
{
    memcpy(frame, destination, 6);
    memcpy(frame + 6, source, 6);
    put16(frame + 12, type);
    return ETH_HEADER;
}

/* An IPv4 header with its checksum at `at`; returns its size. */
static inline size_t ipv4_put(uint8_t *at, uint8_t protocol, uint32_t source, uint32_t destination,
                              size_t payload)
{
    memset(at, 0, IPV4_HEADER);
    at[0] = 0x45;
    put16(at + 2, (uint16_t)(IPV4_HEADER + payload));
    put16(at + 4, 0x1234);
    at[8] = 64;
    at[9] = protocol;
    put32(at + 12, source);
    put32(at + 16, destination);
    put16(at + 10, internet_checksum(at, IPV4_HEADER));
    return IPV4_HEADER;
}

static const uint8_t BROADCAST_MAC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static inline size_t arp_request_build(uint8_t *frame, const uint8_t mac[6], uint32_t sender, uint32_t target)
{
    size_t at = ethernet_put(frame, BROADCAST_MAC, mac, ETHERTYPE_ARP);
    uint8_t *arp = frame + at;
    memset(arp, 0, 28);
    put16(arp, 1);
    put16(arp + 2, ETHERTYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    put16(arp + 6, 1);
    memcpy(arp + 8, mac, 6);
    put32(arp + 14, sender);
    put32(arp + 24, target);
    return at + 28;
}

static inline size_t icmp_echo_build(uint8_t *frame, const uint8_t mac[6], const uint8_t gateway_mac[6],
                                     uint32_t source, uint32_t destination, uint16_t id, uint16_t sequence)
{
    enum { ECHO_BYTES = 8 + 16 };
    size_t at = ethernet_put(frame, gateway_mac, mac, ETHERTYPE_IPV4);
    at += ipv4_put(frame + at, IP_PROTOCOL_ICMP, source, destination, ECHO_BYTES);
    uint8_t *icmp = frame + at;
    memset(icmp, 0, ECHO_BYTES);
    icmp[0] = 8;
    put16(icmp + 4, id);
    put16(icmp + 6, sequence);
    memcpy(icmp + 8, "kestrel ping 123", 16);
    put16(icmp + 2, internet_checksum(icmp, ECHO_BYTES));
    return at + ECHO_BYTES;
}

static inline size_t dhcp_discover_build(uint8_t *frame, const uint8_t mac[6], uint32_t transaction)
{
    enum { BOOTP_BYTES = BOOTP_FIXED + BOOTP_VENDOR };
    size_t at = ethernet_put(frame, BROADCAST_MAC, mac, ETHERTYPE_IPV4);
    at += ipv4_put(frame + at, IP_PROTOCOL_UDP, 0, IPV4(255, 255, 255, 255), UDP_HEADER + BOOTP_BYTES);
    uint8_t *udp = frame + at;
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, UDP_HEADER + BOOTP_BYTES);
    put16(udp + 6, 0); /* no checksum: allowed for UDP over IPv4 */
    uint8_t *bootp = udp + UDP_HEADER;
    memset(bootp, 0, BOOTP_BYTES);
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    put32(bootp + 4, transaction);
    memcpy(bootp + 28, mac, 6);
    uint8_t *vendor = bootp + BOOTP_FIXED;
    put32(vendor, 0x63825363);
    vendor[4] = 53;
    vendor[5] = 1;
    vendor[6] = DHCP_DISCOVER;
    vendor[7] = 255;
    return at + UDP_HEADER + BOOTP_BYTES;
}

/* The IPv4 payload of `frame` when it carries `protocol`, else NULL; *payload_length is set. */
static inline const uint8_t *ipv4_payload(const uint8_t *frame, size_t length, uint8_t protocol,
                                          size_t *payload_length)
{
    if (length < ETH_HEADER + IPV4_HEADER || get16(frame + 12) != ETHERTYPE_IPV4)
        return NULL;
    const uint8_t *ip = frame + ETH_HEADER;
    size_t header = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = get16(ip + 2);
    if (ip[9] != protocol || header < IPV4_HEADER || total < header || ETH_HEADER + total > length)
        return NULL;
    *payload_length = total - header;
    return ip + header;
}

/* Walks DHCP options (after the magic cookie) for `code`; NULL when absent. */
static inline const uint8_t *dhcp_option(const uint8_t *bootp, size_t bootp_length, uint8_t code,
                                         uint8_t *option_length)
{
    if (bootp_length < BOOTP_FIXED + 4 || get32(bootp + BOOTP_FIXED) != 0x63825363)
        return NULL;
    size_t at = BOOTP_FIXED + 4;
    while (at < bootp_length && bootp[at] != 255) {
        if (bootp[at] == 0) {
            at++;
            continue;
        }
        if (at + 2 > bootp_length || at + 2 + bootp[at + 1] > bootp_length)
            return NULL;
        if (bootp[at] == code) {
            *option_length = bootp[at + 1];
            return bootp + at + 2;
        }
        at += 2 + (size_t)bootp[at + 1];
    }
    return NULL;
}

#endif
