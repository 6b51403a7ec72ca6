#ifndef KESTREL_PCI_PCI_DEVICE_H
#define KESTREL_PCI_PCI_DEVICE_H

/*
 * One PCI function as a device model presents it: its type 0 configuration
 * header, its memory BARs, its capability list, and one ops table through
 * which the bus calls it. docs/pci.md has the rules; in short:
 *
 * - The bus owns the configuration space. It applies writes through a
 *   per-byte write mask (command, cache line size, latency timer, interrupt
 *   line, and whatever capability bits a device makes writable), handles the
 *   BARs itself (sizing protocol, address masking), and then tells the device
 *   through config_written which bytes of its capability area changed.
 * - A BAR decodes only while memory decoding is on in the command register and
 *   the BAR lies wholly inside a PCI window and overlaps no other decoding
 *   BAR; bar_unmapped/bar_mapped report every change, all unmaps of one
 *   configuration write before any map, so an ioeventfd moves without ever
 *   being registered twice.
 * - Every hook runs with the bus's configuration lock held except bar_read
 *   and bar_write, which run under the decode lock shared with other vCPUs
 *   and must not touch configuration space.
 */

#include <stdbool.h>
#include <stdint.h>

enum {
    PCI_CONFIG_SPACE_SIZE = 256,     /* conventional; ECAM's extended space reads as zero */
    PCI_ECAM_FUNCTION_SIZE = 4096,
    PCI_BAR_COUNT = 6,
    PCI_CAPABILITY_START = 0x40,     /* first byte after the type 0 header */
};

/* Configuration header offsets and bits used by the bus (PCI Local Bus 3.0, 6.1). */
enum {
    PCI_VENDOR_ID = 0x00,
    PCI_DEVICE_ID = 0x02,
    PCI_COMMAND = 0x04,
    PCI_STATUS = 0x06,
    PCI_REVISION_ID = 0x08,
    PCI_CLASS_PROG = 0x09,
    PCI_CLASS_DEVICE = 0x0a,
    PCI_CACHE_LINE_SIZE = 0x0c,
    PCI_LATENCY_TIMER = 0x0d,
    PCI_HEADER_TYPE = 0x0e,
    PCI_BASE_ADDRESS_0 = 0x10,
    PCI_SUBSYSTEM_VENDOR_ID = 0x2c,
    PCI_SUBSYSTEM_ID = 0x2e,
    PCI_CAPABILITY_LIST = 0x34,
    PCI_INTERRUPT_LINE = 0x3c,
    PCI_INTERRUPT_PIN = 0x3d,

    PCI_COMMAND_IO = 0x1,
    PCI_COMMAND_MEMORY = 0x2,
    PCI_COMMAND_MASTER = 0x4,
    PCI_COMMAND_PARITY = 0x40,
    PCI_COMMAND_SERR = 0x100,
    PCI_COMMAND_INTX_DISABLE = 0x400,
    PCI_STATUS_CAPABILITY_LIST = 0x10,

    PCI_BAR_MEMORY_64 = 0x4,
    PCI_BAR_PREFETCHABLE = 0x8,
};

/* "Not decoded" for a BAR's address. */
#define PCI_BAR_UNMAPPED UINT64_MAX

struct pci_bar {
    uint64_t size;      /* power of two >= 16; 0: the BAR is not implemented */
    bool is_64bit;      /* occupies this BAR and the next */
    bool prefetchable;
    uint64_t address;   /* as programmed by the guest (size-aligned); meaningful while decoding */
    uint64_t decoded;   /* the address it decodes at, or PCI_BAR_UNMAPPED */
};

struct pci_device;

struct pci_device_ops {
    /* An access inside a decoding BAR; `offset` + `size` lies within the BAR. */
    void (*bar_read)(struct pci_device *device, unsigned bar, uint64_t offset, void *data, uint32_t size);
    void (*bar_write)(struct pci_device *device, unsigned bar, uint64_t offset, const void *data, uint32_t size);
    /* The BAR stopped decoding at `address` / started decoding at `address`. Optional. */
    void (*bar_unmapped)(struct pci_device *device, unsigned bar, uint64_t address);
    void (*bar_mapped)(struct pci_device *device, unsigned bar, uint64_t address);
    /* The guest wrote capability-area bytes [offset, offset + size) (offset >= 0x40); the new values are in config. Optional. */
    void (*config_written)(struct pci_device *device, uint32_t offset, uint32_t size);
    /*
     * The guest is about to read capability-area bytes [offset, offset + size):
     * the device may refresh them in config first (a window onto a BAR, as
     * virtio's PCI_CFG capability). Optional.
     */
    void (*config_reading)(struct pci_device *device, uint32_t offset, uint32_t size);
    /* Back to power-on state (the bus has reset the header). Optional. */
    void (*reset)(struct pci_device *device);
};

struct pci_identity {
    uint16_t vendor_id;
    uint16_t device_id;
    uint32_t class_code;  /* base class, subclass, programming interface: 0x060000 host bridge */
    uint8_t revision;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
};

struct pci_device {
    const struct pci_device_ops *ops;
    void *opaque;                 /* the device model's own state */
    const char *name;
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t write_mask[PCI_CONFIG_SPACE_SIZE];
    uint8_t power_on_config[PCI_CONFIG_SPACE_SIZE];
    struct pci_bar bars[PCI_BAR_COUNT];
    uint8_t last_capability;      /* offset of the last capability added, 0 if none */
    uint16_t next_capability;     /* where the next capability may go (256: full) */
    unsigned slot;                /* device number on bus 0, set by pci_bus_add_device */
    /* BAR accesses the bus dispatched here (MMIO exits owned by this function); relaxed atomic adds. */
    uint64_t bar_exits;
};

/* Fills the header; no BARs, no capabilities. */
void pci_device_init(struct pci_device *device, const struct pci_identity *identity, const struct pci_device_ops *ops,
                     void *opaque, const char *name);

/* Declares a memory BAR; for a 64-bit one `bar` + 1 must be free. False for a bad size or index (a VMM bug). */
bool pci_device_add_bar(struct pci_device *device, unsigned bar, uint64_t size, bool is_64bit, bool prefetchable);

/*
 * Appends a capability of `length` bytes (id and next pointer included, the
 * rest given by `body`) to the list and returns its offset, 0 when it does
 * not fit. Its bytes are read-only until pci_device_set_write_mask.
 */
uint8_t pci_device_add_capability(struct pci_device *device, uint8_t id, const uint8_t *body, uint8_t length);

/* Makes bits of [offset, offset+length) writable by the guest (capability area only). */
void pci_device_set_write_mask(struct pci_device *device, uint32_t offset, const uint8_t *mask, uint32_t length);

/* Snapshot the current configuration as the power-on state (after BARs and capabilities are added). */
void pci_device_seal(struct pci_device *device);

/* Little-endian config accessors for device models and tests. */
uint16_t pci_config_get16(const struct pci_device *device, uint32_t offset);
uint32_t pci_config_get32(const struct pci_device *device, uint32_t offset);

#endif
