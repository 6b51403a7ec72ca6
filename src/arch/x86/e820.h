#ifndef KESTREL_ARCH_X86_E820_H
#define KESTREL_ARCH_X86_E820_H

#include <stdint.h>

#include "mem/guest_memory.h"
#include "util/error.h"

/*
 * The guest's physical memory map as a PC firmware reports it (INT 15h
 * E820). Both boot paths hand the same map to the kernel: the bzImage path in
 * the zero page, the PVH path as the hvm_start_info memory map.
 */

/* Region types of the ACPI address range descriptor (ACPI spec, "System Address Map Interfaces"). */
enum e820_type {
    E820_TYPE_RAM = 1,
    E820_TYPE_RESERVED = 2,
    E820_TYPE_ACPI = 3,
};

/*
 * A zero page holds 128 entries; kestrel's map has at most one per guest RAM
 * region, plus the low-memory split and the PCI ECAM.
 */
enum { E820_MAP_MAX_ENTRIES = GUEST_MEMORY_MAX_REGIONS + 3 };

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

struct e820_map {
    struct e820_entry entries[E820_MAP_MAX_ENTRIES];
    unsigned count;
};

/*
 * Builds the map from guest RAM: the region at address 0 becomes usable RAM
 * below the EBDA, a reserved range from the EBDA to 1 MiB (BIOS area and
 * kestrel's ACPI tables), and RAM from 1 MiB to its end; every other region
 * is RAM; the PCI ECAM (LAYOUT_PCI_ECAM_*) is reserved. Sorted by address.
 * Fails with EXIT_STATUS_USAGE when there is no RAM at 0 reaching past
 * 1 MiB, since the boot structures live there.
 */
int e820_build(const struct guest_memory *memory, struct e820_map *map, struct error *error);

/* End of the RAM region that starts at 0 (the RAM below the 32-bit MMIO hole); 0 if there is none. */
uint64_t e820_low_ram_end(const struct guest_memory *memory);

/* End of the highest guest RAM region (where the 64-bit PCI window may start). */
uint64_t e820_ram_end(const struct guest_memory *memory);

#endif
