#ifndef KESTREL_ARCH_X86_ACPI_PCI_H
#define KESTREL_ARCH_X86_ACPI_PCI_H

/*
 * The ACPI description of kestrel's PCI host bridge: the MCFG table (where
 * the ECAM is) and, in the DSDT's \_SB scope, the root bridge PCI0 (PNP0A08,
 * compatible PNP0A03) whose _CRS lists bus 0, the configuration ports and the
 * I/O, 32-bit and 64-bit memory windows, plus a motherboard-resources device
 * (PNP0C02) that claims the ECAM, as Linux expects of an MCFG area.
 */

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/acpi_aml.h"

/* MCFG after its table header: 8 reserved bytes and one allocation for segment 0. */
struct acpi_mcfg_allocation {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus;
    uint8_t end_bus;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG allocation is 16 bytes");

enum { ACPI_MCFG_BODY_SIZE = 8 + sizeof(struct acpi_mcfg_allocation) };

/* Fills the MCFG body (ACPI_MCFG_BODY_SIZE bytes) for LAYOUT_PCI_ECAM_*. */
void acpi_mcfg_body_build(uint8_t body[ACPI_MCFG_BODY_SIZE]);

/* Appends Device(PCI0) and Device(MRES) to a \_SB scope body; the 64-bit window starts at `mmio64_start`. */
void acpi_pci_append_devices(struct aml_buffer *scope_body, uint64_t mmio64_start);

/* The 32-bit compressed EISA id of a 7-character PNP id ("PNP0A08"), as AML's EisaId() encodes it. */
uint32_t acpi_eisa_id(const char *id);

#endif
