#ifndef KESTREL_TESTS_UNIT_PCI_FIXTURE_H
#define KESTREL_TESTS_UNIT_PCI_FIXTURE_H

/*
 * The PCI tests' machine: bus 0 with kestrel's layout, the host bridge at
 * 00:00.0 and the test device (tests/harness/pci_test_device.h) at slot
 * PCI_FIXTURE_SLOT, reached only as a guest would: ports 0xCF8/0xCFC, the
 * ECAM and MMIO through the io_buses.
 */

#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "harness/pci_test_device.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"

enum { PCI_FIXTURE_SLOT = 3 };
#define PCI_FIXTURE_MMIO64_BASE 0x100000000ull

struct pci_fixture {
    struct io_bus pio;
    struct io_bus mmio;
    struct pci_bus bus;
    struct pci_device host_bridge;
    struct pci_test_device device;
};

/*
 * Bus 0 with kestrel's layout (64-bit window at PCI_FIXTURE_MMIO64_BASE) and
 * the host bridge at 00:00.0, attached to `pio` and `mmio`; the caller adds
 * its device. Aborts on failure (a test bug).
 */
static inline void pci_fixture_bus_create(struct io_bus *pio, struct io_bus *mmio, struct pci_bus *bus,
                                          struct pci_device *host_bridge)
{
    struct error error;
    io_bus_init(pio, "pio");
    io_bus_init(mmio, "mmio");
    const struct pci_bus_layout layout = {
        .ecam_base = LAYOUT_PCI_ECAM_START,
        .ecam_size = LAYOUT_PCI_ECAM_SIZE,
        .mmio32_base = LAYOUT_PCI_MMIO32_START,
        .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = PCI_FIXTURE_MMIO64_BASE,
        .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
    };
    pci_host_bridge_init(host_bridge);
    if (pci_bus_init(bus, &layout, &error) < 0 || pci_bus_add_device(bus, host_bridge, 0, &error) < 0 ||
        pci_bus_attach(bus, pio, mmio, &error) < 0)
        abort();
}

static inline struct pci_fixture *pci_fixture_create(void)
{
    struct pci_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    if (!fixture)
        abort();
    pci_fixture_bus_create(&fixture->pio, &fixture->mmio, &fixture->bus, &fixture->host_bridge);
    pci_test_device_init(&fixture->device);
    if (pci_bus_add_device(&fixture->bus, &fixture->device.pci, PCI_FIXTURE_SLOT, &error) < 0)
        abort();
    return fixture;
}

static inline void pci_fixture_destroy(struct pci_fixture *fixture)
{
    pci_bus_destroy(&fixture->bus);
    pci_test_device_destroy(&fixture->device);
    free(fixture);
}

static inline uint32_t pci_address(unsigned bus, unsigned slot, unsigned function, unsigned offset)
{
    return 0x80000000u | bus << 16 | slot << 11 | function << 8 | (offset & 0xfc);
}

/* Mechanism #1: latch the address, then `size` bytes at 0xCFC + (offset & 3). */
static inline uint32_t cf8_read(struct pci_fixture *fixture, unsigned slot, unsigned offset, uint32_t size)
{
    uint32_t address = pci_address(0, slot, 0, offset), value = 0;
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcfc + (offset & 3), &value, size);
    return value;
}

static inline void cf8_write(struct pci_fixture *fixture, unsigned slot, unsigned offset, uint32_t value,
                             uint32_t size)
{
    uint32_t address = pci_address(0, slot, 0, offset);
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_write(&fixture->pio, 0xcfc + (offset & 3), &value, size);
}

static inline uint64_t ecam_address(unsigned slot, unsigned function, unsigned offset)
{
    return LAYOUT_PCI_ECAM_START + ((uint64_t)slot << 15 | (uint64_t)function << 12 | offset);
}

static inline uint32_t ecam_read(struct pci_fixture *fixture, unsigned slot, unsigned offset, uint32_t size)
{
    uint32_t value = 0;
    io_bus_read(&fixture->mmio, ecam_address(slot, 0, offset), &value, size);
    return value;
}

static inline void ecam_write(struct pci_fixture *fixture, unsigned slot, unsigned offset, uint32_t value,
                              uint32_t size)
{
    io_bus_write(&fixture->mmio, ecam_address(slot, 0, offset), &value, size);
}

static inline uint32_t mmio_read32(struct pci_fixture *fixture, uint64_t address)
{
    uint32_t value = 0;
    io_bus_read(&fixture->mmio, address, &value, 4);
    return value;
}

static inline void mmio_write32(struct pci_fixture *fixture, uint64_t address, uint32_t value)
{
    io_bus_write(&fixture->mmio, address, &value, 4);
}

/* Programs the test device's BARs (64-bit BAR 2 in two halves) and turns memory decoding on. */
static inline void pci_fixture_map(struct pci_fixture *fixture, uint32_t bar0, uint64_t bar2)
{
    ecam_write(fixture, PCI_FIXTURE_SLOT, 0x10, bar0, 4);
    ecam_write(fixture, PCI_FIXTURE_SLOT, 0x18, (uint32_t)bar2, 4);
    ecam_write(fixture, PCI_FIXTURE_SLOT, 0x1c, (uint32_t)(bar2 >> 32), 4);
    ecam_write(fixture, PCI_FIXTURE_SLOT, 0x04, 0x0006, 2); /* memory + bus master */
}

#endif
