#ifndef KESTREL_ARCH_X86_ACPI_H
#define KESTREL_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest_memory.h"
#include "util/error.h"

/*
 * The guest's ACPI tables: RSDP, XSDT, RSDT, FADT, FACS, DSDT, MADT and MCFG,
 * placed in [LAYOUT_ACPI_START, LAYOUT_ACPI_END) with the RSDP first so a
 * kernel scanning the BIOS area finds it. They describe what kestrel
 * emulates: one local APIC per vCPU, one IOAPIC, the PM1a blocks used for
 * power off (\_S5), an i8042 for reboot, a pvpanic device and the PCI host
 * bridge with its ECAM (acpi_pci.h).
 */

/* APIC ids are 8 bits in the MADT entries used; 0xff is the broadcast id. */
enum { ACPI_MAX_CPUS = 254 };

/* Where each table went (guest physical addresses) and how many bytes they take from LAYOUT_ACPI_START. */
struct acpi_tables_layout {
    uint64_t rsdp_gpa;
    uint64_t xsdt_gpa;
    uint64_t rsdt_gpa;
    uint64_t fadt_gpa;
    uint64_t facs_gpa;
    uint64_t dsdt_gpa;
    uint64_t madt_gpa;
    uint64_t mcfg_gpa;
    size_t used_bytes;
};

/*
 * Builds the tables into `region` (a host buffer that will live at
 * `region_gpa` in the guest). Fails with EXIT_STATUS_USAGE for a cpu_count
 * outside 1..ACPI_MAX_CPUS and EXIT_STATUS_FAILURE if the region is too small.
 */
int acpi_tables_build(uint8_t *region, size_t region_size, uint64_t region_gpa, unsigned cpu_count,
                      uint64_t pci_mmio64_start, struct acpi_tables_layout *layout, struct error *error);

/* Builds the tables and copies them into guest memory at LAYOUT_ACPI_START; the 64-bit PCI window follows RAM. */
int acpi_tables_write(const struct guest_memory *memory, unsigned cpu_count, struct acpi_tables_layout *layout,
                      struct error *error);

/* Sum of bytes, mod 256 (a valid table sums to 0). */
uint8_t acpi_checksum(const uint8_t *bytes, size_t length);

/* The DSDT's AML body (after the table header); returns its length, 0 if it does not fit in `capacity`. */
size_t acpi_dsdt_body_build(uint8_t *out, size_t capacity, uint64_t pci_mmio64_start);

#endif
