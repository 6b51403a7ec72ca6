#include "pci/pci_ioeventfd.h"

#include <errno.h>
#include <string.h>

#include "pci/pci_device.h"
#include "util/checked_math.h"

static int kvm_assign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    return kvm_ioeventfd_assign(opaque, event_fd, match);
}

static int kvm_deassign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    return kvm_ioeventfd_deassign(opaque, event_fd, match);
}

const struct pci_ioeventfd_ops pci_ioeventfd_kvm_ops = {.assign = kvm_assign, .deassign = kvm_deassign};

void pci_bar_ioeventfds_init(struct pci_bar_ioeventfds *set, uint64_t bar_size, const struct pci_ioeventfd_ops *ops,
                             void *opaque)
{
    memset(set, 0, sizeof(*set));
    set->ops = ops;
    set->opaque = opaque;
    set->bar_size = bar_size;
    set->bar_address = PCI_BAR_UNMAPPED;
}

static struct kvm_ioeventfd_match match_at(const struct pci_bar_ioeventfd *entry, uint64_t bar_address)
{
    return (struct kvm_ioeventfd_match){
        .address = bar_address + entry->offset,
        .length = entry->length,
        .match_data = entry->match_data,
        .data = entry->data,
    };
}

static int register_entry(struct pci_bar_ioeventfds *set, struct pci_bar_ioeventfd *entry)
{
    struct kvm_ioeventfd_match match = match_at(entry, set->bar_address);
    int result = set->ops->assign(set->opaque, entry->event_fd, &match);
    entry->registered = result == 0;
    if (result < 0)
        set->failures++;
    return result;
}

int pci_bar_ioeventfds_add(struct pci_bar_ioeventfds *set, uint64_t offset, uint32_t length, bool match_data,
                           uint64_t data, int event_fd)
{
    if (length != 0 && length != 1 && length != 2 && length != 4 && length != 8)
        return -EINVAL;
    if (!range_within(offset, length ? length : 1, 0, set->bar_size))
        return -EINVAL;
    if (set->count >= PCI_IOEVENTFD_MAX)
        return -ENOSPC;
    struct pci_bar_ioeventfd *entry = &set->entries[set->count++];
    *entry = (struct pci_bar_ioeventfd){
        .offset = offset, .length = length, .match_data = match_data, .data = data, .event_fd = event_fd};
    return set->bar_address == PCI_BAR_UNMAPPED ? 0 : register_entry(set, entry);
}

void pci_bar_ioeventfds_mapped(struct pci_bar_ioeventfds *set, uint64_t address)
{
    if (set->bar_address != PCI_BAR_UNMAPPED)
        pci_bar_ioeventfds_unmapped(set);
    set->bar_address = address;
    for (unsigned i = 0; i < set->count; i++)
        register_entry(set, &set->entries[i]);
}

void pci_bar_ioeventfds_unmapped(struct pci_bar_ioeventfds *set)
{
    if (set->bar_address == PCI_BAR_UNMAPPED)
        return;
    for (unsigned i = 0; i < set->count; i++) {
        struct pci_bar_ioeventfd *entry = &set->entries[i];
        if (!entry->registered)
            continue;
        struct kvm_ioeventfd_match match = match_at(entry, set->bar_address);
        set->ops->deassign(set->opaque, entry->event_fd, &match);
        entry->registered = false;
    }
    set->bar_address = PCI_BAR_UNMAPPED;
}
