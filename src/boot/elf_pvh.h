#ifndef KESTREL_BOOT_ELF_PVH_H
#define KESTREL_BOOT_ELF_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot_image.h"

/*
 * An uncompressed Linux kernel (vmlinux, ELF64 x86-64) booted through the
 * PVH entry point announced by its Xen ELF note. elf_pvh_parse() checks the
 * untrusted file; elf_pvh_load() copies the PT_LOAD segments to their
 * physical addresses and writes hvm_start_info.
 */

enum {
    ELF_PVH_MAX_PROGRAM_HEADERS = 64,
    ELF_PVH_MAX_SEGMENTS = 16,
    ELF_PVH_MAX_NOTES = 256,
};

struct elf_pvh_segment {
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t paddr;
    uint64_t mem_size;
};

struct elf_pvh_info {
    uint32_t entry; /* 32-bit physical PVH entry point */
    unsigned segment_count;
    struct elf_pvh_segment segments[ELF_PVH_MAX_SEGMENTS];
    uint64_t end_paddr; /* highest p_paddr + p_memsz */
};

/* True when the bytes start with the ELF magic. */
bool elf_detect(const uint8_t *data, size_t size);

/* Validates the ELF and finds the PVH entry; messages describe the problem without naming the file. */
int elf_pvh_parse(const uint8_t *data, size_t size, struct elf_pvh_info *info, struct error *error);

int elf_pvh_load(const struct guest_memory *memory, const struct elf_pvh_info *info,
                 const struct boot_image *kernel, const struct boot_image *initrd,
                 const struct boot_platform *platform, struct boot_entry *entry, struct error *error);

#endif
