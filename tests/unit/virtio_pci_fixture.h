#ifndef KESTREL_TESTS_UNIT_VIRTIO_PCI_FIXTURE_H
#define KESTREL_TESTS_UNIT_VIRTIO_PCI_FIXTURE_H

/*
 * The virtio-pci tests' machine: bus 0 with the host bridge and the virtio
 * test device (tests/harness/virtio_test_device.h) at VIRTIO_FIXTURE_SLOT,
 * guest RAM from the harness (1 MiB up and 4 GiB up), BAR 0 mapped at
 * VIRTIO_FIXTURE_BAR in the 32-bit window (high RAM and the fixture's 64-bit
 * window share 4 GiB, so a BAR there would alias RAM in this test machine), and the driver's side as a guest
 * drives it: configuration space through the ECAM, registers by MMIO through
 * the io_bus, rings with the harness's virtq_driver.
 */

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "harness/guest_allocator.h"
#include "harness/virtio_test_device.h"
#include "harness/virtq_driver.h"
#include "pci_fixture.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"

enum {
    VIRTIO_FIXTURE_SLOT = 4,
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
#define VIRTIO_FIXTURE_BAR 0xc0000000ull
#define VIRTIO_FIXTURE_RAM (16ull << 20)

struct virtio_fixture {
    struct io_bus pio;
    struct io_bus mmio;
    struct pci_bus bus;
    struct pci_device host_bridge;
    struct guest_memory memory;
    struct guest_allocator allocator;
    struct virtio_test_device device;
};

static inline void fixture_ecam_write(struct virtio_fixture *fixture, unsigned offset, uint32_t value, uint32_t size)
{
    io_bus_write(&fixture->mmio, LAYOUT_PCI_ECAM_START + ((uint64_t)VIRTIO_FIXTURE_SLOT << 15 | offset), &value, size);
}

static inline uint32_t fixture_ecam_read(struct virtio_fixture *fixture, unsigned offset, uint32_t size)
{
    uint32_t value = 0;
    io_bus_read(&fixture->mmio, LAYOUT_PCI_ECAM_START + ((uint64_t)VIRTIO_FIXTURE_SLOT << 15 | offset), &value, size);
    return value;
}

static inline uint64_t bar_read(struct virtio_fixture *fixture, uint64_t offset, uint32_t size)
{
    uint64_t value = 0;
    io_bus_read(&fixture->mmio, VIRTIO_FIXTURE_BAR + offset, &value, size);
    return value;
}

static inline void bar_write(struct virtio_fixture *fixture, uint64_t offset, uint64_t value, uint32_t size)
{
    io_bus_write(&fixture->mmio, VIRTIO_FIXTURE_BAR + offset, &value, size);
}

static inline uint8_t fixture_status(struct virtio_fixture *fixture)
{
    return (uint8_t)bar_read(fixture, COMMON_STATUS, 1);
}

/* Offset of the first capability with `id` (and, for vendor capabilities, cfg_type `type`), 0 if none. */
static inline unsigned fixture_find_capability(struct virtio_fixture *fixture, uint8_t id, uint8_t type)
{
    unsigned offset = fixture_ecam_read(fixture, PCI_CAPABILITY_LIST, 1);
    for (unsigned steps = 0; offset != 0 && steps < 48; steps++) {
        if (fixture_ecam_read(fixture, offset, 1) == id && (id != 0x09 || fixture_ecam_read(fixture, offset + 3, 1) == type))
            return offset;
        offset = fixture_ecam_read(fixture, offset + 1, 1);
    }
    return 0;
}

/* MSI-X on, vector v (v <= VIRTIO_TEST_QUEUES) unmasked with a distinct message. */
static inline void fixture_enable_msix(struct virtio_fixture *fixture)
{
    for (unsigned v = 0; v <= VIRTIO_TEST_QUEUES; v++) {
        uint64_t entry = VIRTIO_PCI_MSIX_TABLE_OFFSET + 16ull * v;
        bar_write(fixture, entry, 0xfee00000u, 4);
        bar_write(fixture, entry + 4, 0, 4);
        bar_write(fixture, entry + 8, 0x40 + v, 4);
        bar_write(fixture, entry + 12, 0, 4);
    }
    unsigned msix = fixture_find_capability(fixture, 0x11, 0);
    fixture_ecam_write(fixture, msix + 2, 0x8000, 2);
}

static inline struct virtio_fixture *virtio_fixture_create(void)
{
    struct virtio_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    if (!fixture || harness_guest_memory_create(&fixture->memory, VIRTIO_FIXTURE_RAM, &error) < 0)
        abort();
    guest_allocator_init(&fixture->allocator, &fixture->memory);
    pci_fixture_bus_create(&fixture->pio, &fixture->mmio, &fixture->bus, &fixture->host_bridge);
    virtio_test_device_init(&fixture->device, &fixture->memory);
    if (pci_bus_add_device(&fixture->bus, &fixture->device.transport.pci, VIRTIO_FIXTURE_SLOT, &error) < 0)
        abort();
    fixture_ecam_write(fixture, PCI_BASE_ADDRESS_0, (uint32_t)VIRTIO_FIXTURE_BAR, 4);
    fixture_ecam_write(fixture, PCI_BASE_ADDRESS_0 + 4, 0, 4);
    fixture_ecam_write(fixture, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    fixture_enable_msix(fixture);
    return fixture;
}

static inline void virtio_fixture_destroy(struct virtio_fixture *fixture)
{
    pci_bus_destroy(&fixture->bus);
    virtio_test_device_destroy(&fixture->device);
    guest_memory_destroy(&fixture->memory);
    free(fixture);
}

/* ACKNOWLEDGE, DRIVER, the driver's features, FEATURES_OK; returns the status read back. */
static inline uint8_t fixture_negotiate(struct virtio_fixture *fixture, uint64_t features)
{
    bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
    for (uint32_t half = 0; half < 2; half++) {
        bar_write(fixture, COMMON_DRIVER_FEATURE_SELECT, half, 4);
        bar_write(fixture, COMMON_DRIVER_FEATURE, (uint32_t)(features >> (32 * half)), 4);
    }
    bar_write(fixture, COMMON_STATUS,
              VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK, 1);
    return fixture_status(fixture);
}

/* Programs queue `index` from a harness driver's rings (addresses as 32-bit halves, as Linux does) and enables it. */
static inline void fixture_setup_queue(struct virtio_fixture *fixture, uint16_t index, const struct virtq_config *rings,
                                       uint16_t vector)
{
    bar_write(fixture, COMMON_QUEUE_SELECT, index, 2);
    bar_write(fixture, COMMON_QUEUE_SIZE, rings->size, 2);
    const uint64_t addresses[3] = {rings->desc_gpa, rings->driver_gpa, rings->device_gpa};
    for (unsigned i = 0; i < 3; i++) {
        bar_write(fixture, COMMON_QUEUE_DESC + 8 * i, (uint32_t)addresses[i], 4);
        bar_write(fixture, COMMON_QUEUE_DESC + 8 * i + 4, (uint32_t)(addresses[i] >> 32), 4);
    }
    bar_write(fixture, COMMON_QUEUE_MSIX_VECTOR, vector, 2);
    bar_write(fixture, COMMON_QUEUE_ENABLE, 1, 2);
}

static inline void fixture_driver_ok(struct virtio_fixture *fixture)
{
    bar_write(fixture, COMMON_STATUS, fixture_status(fixture) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* The notify write for queue `index`, at queue_notify_off * multiplier as a driver computes it. */
static inline void fixture_notify(struct virtio_fixture *fixture, uint16_t index)
{
    bar_write(fixture, COMMON_QUEUE_SELECT, index, 2);
    uint64_t notify_off = bar_read(fixture, COMMON_QUEUE_NOTIFY_OFF, 2);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET + notify_off * VIRTIO_PCI_NOTIFY_MULTIPLIER, index, 2);
}

#endif
