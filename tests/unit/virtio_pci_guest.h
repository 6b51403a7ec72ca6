#ifndef KESTREL_TESTS_UNIT_VIRTIO_PCI_GUEST_H
#define KESTREL_TESTS_UNIT_VIRTIO_PCI_GUEST_H

/*
 * What a guest's virtio-pci driver does to one function on bus 0, for the
 * test fixtures (virtio_pci_fixture.h, virtio_blk_fixture.h): configuration
 * space through the ECAM, registers of BAR 0 by MMIO through the io_bus, the
 * initialisation sequence, and notifications, only as a guest reaches them.
 */

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "virtio/virtio_pci.h"

enum {
    /* Common configuration offsets (struct virtio_pci_common_cfg). */
    COMMON_DEVICE_FEATURE_SELECT = 0x00,
    COMMON_DEVICE_FEATURE = 0x04,
    COMMON_DRIVER_FEATURE_SELECT = 0x08,
    COMMON_DRIVER_FEATURE = 0x0c,
    COMMON_MSIX_CONFIG = 0x10,
    COMMON_NUM_QUEUES = 0x12,
    COMMON_STATUS = 0x14,
    COMMON_CONFIG_GENERATION = 0x15,
    COMMON_QUEUE_SELECT = 0x16,
    COMMON_QUEUE_SIZE = 0x18,
    COMMON_QUEUE_MSIX_VECTOR = 0x1a,
    COMMON_QUEUE_ENABLE = 0x1c,
    COMMON_QUEUE_NOTIFY_OFF = 0x1e,
    COMMON_QUEUE_DESC = 0x20,
    COMMON_QUEUE_DRIVER = 0x28,
    COMMON_QUEUE_DEVICE = 0x30,
};

struct virtio_pci_guest {
    struct io_bus *mmio;
    unsigned slot;  /* device number on bus 0 */
    uint64_t bar;   /* where the guest maps BAR 0 */
};

static inline void virtio_pci_guest_ecam_write(const struct virtio_pci_guest *guest, unsigned offset, uint32_t value,
                                               uint32_t size)
{
    io_bus_write(guest->mmio, LAYOUT_PCI_ECAM_START + ((uint64_t)guest->slot << 15 | offset), &value, size);
}

static inline uint32_t virtio_pci_guest_ecam_read(const struct virtio_pci_guest *guest, unsigned offset, uint32_t size)
{
    uint32_t value = 0;
    io_bus_read(guest->mmio, LAYOUT_PCI_ECAM_START + ((uint64_t)guest->slot << 15 | offset), &value, size);
    return value;
}

static inline uint64_t virtio_pci_guest_bar_read(const struct virtio_pci_guest *guest, uint64_t offset, uint32_t size)
{
    uint64_t value = 0;
    io_bus_read(guest->mmio, guest->bar + offset, &value, size);
    return value;
}

static inline void virtio_pci_guest_bar_write(const struct virtio_pci_guest *guest, uint64_t offset, uint64_t value,
                                              uint32_t size)
{
    io_bus_write(guest->mmio, guest->bar + offset, &value, size);
}

static inline uint8_t virtio_pci_guest_status(const struct virtio_pci_guest *guest)
{
    return (uint8_t)virtio_pci_guest_bar_read(guest, COMMON_STATUS, 1);
}

/* Offset of the first capability with `id` (and, for vendor capabilities, cfg_type `type`), 0 if none. */
static inline unsigned virtio_pci_guest_find_capability(const struct virtio_pci_guest *guest, uint8_t id, uint8_t type)
{
    unsigned offset = virtio_pci_guest_ecam_read(guest, PCI_CAPABILITY_LIST, 1);
    for (unsigned steps = 0; offset != 0 && steps < 48; steps++) {
        if (virtio_pci_guest_ecam_read(guest, offset, 1) == id &&
            (id != 0x09 || virtio_pci_guest_ecam_read(guest, offset + 3, 1) == type))
            return offset;
        offset = virtio_pci_guest_ecam_read(guest, offset + 1, 1);
    }
    return 0;
}

