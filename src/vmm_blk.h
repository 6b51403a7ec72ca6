#ifndef KESTREL_VMM_BLK_H
#define KESTREL_VMM_BLK_H

/*
 * The VMM's virtio-blk devices, one per --disk: MSI-X delivery through KVM
 * (one irqfd per vector), the virtio-pci function with its notify doorbells
 * on KVM ioeventfds, and the blk device with its I/O threads, at PCI device
 * number 1, 2, ... on bus 0. The images are opened and locked before
 * (vm_disks.h); these devices stand on them.
 */

#include <stdio.h>

#include "backends/disk_image.h"
#include "cli.h"
#include "devices/virtio_blk.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_vm.h"
#include "mem/guest_memory.h"
#include "pci/msix_kvm.h"
#include "pci/pci_bus.h"
#include "util/error.h"

struct vmm_blk_device {
    struct msix_kvm delivery;
    bool delivery_ready;
    struct virtio_blk device;
    bool device_ready;
};

struct vmm_blk_devices {
    struct vmm_blk_device *devices;
    unsigned count;
};

/* What the VMM has that the devices need. */
struct vmm_blk_context {
    const struct vm_config *config;
    struct disk_image *images; /* images[i] for config->disks[i], open */
    struct block_trace_writer **traces; /* traces[i] for config->disks[i], created; NULL: none */
    bool traces_started; /* after a guest reboot: the traces go on from the first boot's time 0 */
    const struct guest_memory *memory;
    struct kvm_vm *vm;
    struct gsi_routing *routing;
    struct pci_bus *bus;
};

/* A --disk's queues (default: one per vCPU, within the device's limit) and I/O threads (default: one per queue). */
unsigned vmm_blk_queue_count(const struct disk_spec *spec, unsigned cpu_count);
unsigned vmm_blk_io_thread_count(const struct disk_spec *spec, unsigned queue_count);

/* One device per config->disks[i]; on failure what was made is left for vmm_blk_destroy. */
int vmm_blk_create(struct vmm_blk_devices *devices, const struct vmm_blk_context *context, struct error *error);

/*
 * --stats: per disk, the requests completed and the queue interrupts raised
 * (irqfd writes, no exits), and interrupts per request: EVENT_IDX and batching
 * bring it below 1.
 */
void vmm_blk_print_stats(const struct vmm_blk_devices *devices, FILE *out);

/* After the vCPUs stopped and before guest memory goes: stops the I/O threads (in-flight I/O drained), frees all. */
void vmm_blk_destroy(struct vmm_blk_devices *devices);

/* A VM pause or resume of every disk's I/O threads (virtio_pci_pause / _resume). */
void vmm_blk_pause(const struct vmm_blk_devices *devices, bool pause);

#endif
