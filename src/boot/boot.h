#ifndef KESTREL_BOOT_BOOT_H
#define KESTREL_BOOT_BOOT_H

#include <stdint.h>

#include "mem/guest_memory.h"
#include "util/error.h"

/*
 * Loads a Linux kernel into guest memory and lays out everything it reads at
 * boot: zero page (or PVH start info), e820 map, command line, initrd, ACPI
 * tables. The vCPU setup then starts the boot vCPU at `boot_entry`.
 *
 * Every problem with the user's files (not a kernel, truncated, initrd too
 * big, command line too long) fails with EXIT_STATUS_USAGE and a one-line
 * message naming the file and the problem.
 */

struct boot_request {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *cmdline;     /* NULL: empty */
    unsigned cpu_count;
};

enum boot_entry_mode {
    BOOT_ENTRY_LINUX_64BIT, /* bzImage 64-bit entry: long mode, RSI = zero page */
    BOOT_ENTRY_PVH_32BIT,   /* ELF PVH entry: 32-bit protected mode, paging off, EBX = start info */
};

struct boot_entry {
    enum boot_entry_mode mode;
    uint64_t entry_gpa;
    uint64_t boot_info_gpa; /* zero page (64-bit) or hvm_start_info (PVH) */
};

int boot_load(const struct guest_memory *memory, const struct boot_request *request, struct boot_entry *entry,
              struct error *error);

#endif
