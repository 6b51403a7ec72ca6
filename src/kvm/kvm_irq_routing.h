#ifndef KESTREL_KVM_KVM_IRQ_ROUTING_H
#define KESTREL_KVM_KVM_IRQ_ROUTING_H

/*
 * The VM's GSI routing table, kept whole in user space because
 * KVM_SET_GSI_ROUTING replaces the kernel's table at every call.
 *
 * It always holds the routes KVM_CREATE_IRQCHIP sets by default, so legacy
 * devices keep working through KVM_IRQ_LINE once the table is replaced: GSI
 * 0-15 to the PIC pins (master 0-7, slave 8-15) and GSI 0-23 to the IOAPIC
 * pins of the same number. MSI routes get GSIs from 24 up; each carries the
 * message address and data a device's MSI-X vector holds.
 *
 * Thread-safe: MSI-X vectors are reprogrammed on vCPU threads.
 */

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

enum {
    GSI_ROUTING_PIC_PINS = 16,
    GSI_ROUTING_IOAPIC_PINS = 24,
    GSI_ROUTING_FIRST_MSI = GSI_ROUTING_IOAPIC_PINS,
    GSI_ROUTING_MAX_MSI = 1024,
    GSI_ROUTING_MAX_ENTRIES = GSI_ROUTING_PIC_PINS + GSI_ROUTING_IOAPIC_PINS + GSI_ROUTING_MAX_MSI,
};

struct gsi_msi_route {
    bool allocated;
    uint64_t address;
    uint32_t data;
};

/*
 * Submits a built table; the VMM passes KVM_SET_GSI_ROUTING on the VM fd,
 * tests pass a recorder. Returns 0 or a negative errno.
 */
typedef int (*gsi_routing_submit_fn)(void *opaque, const struct kvm_irq_routing *table);

struct gsi_routing {
    pthread_mutex_t lock;
    struct gsi_msi_route msi[GSI_ROUTING_MAX_MSI];
    gsi_routing_submit_fn submit;
    void *submit_opaque;
    struct kvm_irq_routing *table; /* scratch for building, GSI_ROUTING_MAX_ENTRIES entries */
};

int gsi_routing_init(struct gsi_routing *routing, gsi_routing_submit_fn submit, void *opaque, struct error *error);
void gsi_routing_destroy(struct gsi_routing *routing);

/* A free MSI GSI (>= GSI_ROUTING_FIRST_MSI), routed nowhere until gsi_routing_set_msi; -1 when none is left. */
int gsi_routing_allocate_msi(struct gsi_routing *routing);
void gsi_routing_release_msi(struct gsi_routing *routing, unsigned gsi);

/*
 * Points an allocated MSI GSI at a message and re-submits the whole table
 * (nothing is submitted when the route already carries this message).
 * Returns 0, or a negative errno from the submission or for a GSI that was
 * not allocated.
 */
int gsi_routing_set_msi(struct gsi_routing *routing, unsigned gsi, uint64_t address, uint32_t data);

/* Submits the table as it stands: at VM creation, before any MSI route exists. */
int gsi_routing_commit(struct gsi_routing *routing);

/* Builds the table into `table` (room for GSI_ROUTING_MAX_ENTRIES); the caller holds no lock (tests). */
void gsi_routing_build(struct gsi_routing *routing, struct kvm_irq_routing *table);

/* The submit function for a real VM: `opaque` is a pointer to the VM fd (int). */
int gsi_routing_submit_to_kvm(void *opaque, const struct kvm_irq_routing *table);

#endif
