#ifndef KESTREL_VMM_DISKS_H
#define KESTREL_VMM_DISKS_H

/*
 * The VMM's virtio-blk disks: for each --disk, MSI-X delivery through KVM
 * (one irqfd per vector), the virtio-pci function with its notify doorbells
 * on KVM ioeventfds, and the blk device with its I/O threads, at PCI device
 * number 1, 2, ... on bus 0. The images are opened and locked by the caller.
 */

#include "backends/disk_image.h"
#include "cli.h"
#include "devices/virtio_blk.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_vm.h"
#include "mem/guest_memory.h"
#include "pci/msix_kvm.h"
#include "pci/pci_bus.h"
#include "util/error.h"

struct vmm_disk {
    struct msix_kvm delivery;
    bool delivery_ready;
    struct virtio_blk device;
    bool device_ready;
};

struct vmm_disks {
    struct vmm_disk *disks;
    unsigned count;
};

/* What the VMM has that the disks need. */
struct vmm_disks_context {
    const struct vm_config *config;
    struct disk_image *images; /* images[i] for config->disks[i], opened */
    const struct guest_memory *memory;
    struct kvm_vm *vm;
    struct gsi_routing *routing;
    struct pci_bus *bus;
};

/* The queue and I/O thread counts a --disk gets: queues default to the vCPUs, threads to the queues. */
unsigned vmm_disks_queue_count(const struct disk_spec *spec, unsigned cpu_count);
unsigned vmm_disks_io_thread_count(const struct disk_spec *spec, unsigned queue_count);

/* Creates every disk of context->config; on failure what was made is left for vmm_disks_destroy. */
int vmm_disks_create(struct vmm_disks *disks, const struct vmm_disks_context *context, struct error *error);

/* Stops the I/O threads (no I/O touches guest memory afterwards) and frees the devices; after the vCPUs stopped. */
void vmm_disks_destroy(struct vmm_disks *disks);

#endif
