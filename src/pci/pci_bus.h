#ifndef KESTREL_PCI_PCI_BUS_H
#define KESTREL_PCI_PCI_BUS_H

/*
 * PCI bus 0 behind kestrel's host bridge: configuration access through ports
 * 0xCF8/0xCFC (mechanism #1) and through the ECAM, and MMIO dispatch for the
 * BARs its devices decode.
 *
 * io_bus ranges never change once the vCPUs run, while BARs move whenever the
 * guest programs them. So the bus registers fixed io_bus ranges (the config
 * ports, the ECAM, the 32-bit and the 64-bit window) and keeps the moving
 * part itself: a table of decoding BARs, read under a rwlock by vCPUs'
 * MMIO exits and rebuilt under the write lock after a configuration write.
 * Configuration accesses are serialised by their own mutex (taken first).
 *
 * A BAR decodes only while its device's command register enables memory
 * decoding, the BAR lies wholly inside a window (32-bit BARs: the 32-bit
 * window; 64-bit BARs: either), and it overlaps no BAR accepted before it in
 * (slot, BAR) order. The windows are never RAM or platform MMIO, so a BAR
 * programmed over RAM, the LAPIC or the IOAPIC decodes nothing and shadows
 * nothing. Accesses to the windows that hit no decoding BAR read all ones.
 */

#include <pthread.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "pci/pci_device.h"
#include "util/error.h"

enum {
    PCI_BUS_MAX_DEVICES = 32,
    PCI_BUS_MAX_DECODED = PCI_BUS_MAX_DEVICES * PCI_BAR_COUNT,
};

struct pci_bus_layout {
    uint64_t ecam_base, ecam_size;     /* bus 0 only: at least 1 MiB */
    uint64_t mmio32_base, mmio32_size;
    uint64_t mmio64_base, mmio64_size; /* size 0: no 64-bit window */
};

struct pci_decoded_bar {
    uint64_t base;
    uint64_t size;
    struct pci_device *device;
    unsigned bar;
};

struct pci_bus {
    struct pci_bus_layout layout;
    pthread_mutex_t config_lock;
    uint32_t config_address;           /* the 0xCF8 latch */
    struct pci_device *devices[PCI_BUS_MAX_DEVICES];
    pthread_rwlock_t decode_lock;
    struct pci_decoded_bar decoded[PCI_BUS_MAX_DECODED];
    unsigned decoded_count;
};

int pci_bus_init(struct pci_bus *bus, const struct pci_bus_layout *layout, struct error *error);
void pci_bus_destroy(struct pci_bus *bus);

/* Registers the configuration ports on `pio` and the ECAM and windows on `mmio`. */
int pci_bus_attach(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio, struct error *error);

/* Puts a sealed device at `slot` (device number) on bus 0, before the vCPUs run. */
int pci_bus_add_device(struct pci_bus *bus, struct pci_device *device, unsigned slot, struct error *error);

/* Every device back to power-on state, every BAR unmapped. */
void pci_bus_reset(struct pci_bus *bus);

/* Configuration access to bus 0 (both mechanisms end here): `offset` in the function's 4 KiB. */
void pci_bus_config_read(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset, void *data,
                         uint32_t size);
void pci_bus_config_write(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset, const void *data,
                          uint32_t size);

/* An MMIO access at a guest physical address in a window: dispatched to the BAR decoding it, if any. */
void pci_bus_mmio_read(struct pci_bus *bus, uint64_t address, void *data, uint32_t size);
void pci_bus_mmio_write(struct pci_bus *bus, uint64_t address, const void *data, uint32_t size);

#endif
