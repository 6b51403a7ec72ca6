#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_virtio_net_header, fuzz_virtio_net_control and fuzz_virtio_net_receive.

Formats: see the comments at the top of tests/fuzz/fuzz_virtio_net_{header,control,receive}.c.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
F_CSUM, F_GUEST_CSUM, F_CTRL_RX, F_MQ = 0, 1, 18, 22
F_HOST_TSO4, F_HOST_TSO6, F_HOST_ECN, F_HOST_UFO = 11, 12, 13, 14
NEEDS_CSUM, DATA_VALID = 1, 2
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_ECN = 0, 1, 3, 4, 0x80
ALL = sum(1 << b for b in (F_CSUM, F_HOST_TSO4, F_HOST_TSO6, F_HOST_ECN, F_HOST_UFO))


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)


def header(flags=0, gso=GSO_NONE, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHHH", flags, gso, hdr_len, gso_size, csum_start, csum_offset, 0)


def header_input(features, frame, cuts, head):
    data = struct.pack("<Q", features) + struct.pack("<I", frame)[:3] + bytes([len(cuts) - 1]) + bytes(cuts)
    return data + head


def control_command(flags, max_pairs, pieces, destination, command):
    data = bytes([flags, max_pairs - 1, len(pieces) - 1])
    data += b"".join(struct.pack("<H", p) for p in pieces) + bytes(destination)
    return data + command


def mac_table(unicast, multicast):
    out = bytes([1, 0])
    for table in (unicast, multicast):
        out += struct.pack("<I", len(table)) + b"".join(bytes(a) for a in table)
    return out


def main():
    tso4 = header(NEEDS_CSUM, GSO_TCPV4, 66, 1448, 34, 16)
    write("fuzz_virtio_net_header", "plain", header_input(0, 60, [12], header()))
    write("fuzz_virtio_net_header", "csum", header_input(1 << F_CSUM, 100, [12], header(NEEDS_CSUM, 0, 0, 0, 34, 16)))
    write("fuzz_virtio_net_header", "csum_edge", header_input(1 << F_CSUM, 52, [12], header(NEEDS_CSUM, 0, 0, 0, 34, 16)))
    write("fuzz_virtio_net_header", "tso4_split", header_input(ALL, 1514, [1, 4, 7], tso4))
    write("fuzz_virtio_net_header", "tso6_ecn", header_input(ALL, 9000, [6, 6],
                                                             header(NEEDS_CSUM, GSO_TCPV6 | GSO_ECN, 74, 1428, 54, 16)))
    write("fuzz_virtio_net_header", "ufo", header_input(ALL, 4000, [12], header(NEEDS_CSUM, GSO_UDP, 42, 1472, 34, 6)))
    write("fuzz_virtio_net_header", "short", header_input(0, 60, [5, 3], header()[:8]))
    write("fuzz_virtio_net_header", "data_valid", header_input(ALL, 60, [12], header(DATA_VALID)))
    write("fuzz_virtio_net_header", "huge_frame", header_input(ALL, 0xffffff, [12], tso4))

    rx = 1 | (1 << 2)
    own = [0x52, 0x54, 0, 0x12, 0x34, 0x56]
    other = [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]
    multicast = [0x01, 0x00, 0x5e, 0, 0, 0xfb]
    write("fuzz_virtio_net_control", "promisc_off",
          control_command(rx, 1, [2, 1], other, bytes([0, 0, 0])))
    write("fuzz_virtio_net_control", "allmulti_then_table",
          control_command(rx, 1, [3], multicast, bytes([0, 1, 1]))
          + control_command(rx, 1, [2, 18], other, mac_table([other], [multicast])))
    write("fuzz_virtio_net_control", "table_overflow",
          control_command(rx, 1, [2, 4 + 65 * 6 + 4], other,
                          mac_table([[2, 0, 0, 0, 0, i] for i in range(65)], [])))
    write("fuzz_virtio_net_control", "pairs",
          control_command(3 | (1 << 2), 4, [2, 2], own, bytes([4, 0, 3, 0])))
    write("fuzz_virtio_net_control", "pairs_beyond",
          control_command(3 | (1 << 2), 2, [1, 1, 2], own, bytes([4, 0, 9, 0])))
    write("fuzz_virtio_net_control", "no_ack",
          control_command(1, 1, [3], other, bytes([0, 0, 0])))
    write("fuzz_virtio_net_control", "split_bytes",
          control_command(rx, 1, [1] * 8, other, mac_table([other], [])[:8]))


    # fuzz_virtio_net_receive: flags, then (kind % 3, a, b) triples: 0 post, 1 send, 2 reap.
    post_1500 = bytes([0, 0, 115])       # one segment of 1 + (115 * 13) % 2048 = 1496 bytes
    post_tiny = bytes([0, 3, 8])         # a tiny buffer (b & 7 == 0)
    small_to_own = bytes([1, 0, 4 * 60])  # 60 bytes... length ((a << 6) | b >> 2) % 9100, b & 3 == 0: own address
    jumbo_to_own = bytes([1, 140, 0])    # (140 << 6) % 9100 = 8960 bytes
    to_other = bytes([1, 1, 2])           # 64 bytes to another unicast address
    reap = bytes([2, 0, 0])
    for flags, name in ((0, "split_user"), (1, "packed_user"), (4, "split_tap"), (6, "split_mrg_tap"),
                        (7, "packed_mrg_tap"), (2, "split_mrg_user"), (8 | 2, "split_mrg_user_data_valid"),
                        (16 | 6, "split_mrg_tap_filtered")):
        ops = post_1500 * 8 + small_to_own + jumbo_to_own + small_to_own + to_other + reap
        write("fuzz_virtio_net_receive", name, bytes([flags]) + ops)
    write("fuzz_virtio_net_receive", "tiny_first", bytes([4]) + post_tiny + post_1500 * 2 + small_to_own + reap)
    write("fuzz_virtio_net_receive", "starved", bytes([6]) + small_to_own + post_1500 + small_to_own + reap)


if __name__ == "__main__":
    main()
