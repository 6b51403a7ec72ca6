#ifndef KESTREL_PCI_PCI_IOEVENTFD_H
#define KESTREL_PCI_PCI_IOEVENTFD_H

/*
 * The ioeventfds that live inside one memory BAR (a virtio-pci notify
 * region: one per queue), kept at BAR-relative offsets and moved with the
 * BAR: a device forwards its bar_mapped/bar_unmapped hooks here, and each
 * eventfd is registered at BAR address + offset while the BAR decodes and
 * nowhere while it does not. Because the bus reports every unmap before any
 * map, no address ever has two registrations.
 *
 * Registration goes through an injectable interface: KVM_IOEVENTFD in the
 * VMM (pci_ioeventfd_kvm_ops), a recorder in tests. Called with the bus's
 * configuration lock held (the bar hooks) or before the vCPUs run.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kvm/kvm_eventfd.h"
#include "kvm/kvm_vm.h"

enum { PCI_IOEVENTFD_MAX = 64 };

struct pci_ioeventfd_ops {
    /* 0 or a negative errno, as kvm_ioeventfd_assign/deassign. */
    int (*assign)(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match);
    int (*deassign)(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match);
};

/* For the VMM: `opaque` is the struct kvm_vm. */
extern const struct pci_ioeventfd_ops pci_ioeventfd_kvm_ops;

struct pci_bar_ioeventfd {
    uint64_t offset;
    uint32_t length;
    bool match_data;
    uint64_t data;
    int event_fd;
    bool registered;
};

struct pci_bar_ioeventfds {
    const struct pci_ioeventfd_ops *ops;
    void *opaque;
    uint64_t bar_size;
    uint64_t bar_address; /* PCI_BAR_UNMAPPED while the BAR decodes nothing */
    struct pci_bar_ioeventfd entries[PCI_IOEVENTFD_MAX];
    unsigned count;
    unsigned failures;    /* registrations KVM refused (reported to the device, counted for tests) */
};

void pci_bar_ioeventfds_init(struct pci_bar_ioeventfds *set, uint64_t bar_size, const struct pci_ioeventfd_ops *ops,
                             void *opaque);

/*
 * Adds an eventfd for guest writes of `length` bytes (0: any) at `offset`
 * in the BAR, optionally only of value `data`. Registered at once when the
 * BAR decodes. -EINVAL when it does not fit the BAR, -ENOSPC when full, or
 * the registration's errno.
 */
int pci_bar_ioeventfds_add(struct pci_bar_ioeventfds *set, uint64_t offset, uint32_t length, bool match_data,
                           uint64_t data, int event_fd);

/* The device's bar_mapped / bar_unmapped hooks forward here. */
void pci_bar_ioeventfds_mapped(struct pci_bar_ioeventfds *set, uint64_t address);
void pci_bar_ioeventfds_unmapped(struct pci_bar_ioeventfds *set);

#endif
