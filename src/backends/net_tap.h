#ifndef KESTREL_BACKENDS_NET_TAP_H
#define KESTREL_BACKENDS_NET_TAP_H

/*
 * The tap backend (--net tap): one /dev/net/tun queue fd per queue pair, with
 * IFF_VNET_HDR and a 12-byte header, so frames cross as the guest wrote them
 * (header included) and the kernel does checksum and segmentation work the
 * guest offloaded. Receiving reads straight into the guest's buffers (readv),
 * transmitting writes the guest's segments (writev): no copy in kestrel.
 *
 * A tap kestrel creates is not persistent: it disappears when the last queue
 * fd closes, on any exit. A tap that already exists (made persistent with
 * `ip tuntap add`) is attached to and left in place. Notes: docs/net-tap.md.
 */

#include <stdbool.h>
#include <stdint.h>

#include "backends/net_backend.h"
#include "util/error.h"

enum {
    NET_TAP_MAX_PAIRS = 256, /* the kernel's MAX_TAP_QUEUES */
    NET_TAP_NAME_MAX = 15,   /* IFNAMSIZ - 1 */
    /* The largest frame a tap hands over with TSO on: 64 KiB of GSO payload and headers, plus the virtio-net header. */
    NET_TAP_RECEIVE_FRAME_BYTES = 65536 + NET_BACKEND_HEADER_SIZE,
    /* Frames read per poll_dispatch, so one busy pair cannot keep its thread from its kicks for long. */
    NET_TAP_RECEIVE_BATCH = 64,
};

struct net_tap_options {
    const char *ifname;  /* NULL: the kernel picks tapN */
    unsigned pair_count; /* 1 .. NET_TAP_MAX_PAIRS; more than 1 needs (or makes) a multi_queue tap */
};

/*
 * Creates the tap or attaches to an existing one, one queue per pair, and
 * fills `backend` (ops, state, pair_count, offloads, tap_fds). Every failure
 * is one line with EXIT_STATUS_USAGE except host faults after the tap is
 * usable (EXIT_STATUS_FAILURE), and leaves nothing behind.
 */
int net_tap_open(struct net_backend *backend, const struct net_tap_options *options, struct error *error);
void net_tap_close(struct net_backend *backend);

/* The interface name (the kernel's choice when none was given), for log lines and tests. */
const char *net_tap_name(const struct net_backend *backend);
/* True when kestrel created the interface (and brought it up), false when it attached to an existing one. */
bool net_tap_created(const struct net_backend *backend);
/* Frames dropped on transmit (the kernel refused them) and receive errors, over all pairs. */
uint64_t net_tap_dropped_transmits(const struct net_backend *backend);
uint64_t net_tap_receive_errors(const struct net_backend *backend);

#endif
