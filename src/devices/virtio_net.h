#ifndef KESTREL_DEVICES_VIRTIO_NET_H
#define KESTREL_DEVICES_VIRTIO_NET_H

/*
 * virtio-net (virtio 1.2, 5.1) on the virtio-pci transport: device type 1,
 * PCI class 0x020000. Queues are RX 0, TX 0, RX 1, TX 1, ... and the control
 * queue last (at 2 when the driver did not take VIRTIO_NET_F_MQ). I/O
 * threads (virtio_net_thread.h; one per pair, or io_threads of them with pair
 * i on thread i mod io_threads) move frames between the guest and a backend
 * (backends/net_backend.h: a tap, libslirp), pair by pair
 * (virtio_net_pair.h); thread 0 also serves the control queue. With
 * vhost-net the kernel moves the frames instead and kestrel keeps only the
 * control queue, on one thread.
 * docs/virtio-net.md has the features, the data path and why.
 *
 * Lifecycle as virtio-blk's: init builds the PCI function; DRIVER_OK starts
 * the threads (or vhost-net); a reset stops them before the transport resets
 * the queues; destroy stops them too, and must run before guest memory goes.
 */

#include <linux/virtio_net.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/net_backend.h"
#include "devices/virtio_net_pair.h"
#include "devices/virtio_net_thread.h"
#include "virtio/virtio_pci.h"

enum {
    VIRTIO_NET_DEVICE_TYPE = 1,
    VIRTIO_NET_CLASS_CODE = 0x020000,
    VIRTIO_NET_MAX_PAIRS = VIRTIO_NET_THREAD_MAX_PAIRS, /* 2 * 16 + 1 queues, within the transport's 64 */
    VIRTIO_NET_DEFAULT_QUEUE_SIZE = 256,
    VIRTIO_NET_USER_MTU = 65520,
};

struct virtio_net_vhost;

struct virtio_net_options {
    struct net_backend *backend; /* opened by the caller; outlives the device */
    unsigned pair_count;         /* 1 .. min(VIRTIO_NET_MAX_PAIRS, backend->pair_count) */
    unsigned io_threads;         /* 0: one per pair; else 1 .. pair_count */
    uint16_t queue_size;         /* 0: VIRTIO_NET_DEFAULT_QUEUE_SIZE */
    uint8_t mac[6];
    uint16_t mtu;                /* 0: no VIRTIO_NET_F_MTU */
    bool packed;                 /* offer VIRTIO_F_RING_PACKED */
    bool data_valid;             /* the backend's frames have checksums made on this host (libslirp) */
    /* vhost-net serves the data queues (one per pair, opened by the caller), or NULL. */
    struct virtio_net_vhost *vhost;
};

struct virtio_net {
    struct virtio_pci transport;
    struct virtio_net_options options;
    struct virtio_net_config config; /* little-endian, fixed for the device's life */
    struct virtio_net_shared shared;
    struct virtio_net_pair *pairs;   /* pair_count of them */
    struct virtio_net_thread *threads; /* thread_count of them */
    unsigned thread_count;
    atomic_bool active;              /* between activate and reset */
};

/* Fails (EXIT_STATUS_USAGE) for options the device cannot honour. */
int virtio_net_init(struct virtio_net *device, const struct virtio_net_options *options,
                    const struct guest_memory *memory, const struct pci_ioeventfd_ops *ioeventfd_ops,
                    void *ioeventfd_opaque, const struct msix_delivery_ops *delivery, void *delivery_opaque,
                    struct error *error);
void virtio_net_destroy(struct virtio_net *device);

/* The feature bits the device offers (before the transport adds VERSION_1). */
uint64_t virtio_net_features(const struct virtio_net_options *options);

#endif
