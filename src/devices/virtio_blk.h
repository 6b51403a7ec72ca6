#ifndef KESTREL_DEVICES_VIRTIO_BLK_H
#define KESTREL_DEVICES_VIRTIO_BLK_H

/*
 * virtio-blk (virtio 1.2, 5.2) on the virtio-pci transport: device type 2,
 * PCI class 0x018000, multi-queue, with I/O threads on io_uring
 * (virtio_blk_io_thread.h) and the request rules of virtio_blk_request.h.
 * docs/virtio-blk.md has the configuration values and why.
 *
 * Lifecycle: init builds the PCI function (add transport.pci to the bus);
 * DRIVER_OK starts the I/O threads; a device reset stops them (in-flight I/O
 * drained) before the transport resets the queues; destroy stops them too,
 * and must run before guest memory goes.
 */

#include <linux/virtio_blk.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/disk_image.h"
#include "devices/virtio_blk_io_thread.h"
#include "devices/virtio_blk_request.h"
#include "virtio/virtio_pci.h"

enum {
    VIRTIO_BLK_DEVICE_TYPE = 2,
    VIRTIO_BLK_CLASS_CODE = 0x018000,
    VIRTIO_BLK_MAX_QUEUES = VIRTIO_PCI_MAX_QUEUES,
    VIRTIO_BLK_DEFAULT_QUEUE_SIZE = 256,
};

struct virtio_blk_options {
    struct disk_image *image; /* opened (and locked) by the caller; outlives the device */
    unsigned queue_count;     /* 1 .. VIRTIO_BLK_MAX_QUEUES */
    unsigned io_thread_count; /* 1 .. queue_count; queue q is served by thread q % io_thread_count */
    uint16_t queue_size;      /* the largest the driver may choose; 0: VIRTIO_BLK_DEFAULT_QUEUE_SIZE */
    const char *serial;       /* GET_ID's answer (truncated to 20 bytes); NULL: empty */
    bool packed;              /* offer VIRTIO_F_RING_PACKED */
    unsigned poll_us;         /* poll a queue this long before re-enabling its kicks; 0: off */
    struct block_trace_writer *trace; /* started by the caller for queue_count queues; NULL: no trace */
};

struct virtio_blk {
    struct virtio_pci transport;
    struct virtio_blk_options options;
    struct virtio_blk_limits limits;
    struct virtio_blk_config config; /* little-endian, fixed for the device's life */
    struct virtio_blk_io_thread *threads;
    atomic_bool active;        /* between activate and reset: kicks are ignored otherwise */
    _Atomic uint64_t requests_completed; /* over the device's life (--stats) */
};

/* Fails (EXIT_STATUS_USAGE) for options the device cannot honour. */
int virtio_blk_init(struct virtio_blk *device, const struct virtio_blk_options *options,
                    const struct guest_memory *memory, const struct pci_ioeventfd_ops *ioeventfd_ops,
                    void *ioeventfd_opaque, const struct msix_delivery_ops *delivery, void *delivery_opaque,
                    struct error *error);
void virtio_blk_destroy(struct virtio_blk *device);

/* The feature bits the device offers (before the transport adds VERSION_1). */
uint64_t virtio_blk_features(const struct virtio_blk_options *options);

#endif
