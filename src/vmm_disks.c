#include "vmm_disks.h"

#include <stdlib.h>
#include <string.h>

#include "pci/pci_ioeventfd.h"

unsigned vmm_disks_queue_count(const struct disk_spec *spec, unsigned cpu_count)
{
    unsigned queues = spec->queues ? spec->queues : cpu_count;
    /* The default follows the vCPUs only as far as the device goes; an explicit count was checked by the parser. */
    if (!spec->queues && queues > VIRTIO_BLK_MAX_QUEUES)
        queues = VIRTIO_BLK_MAX_QUEUES;
    return queues ? queues : 1;
}

unsigned vmm_disks_io_thread_count(const struct disk_spec *spec, unsigned queue_count)
{
    unsigned threads = spec->io_threads ? spec->io_threads : queue_count;
    return threads > queue_count ? queue_count : threads;
}

static int create_disk(struct vmm_disk *disk, unsigned index, const struct vmm_disks_context *context,
                       struct error *error)
{
    const struct disk_spec *spec = &context->config->disks[index];
    unsigned queues = vmm_disks_queue_count(spec, context->config->cpu_count);
    /* One vector per queue and one for configuration changes, as the transport lays them out. */
    if (msix_kvm_init(&disk->delivery, context->vm, context->routing, queues + 1, error) < 0)
        return -1;
    disk->delivery_ready = true;
    const struct virtio_blk_options options = {
        .image = &context->images[index],
        .queue_count = queues,
        .io_thread_count = vmm_disks_io_thread_count(spec, queues),
        .queue_size = VIRTIO_BLK_DEFAULT_QUEUE_SIZE,
        .serial = spec->serial,
        .packed = spec->packed,
        .poll_us = spec->poll_us,
    };
    if (virtio_blk_init(&disk->device, &options, context->memory, &pci_ioeventfd_kvm_ops, context->vm,
                        &msix_kvm_delivery, &disk->delivery, error) < 0)
        return -1;
    disk->device_ready = true;
    /* Device number 0 is the host bridge. */
    return pci_bus_add_device(context->bus, &disk->device.transport.pci, index + 1, error);
}

int vmm_disks_create(struct vmm_disks *disks, const struct vmm_disks_context *context, struct error *error)
{
    memset(disks, 0, sizeof(*disks));
    unsigned count = context->config->disk_count;
    if (count == 0)
        return 0;
    disks->disks = calloc(count, sizeof(*disks->disks));
    if (!disks->disks)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for %u disks", count);
    for (unsigned i = 0; i < count; i++) {
        disks->count = i + 1;
        if (create_disk(&disks->disks[i], i, context, error) < 0)
            return -1;
    }
    return 0;
}

void vmm_disks_destroy(struct vmm_disks *disks)
{
    for (unsigned i = 0; i < disks->count; i++) {
        struct vmm_disk *disk = &disks->disks[i];
        if (disk->device_ready)
            virtio_blk_destroy(&disk->device);
        if (disk->delivery_ready)
            msix_kvm_destroy(&disk->delivery);
    }
    free(disks->disks);
    disks->disks = NULL;
    disks->count = 0;
}
