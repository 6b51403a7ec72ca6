#include "vmm_blk.h"

#include <stdlib.h>
#include <string.h>

#include "pci/pci_ioeventfd.h"

unsigned vmm_blk_queue_count(const struct disk_spec *spec, unsigned cpu_count)
{
    if (spec->queues)
        return spec->queues; /* the parser bounded it */
    unsigned queues = cpu_count < VIRTIO_BLK_MAX_QUEUES ? cpu_count : VIRTIO_BLK_MAX_QUEUES;
    return queues ? queues : 1;
}

unsigned vmm_blk_io_thread_count(const struct disk_spec *spec, unsigned queue_count)
{
    unsigned threads = spec->io_threads ? spec->io_threads : queue_count;
    /* A thread without a queue would have nothing to wait for. */
    return threads < queue_count ? threads : queue_count;
}

static int create_device(struct vmm_blk_device *blk, unsigned index, const struct vmm_blk_context *context,
                         struct error *error)
{
    const struct disk_spec *spec = &context->config->disks[index];
    unsigned queues = vmm_blk_queue_count(spec, context->config->cpu_count);
    /* One vector per queue and one for configuration changes, as the transport lays them out. */
    if (msix_kvm_init(&blk->delivery, context->vm, context->routing, queues + 1, error) < 0)
        return -1;
    blk->delivery_ready = true;
    const struct virtio_blk_options options = {
        .image = &context->images[index],
        .queue_count = queues,
        .io_thread_count = vmm_blk_io_thread_count(spec, queues),
        .queue_size = VIRTIO_BLK_DEFAULT_QUEUE_SIZE,
        .serial = spec->serial,
        .packed = spec->packed,
        .poll_us = spec->poll_us,
        .trace = context->traces ? context->traces[index] : NULL,
    };
    /* Time 0 of the trace: before the device exists, so before any request. */
    if (options.trace && !context->traces_started && block_trace_writer_start(options.trace, options.image->size, queues, error) < 0)
        return -1;
    if (virtio_blk_init(&blk->device, &options, context->memory, &pci_ioeventfd_kvm_ops, context->vm,
                        &msix_kvm_delivery, &blk->delivery, error) < 0)
        return -1;
    blk->device_ready = true;
    /* Device number 0 is the host bridge. */
    return pci_bus_add_device(context->bus, &blk->device.transport.pci, index + 1, error);
}

int vmm_blk_create(struct vmm_blk_devices *devices, const struct vmm_blk_context *context, struct error *error)
{
    memset(devices, 0, sizeof(*devices));
    unsigned count = context->config->disk_count;
    if (count == 0)
        return 0;
    devices->devices = calloc(count, sizeof(*devices->devices));
    if (!devices->devices)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for %u disks", count);
    for (unsigned i = 0; i < count; i++) {
        devices->count = i + 1;
        if (create_device(&devices->devices[i], i, context, error) < 0)
            return -1;
    }
    return 0;
}

void vmm_blk_destroy(struct vmm_blk_devices *devices)
{
    for (unsigned i = 0; i < devices->count; i++) {
        struct vmm_blk_device *blk = &devices->devices[i];
        if (blk->device_ready)
            virtio_blk_destroy(&blk->device);
        if (blk->delivery_ready)
            msix_kvm_destroy(&blk->delivery);
    }
    free(devices->devices);
    devices->devices = NULL;
    devices->count = 0;
}

void vmm_blk_print_stats(const struct vmm_blk_devices *devices, FILE *out)
{
    for (unsigned i = 0; i < devices->count; i++) {
        const struct vmm_blk_device *blk = &devices->devices[i];
        if (!blk->device_ready)
            continue;
        uint64_t requests = atomic_load_explicit(&blk->device.requests_completed, memory_order_relaxed);
        uint64_t interrupts = __atomic_load_n(&blk->device.transport.queue_interrupts, __ATOMIC_RELAXED);
        fprintf(out, "virtio-blk 00:%02x.0: %llu requests, %llu queue interrupts", blk->device.transport.pci.slot,
                (unsigned long long)requests, (unsigned long long)interrupts);
        if (requests)
            fprintf(out, ", %.3f interrupts per request", (double)interrupts / (double)requests);
        fputc('\n', out);
    }
}

void vmm_blk_pause(const struct vmm_blk_devices *devices, bool pause)
{
    for (unsigned i = 0; i < devices->count; i++) {
        if (!devices->devices[i].device_ready)
            continue;
        if (pause)
            virtio_pci_pause(&devices->devices[i].device.transport);
        else
            virtio_pci_resume(&devices->devices[i].device.transport);
    }
}
