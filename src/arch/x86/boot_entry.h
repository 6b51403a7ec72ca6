#ifndef KESTREL_ARCH_X86_BOOT_ENTRY_H
#define KESTREL_ARCH_X86_BOOT_ENTRY_H

/*
 * The CPU state a boot protocol asks for at the kernel's entry point. The boot
 * loaders (src/boot) fill it; the vCPU setup here turns it into registers. It
 * lives below both so that the dependency runs one way: boot -> arch.
 */

#include <stdint.h>

enum boot_entry_mode {
    BOOT_ENTRY_LINUX_64BIT, /* bzImage 64-bit entry: long mode, RSI = zero page */
    BOOT_ENTRY_PVH_32BIT,   /* ELF PVH entry: 32-bit protected mode, paging off, EBX = start info */
};

struct boot_entry {
    enum boot_entry_mode mode;
    uint64_t entry_gpa;
    uint64_t boot_info_gpa; /* zero page (64-bit) or hvm_start_info (PVH) */
};

#endif
