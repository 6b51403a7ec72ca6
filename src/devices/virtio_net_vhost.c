#include "devices/virtio_net_vhost.h"

#include <stdlib.h>
#include <string.h>

int virtio_net_vhost_open(struct virtio_net_vhost *vhost, unsigned pair_count, const int *tap_fds,
                          const struct guest_memory *memory, struct error *error)
{
    memset(vhost, 0, sizeof(*vhost));
    vhost->pairs = calloc(pair_count, sizeof(*vhost->pairs));
    if (!vhost->pairs)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: out of memory");
    vhost->tap_fds = tap_fds;
    for (unsigned i = 0; i < pair_count; i++) {
        if (vhost_net_open(&vhost->pairs[i], memory, error) < 0) {
            virtio_net_vhost_close(vhost);
            return -1;
        }
        vhost->pair_count = i + 1;
    }
    return 0;
}

void virtio_net_vhost_close(struct virtio_net_vhost *vhost)
{
    for (unsigned i = 0; i < vhost->pair_count; i++)
        vhost_net_close(&vhost->pairs[i]);
    free(vhost->pairs);
    vhost->pairs = NULL;
    vhost->pair_count = 0;
}

uint64_t virtio_net_vhost_offer(const struct virtio_net_vhost *vhost, uint64_t device_features)
{
    /* Every pair's kernel device is the same kernel: the first speaks for all. */
    return vhost->pair_count ? vhost_net_offer_features(&vhost->pairs[0], device_features) : device_features;
}

static int ring_of(struct virtio_pci *transport, uint16_t queue, struct vhost_net_ring *ring, struct error *error)
{
    const struct virtq *virtqueue = &transport->queues[queue];
    if (!virtq_is_enabled(virtqueue) || virtqueue->config.layout != VIRTQ_LAYOUT_SPLIT)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: queue %u is not an enabled split ring", queue);
    int call_fd = virtio_pci_queue_call_fd(transport, queue);
    if (call_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: queue %u has no MSI-X vector", queue);
    /* The transport checked the three areas against guest RAM when the driver enabled the queue. */
    *ring = (struct vhost_net_ring){
        .size = virtq_size(virtqueue),
        .next_avail = 0,
        .desc_user = (uint64_t)(uintptr_t)virtqueue->split.descriptors,
        .avail_user = (uint64_t)(uintptr_t)virtqueue->split.avail,
        .used_user = (uint64_t)(uintptr_t)virtqueue->split.used,
        .kick_fd = virtio_pci_queue_kick_fd(transport, queue),
        .call_fd = call_fd,
    };
    return 0;
}

int virtio_net_vhost_start(struct virtio_net_vhost *vhost, struct virtio_pci *transport, uint64_t features,
                           unsigned pairs, struct error *error)
{
    for (unsigned i = 0; i < pairs && i < vhost->pair_count; i++) {
        struct vhost_net_ring rings[VHOST_NET_RING_COUNT];
        if (!virtq_is_enabled(&transport->queues[2 * i]) && !virtq_is_enabled(&transport->queues[2 * i + 1]))
            continue;
        if (ring_of(transport, (uint16_t)(2 * i), &rings[VHOST_NET_RX], error) < 0 ||
            ring_of(transport, (uint16_t)(2 * i + 1), &rings[VHOST_NET_TX], error) < 0 ||
            vhost_net_start(&vhost->pairs[i], features, rings, vhost->tap_fds[i], error) < 0) {
            virtio_net_vhost_stop(vhost);
            return -1;
        }
    }
    return 0;
}

void virtio_net_vhost_stop(struct virtio_net_vhost *vhost)
{
    for (unsigned i = 0; i < vhost->pair_count; i++)
        vhost_net_stop(&vhost->pairs[i]);
}