/* BAR 0 at guest->bar (64-bit), memory decoding and bus mastering on. */
static inline void virtio_pci_guest_map(const struct virtio_pci_guest *guest)
{
    virtio_pci_guest_ecam_write(guest, PCI_BASE_ADDRESS_0, (uint32_t)guest->bar, 4);
    virtio_pci_guest_ecam_write(guest, PCI_BASE_ADDRESS_0 + 4, (uint32_t)(guest->bar >> 32), 4);
    virtio_pci_guest_ecam_write(guest, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

/* MSI-X on, vectors 0 .. last unmasked, each with a distinct message. */
static inline void virtio_pci_guest_enable_msix(const struct virtio_pci_guest *guest, unsigned last)
{
    for (unsigned v = 0; v <= last; v++) {
        uint64_t entry = VIRTIO_PCI_MSIX_TABLE_OFFSET + 16ull * v;
        virtio_pci_guest_bar_write(guest, entry, 0xfee00000u, 4);
        virtio_pci_guest_bar_write(guest, entry + 4, 0, 4);
        virtio_pci_guest_bar_write(guest, entry + 8, 0x40 + v, 4);
        virtio_pci_guest_bar_write(guest, entry + 12, 0, 4);
    }
    unsigned msix = virtio_pci_guest_find_capability(guest, 0x11, 0);
    virtio_pci_guest_ecam_write(guest, msix + 2, 0x8000, 2);
}

/* ACKNOWLEDGE, DRIVER, the driver's features, FEATURES_OK; returns the status read back. */
static inline uint8_t virtio_pci_guest_negotiate(const struct virtio_pci_guest *guest, uint64_t features)
{
    virtio_pci_guest_bar_write(guest, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    virtio_pci_guest_bar_write(guest, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
    for (uint32_t half = 0; half < 2; half++) {
        virtio_pci_guest_bar_write(guest, COMMON_DRIVER_FEATURE_SELECT, half, 4);
        virtio_pci_guest_bar_write(guest, COMMON_DRIVER_FEATURE, (uint32_t)(features >> (32 * half)), 4);
    }
    virtio_pci_guest_bar_write(guest, COMMON_STATUS,
                               VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK, 1);
    return virtio_pci_guest_status(guest);
}

/* Programs queue `index` from a driver's rings (addresses as 32-bit halves, as Linux does) and enables it. */
static inline void virtio_pci_guest_setup_queue(const struct virtio_pci_guest *guest, uint16_t index,
                                                const struct virtq_config *rings, uint16_t vector)
{
    virtio_pci_guest_bar_write(guest, COMMON_QUEUE_SELECT, index, 2);
    virtio_pci_guest_bar_write(guest, COMMON_QUEUE_SIZE, rings->size, 2);
    const uint64_t addresses[3] = {rings->desc_gpa, rings->driver_gpa, rings->device_gpa};
    for (unsigned i = 0; i < 3; i++) {
        virtio_pci_guest_bar_write(guest, COMMON_QUEUE_DESC + 8 * i, (uint32_t)addresses[i], 4);
        virtio_pci_guest_bar_write(guest, COMMON_QUEUE_DESC + 8 * i + 4, (uint32_t)(addresses[i] >> 32), 4);
    }
    virtio_pci_guest_bar_write(guest, COMMON_QUEUE_MSIX_VECTOR, vector, 2);
    virtio_pci_guest_bar_write(guest, COMMON_QUEUE_ENABLE, 1, 2);
}

static inline void virtio_pci_guest_driver_ok(const struct virtio_pci_guest *guest)
{
    virtio_pci_guest_bar_write(guest, COMMON_STATUS, virtio_pci_guest_status(guest) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* The notify write for queue `index`, at queue_notify_off * multiplier as a driver computes it. */
static inline void virtio_pci_guest_notify(const struct virtio_pci_guest *guest, uint16_t index)
{
    virtio_pci_guest_bar_write(guest, COMMON_QUEUE_SELECT, index, 2);
    uint64_t notify_off = virtio_pci_guest_bar_read(guest, COMMON_QUEUE_NOTIFY_OFF, 2);
    virtio_pci_guest_bar_write(guest, VIRTIO_PCI_NOTIFY_OFFSET + notify_off * VIRTIO_PCI_NOTIFY_MULTIPLIER, index, 2);
}

#endif
