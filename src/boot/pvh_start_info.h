#ifndef KESTREL_BOOT_PVH_START_INFO_H
#define KESTREL_BOOT_PVH_START_INFO_H

#include <stdint.h>

/*
 * The x86 PVH boot ABI, as published by Xen in its public interface
 * (xen/include/public/arch-x86/hvm/start_info.h and xen/include/public/elfnote.h).
 * Linux implements the guest side for any hypervisor (CONFIG_PVH). The Xen
 * headers are not installed here, so the few definitions kestrel needs are
 * written out from that ABI; the layout is fixed by it, not by kestrel.
 *
 * At the PVH entry point the vCPU is in 32-bit protected mode, paging off,
 * flat segments, and EBX holds the physical address of hvm_start_info.
 */

/* ELF note (owner "Xen") whose descriptor is the 32-bit physical entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
    uint32_t magic;          /* HVM_START_MAGIC_VALUE */
    uint32_t version;        /* 1: memmap fields present */
    uint32_t flags;          /* SIF_* flags; none used */
    uint32_t nr_modules;     /* entries at modlist_paddr; the first is the initrd */
    uint64_t modlist_paddr;  /* struct hvm_modlist_entry[] */
    uint64_t cmdline_paddr;  /* NUL-terminated command line */
    uint64_t rsdp_paddr;     /* ACPI RSDP */
    uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[] (version >= 1) */
    uint32_t memmap_entries;
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI size");

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry ABI size");

/* Types are the E820 ones (1 RAM, 2 reserved, 3 ACPI, ...). */
struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry ABI size");

#endif
