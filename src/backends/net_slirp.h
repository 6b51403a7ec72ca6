#ifndef KESTREL_BACKENDS_NET_SLIRP_H
#define KESTREL_BACKENDS_NET_SLIRP_H

/*
 * --net user: a user-mode network on libslirp (QEMU's TCP/IP stack). The
 * guest sees 10.0.2.0/24: gateway 10.0.2.2 (also the host's loopback),
 * DNS forwarder 10.0.2.3, DHCP from 10.0.2.15; no IPv6. Its connections
 * become ordinary host sockets, so no root and no tap device are needed.
 *
 * One queue pair, bare Ethernet frames (header_size 0), no offloads. All of
 * libslirp, its timers included, runs on the device's pair thread through
 * poll_fill / poll_dispatch / transmit; libslirp writes each frame for the
 * guest into the sink of the call in progress (see docs/net-user.md).
 * poll_dispatch must follow every poll, timeouts included: libslirp's TCP
 * timers run there. Guest IPv4 fragments are dropped before libslirp, whose
 * 4.7.0 faults on some (docs/net-user.md).
 */

#include <stdint.h>

#include "backends/net_backend.h"
#include "util/error.h"

enum {
    NET_SLIRP_MTU_DEFAULT = 1500,
    NET_SLIRP_MTU_MIN = 68,    /* IPv4's minimum */
    NET_SLIRP_MTU_MAX = 65521, /* libslirp's IF_MTU_MAX */
};

struct net_slirp_options {
    const struct net_hostfwd *hostfwds;
    unsigned hostfwd_count;
    uint32_t mtu; /* MTU and MRU of the guest link; 0: NET_SLIRP_MTU_DEFAULT */
};

/* What happened to frames, for tests and diagnostics; read on the pair thread or after it stopped. */
struct net_slirp_counters {
    uint64_t frames_to_guest;
    uint64_t frames_from_guest;
    uint64_t dropped_to_guest;   /* no guest buffers (TCP retransmits), or a frame that did not fit them */
    /* shorter than an Ethernet header, longer than the MTU allows, or an IPv4 fragment (see net_slirp.c) */
    uint64_t dropped_from_guest;
    uint64_t poll_overflows;     /* rounds where libslirp had more sockets than the device's poll array */
};

/*
 * Fills `backend` on success. A hostfwd that cannot listen (port in use,
 * address not local) or an MTU outside NET_SLIRP_MTU_MIN..MAX is a usage
 * error; nothing stays open after a failure.
 */
int net_slirp_open(struct net_backend *backend, const struct net_slirp_options *options, struct error *error);
void net_slirp_close(struct net_backend *backend);
/*
 * A VM reset, with no thread using the backend: libslirp is made afresh, so the last boot's connections (their
 * host sockets and buffers) end now rather than when libslirp's timers would have dropped them, and the next
 * boot starts from a fresh DHCP lease, as after net_slirp_open. The forwards are bound again; a failure (a
 * port taken meanwhile) leaves the backend without libslirp, and -1 with `error` set.
 */
int net_slirp_reset(struct net_backend *backend, struct error *error);

struct net_slirp_counters net_slirp_counters(const struct net_backend *backend);

#endif
