#ifndef KESTREL_DEVICES_VIRTIO_NET_VHOST_H
#define KESTREL_DEVICES_VIRTIO_NET_VHOST_H

/*
 * virtio-net's data queues handed to vhost-net (backends/vhost_net.h), one
 * kernel vhost device per queue pair on that pair's tap queue. At DRIVER_OK
 * each enabled pair's rings go to the kernel with the transport's kick
 * eventfds (KVM's ioeventfds) and its MSI-X vectors' irqfds as call fds, so a
 * frame crosses without a kestrel thread running; at a reset the kernel lets
 * go of the rings before the transport resets them, and a new driver starts
 * it again.
 */

#include <stdbool.h>
#include <stdint.h>

#include "backends/vhost_net.h"
#include "mem/guest_memory.h"
#include "util/error.h"
#include "virtio/virtio_pci.h"

struct virtio_net_vhost {
    unsigned pair_count;
    struct vhost_net *pairs;
    const int *tap_fds; /* one per pair (the tap backend's) */
};

/*
 * Opens one vhost-net device per pair over `memory`. Fails with one line
 * (EXIT_STATUS_USAGE) when /dev/vhost-net cannot be used; nothing stays open.
 */
int virtio_net_vhost_open(struct virtio_net_vhost *vhost, unsigned pair_count, const int *tap_fds,
                          const struct guest_memory *memory, struct error *error);
void virtio_net_vhost_close(struct virtio_net_vhost *vhost);

/* The device's offer with what vhost-net cannot do removed (the packed ring, on today's kernels). */
uint64_t virtio_net_vhost_offer(const struct virtio_net_vhost *vhost, uint64_t device_features);

/* Starts the pairs [0, pairs) whose queues are enabled; on failure none runs. */
int virtio_net_vhost_start(struct virtio_net_vhost *vhost, struct virtio_pci *transport, uint64_t features,
                           unsigned pairs, struct error *error);
/* Stops every started pair: the kernel no longer touches guest memory afterwards. */
void virtio_net_vhost_stop(struct virtio_net_vhost *vhost);

#endif
