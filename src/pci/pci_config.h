#ifndef KESTREL_PCI_PCI_CONFIG_H
#define KESTREL_PCI_PCI_CONFIG_H

/*
 * Configuration space accesses to one function, as the bus decodes them from
 * 0xCF8/0xCFC or the ECAM: any offset in the function's 4 KiB, any size from
 * 1 to 8 bytes, split into dwords with byte enables as the PCI bus does.
 * Bytes past the conventional 256 read as zero and ignore writes.
 * The caller holds the bus's configuration lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "pci/pci_device.h"

void pci_config_read(struct pci_device *device, uint32_t offset, void *data, uint32_t size);

/* Returns true when the write touched the command register or a BAR (decoding must be recomputed). */
bool pci_config_write(struct pci_device *device, uint32_t offset, const void *data, uint32_t size);

/* Header back to its power-on values (BAR addresses 0, decoding off); the device's reset hook follows. */
void pci_config_reset(struct pci_device *device);

#endif
