#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_net_slirp (run from the repository root).

Each seed is a flags byte, then frames as (16-bit little-endian length, bytes):
what a guest on --net user sends first (ARP for the gateway, DHCP discover and
request, a ping, a DNS query, a TCP SYN), plus an IPv4 fragment pair and an
oversized frame, so the fuzzer starts inside libslirp's parsers.
"""
import os
import struct

GUEST_MAC = bytes.fromhex('525400123456')
GATEWAY_MAC = bytes.fromhex('5255 0a00 0202'.replace(' ', ''))
BROADCAST = b'\xff' * 6
GUEST, GATEWAY, DNS = (10, 0, 2, 15), (10, 0, 2, 2), (10, 0, 2, 3)


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def ethernet(destination, ethertype, payload):
    return destination + GUEST_MAC + struct.pack('!H', ethertype) + payload


def ipv4(protocol, source, destination, payload, fragment=0):
    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0x1234, fragment, 64, protocol, 0,
                         bytes(source), bytes(destination))
    header = header[:10] + struct.pack('!H', checksum(header)) + header[12:]
    return ethernet(GATEWAY_MAC if destination != (255, 255, 255, 255) else BROADCAST, 0x0800, header + payload)


def udp(source_port, destination_port, payload):
    return struct.pack('!HHHH', source_port, destination_port, 8 + len(payload), 0) + payload


def arp_request(target):
    return ethernet(BROADCAST, 0x0806, struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, GUEST_MAC, bytes(GUEST),
                                                    b'\0' * 6, bytes(target)))


def dhcp(message_type, extra=b''):
    fixed = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, 0x6b657374, 0, 0x8000, b'\0' * 4, b'\0' * 4,
                        b'\0' * 4, b'\0' * 4, GUEST_MAC, b'', b'')
    options = struct.pack('!I', 0x63825363) + bytes([53, 1, message_type]) + extra + b'\xff'
    return ipv4(17, (0, 0, 0, 0), (255, 255, 255, 255), udp(68, 67, fixed + options.ljust(312, b'\0')))


def ping(destination):
    body = struct.pack('!BBHHH', 8, 0, 0, 0x4b53, 1) + b'kestrel ping 123'
    body = body[:2] + struct.pack('!H', checksum(body)) + body[4:]
    return ipv4(1, GUEST, destination, body)


def dns_query():
    question = b'\x07example\x03com\x00' + struct.pack('!HH', 1, 1)
    return ipv4(17, GUEST, DNS, udp(40000, 53, struct.pack('!HHHHHH', 0x1111, 0x0100, 1, 0, 0, 0) + question))


def tcp_syn(destination, port):
    header = struct.pack('!HHIIBBHHH', 40000, port, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = bytes(GUEST) + bytes(destination) + struct.pack('!BBH', 0, 6, len(header))
    header = header[:16] + struct.pack('!H', checksum(pseudo + header)) + header[18:]
    return ipv4(6, GUEST, destination, header)


def fragments():
    body = struct.pack('!BBHHH', 8, 0, 0, 0x4b53, 2) + bytes(range(64))
    body = body[:2] + struct.pack('!H', checksum(body)) + body[4:]
    return [ipv4(1, GUEST, GATEWAY, body[:40], fragment=0x2000), ipv4(1, GUEST, GATEWAY, body[40:], fragment=5)]


def ping_fragment_last():
    return ipv4(1, GUEST, GATEWAY, bytes.fromhex('0800be164b5300016b65737472656c2070696e6720313233'), fragment=0x1200)


def seed(flags, frames):
    return bytes([flags]) + b''.join(struct.pack('<H', len(frame)) + frame for frame in frames)


SEEDS = {
    'arp_gateway': seed(2, [arp_request(GATEWAY), arp_request(DNS)]),
    'dhcp_discover_request': seed(2, [dhcp(1), dhcp(3, bytes([50, 4]) + bytes(GUEST) + bytes([54, 4]) + bytes(GATEWAY))]),
    'ping_gateway': seed(0, [arp_request(GATEWAY), ping(GATEWAY), ping(DNS)]),
    'dns_query': seed(2, [arp_request(GATEWAY), dns_query()]),
    'tcp_syn': seed(0, [arp_request(GATEWAY), tcp_syn(GATEWAY, 22)]),
    'fragments': seed(2, [arp_request(GATEWAY)] + fragments()),
    'no_guest_buffers': seed(1, [arp_request(GATEWAY), ping(GATEWAY)]),
    # The frame that faulted libslirp 4.7.0 before the backend dropped guest fragments.
    'lone_last_fragment': seed(2, [ping_fragment_last()]),
    'oversized': seed(2, [ethernet(GATEWAY_MAC, 0x0800, b'\x45' + b'\0' * 1600)]),
}

directory = 'tests/fuzz/corpus/fuzz_net_slirp'
os.makedirs(directory, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(directory, name), 'wb') as output:
        output.write(data)
