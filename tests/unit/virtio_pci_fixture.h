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
#include "virtio_pci_guest.h"
#include "pci_fixture.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"

enum { VIRTIO_FIXTURE_SLOT = 4 };
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
    struct virtio_pci_guest guest; /* the driver's view of the device */
};

static inline void fixture_ecam_write(struct virtio_fixture *fixture, unsigned offset, uint32_t value, uint32_t size)
{
    virtio_pci_guest_ecam_write(&fixture->guest, offset, value, size);
}

static inline uint32_t fixture_ecam_read(struct virtio_fixture *fixture, unsigned offset, uint32_t size)
{
    return virtio_pci_guest_ecam_read(&fixture->guest, offset, size);
}

static inline uint64_t bar_read(struct virtio_fixture *fixture, uint64_t offset, uint32_t size)
{
    return virtio_pci_guest_bar_read(&fixture->guest, offset, size);
}

static inline void bar_write(struct virtio_fixture *fixture, uint64_t offset, uint64_t value, uint32_t size)
{
    virtio_pci_guest_bar_write(&fixture->guest, offset, value, size);
}

static inline uint8_t fixture_status(struct virtio_fixture *fixture)
{
    return virtio_pci_guest_status(&fixture->guest);
}

static inline unsigned fixture_find_capability(struct virtio_fixture *fixture, uint8_t id, uint8_t type)
{
    return virtio_pci_guest_find_capability(&fixture->guest, id, type);
}

/* MSI-X on, vector v (v <= VIRTIO_TEST_QUEUES) unmasked with a distinct message. */
static inline void fixture_enable_msix(struct virtio_fixture *fixture)
{
    virtio_pci_guest_enable_msix(&fixture->guest, VIRTIO_TEST_QUEUES);
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
    fixture->guest = (struct virtio_pci_guest){&fixture->mmio, VIRTIO_FIXTURE_SLOT, VIRTIO_FIXTURE_BAR};
    virtio_pci_guest_map(&fixture->guest);
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

static inline uint8_t fixture_negotiate(struct virtio_fixture *fixture, uint64_t features)
{
    return virtio_pci_guest_negotiate(&fixture->guest, features);
}

static inline void fixture_setup_queue(struct virtio_fixture *fixture, uint16_t index, const struct virtq_config *rings,
                                       uint16_t vector)
{
    virtio_pci_guest_setup_queue(&fixture->guest, index, rings, vector);
}

static inline void fixture_driver_ok(struct virtio_fixture *fixture)
{
    virtio_pci_guest_driver_ok(&fixture->guest);
}

static inline void fixture_notify(struct virtio_fixture *fixture, uint16_t index)
{
    virtio_pci_guest_notify(&fixture->guest, index);
}

#endif
