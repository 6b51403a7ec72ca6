#ifndef KESTREL_BACKENDS_VHOST_NET_H
#define KESTREL_BACKENDS_VHOST_NET_H

/*
 * The control path of /dev/vhost-net: kestrel hands the kernel one queue pair
 * (RX ring 0, TX ring 1) and a tap queue fd, and the kernel's vhost worker
 * then moves the frames itself. The kick fds are the device's KVM ioeventfds
 * and the call fds its irqfds, so a frame crosses without kestrel running.
 *
 * One struct vhost_net per queue pair: the kernel's vhost-net device serves
 * exactly one RX/TX pair. The tap provides the 12-byte virtio-net header
 * (IFF_VNET_HDR with TUNSETVNETHDRSZ 12), so vhost passes the guest's header
 * through and VERSION_1 must be negotiated. Notes: docs/net-tap.md.
 */

#include <linux/vhost_types.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_memory.h"
#include "util/error.h"

enum {
    VHOST_NET_RX = 0,
    VHOST_NET_TX = 1,
    VHOST_NET_RING_COUNT = 2,
    VHOST_NET_MAX_RING_SIZE = 32768,
};

struct vhost_net {
    int fd;
    uint64_t features;  /* VHOST_GET_FEATURES: what this kernel's vhost-net handles */
    bool started;
    /* After vhost_net_stop: where the kernel stopped in each avail ring (VHOST_GET_VRING_BASE). */
    uint16_t stopped_next_avail[VHOST_NET_RING_COUNT];
};

/* One split ring as vhost sees it; *_user are host virtual addresses inside guest RAM. */
struct vhost_net_ring {
    uint16_t size;       /* a power of two, 1 .. 32768 */
    uint16_t next_avail; /* the avail index to start from (0 on a fresh ring) */
    uint64_t desc_user, avail_user, used_user;
    int kick_fd; /* the queue's ioeventfd */
    int call_fd; /* its MSI-X vector's irqfd eventfd */
};

/*
 * Opens /dev/vhost-net, VHOST_SET_OWNER, VHOST_GET_FEATURES and
 * VHOST_SET_MEM_TABLE from `memory`. Failure: one line, EXIT_STATUS_USAGE
 * (the caller decides between falling back to the tap in user space and
 * failing on vhost=on), nothing left open.
 */
int vhost_net_open(struct vhost_net *vhost, const struct guest_memory *memory, struct error *error);

/*
 * The virtio feature bits a device may offer on top of vhost: `device_features`
 * with the ring and transport bits (24..41) and MRG_RXBUF that this kernel's
 * vhost-net does not handle masked off (the packed ring, typically).
 * Device-specific bits (offloads, MAC, MQ, CTRL_VQ) are the device's and the tap's.
 */
uint64_t vhost_net_offer_features(const struct vhost_net *vhost, uint64_t device_features);
/* The part of the driver's `negotiated` features that VHOST_SET_FEATURES takes. */
uint64_t vhost_net_ack_features(uint64_t kernel_features, uint64_t negotiated);

/*
 * VHOST_SET_FEATURES, per ring VHOST_SET_VRING_NUM/BASE/ADDR/KICK/CALL, then
 * VHOST_NET_SET_BACKEND with `tap_fd` on both rings: from then on the kernel
 * reads and writes the rings. Needs VIRTIO_F_VERSION_1 in `features` (the
 * header is then the tap's 12 bytes). On failure nothing was started.
 */
int vhost_net_start(struct vhost_net *vhost, uint64_t features, const struct vhost_net_ring rings[VHOST_NET_RING_COUNT],
                    int tap_fd, struct error *error);

/*
 * VHOST_NET_SET_BACKEND -1 on both rings (the kernel flushes its worker, so
 * once this returns it no longer touches guest memory for this pair), then
 * VHOST_GET_VRING_BASE into stopped_next_avail, and unbinds the kick and call
 * fds so the kernel holds none of the device's eventfds. A later
 * vhost_net_start (a new driver) starts again. No-op when not started.
 */
void vhost_net_stop(struct vhost_net *vhost);
void vhost_net_close(struct vhost_net *vhost);

/* Pure helpers for the ioctls' arguments (unit-tested). */
/* The memory table for `memory`: one region per RAM region; returns the count (at most `capacity`). */
unsigned vhost_net_memory_regions(const struct guest_memory *memory, struct vhost_memory_region *regions,
                                  unsigned capacity);
/* 0 when vhost would take the ring (size, alignments, fds), else -1 with a one-line reason. */
int vhost_net_ring_check(const struct vhost_net_ring *ring, unsigned index, struct error *error);
struct vhost_vring_addr vhost_net_ring_addr(const struct vhost_net_ring *ring, unsigned index);

#endif
