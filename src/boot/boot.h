#ifndef KESTREL_BOOT_BOOT_H
#define KESTREL_BOOT_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_memory.h"
#include "util/error.h"
#include "util/process_memory.h"

/*
 * Loads a Linux kernel into guest memory and lays out everything it reads at
 * boot: zero page (or PVH start info), e820 map, command line, initrd, ACPI
 * tables. The vCPU setup then starts the boot vCPU at `boot_entry`.
 *
 * Every problem with the user's files (not a kernel, truncated, initrd too
 * big, command line too long) fails with EXIT_STATUS_USAGE and a one-line
 * message naming the file and the problem.
 */

/*
 * Which entry a bzImage boots through (--kernel-entry). AUTO: when its payload
 * is a vmlinux with a PVH note and a kernel cache is usable, the vmlinux
 * (cached, else decompressed on the host and cached) through PVH; on any
 * failure the bzImage, after one line saying why. PVH: the same, decompressing
 * on every boot when no cache is usable, and any failure is a usage error.
 * BZIMAGE: the bzImage's own 64-bit entry, as before; an ELF is a usage error.
 * An ELF vmlinux boots through PVH under AUTO and PVH.
 */
enum boot_kernel_entry {
    BOOT_KERNEL_ENTRY_AUTO,
    BOOT_KERNEL_ENTRY_BZIMAGE,
    BOOT_KERNEL_ENTRY_PVH,
};

/* kestrel's memory at its largest during loading: every file and decompression buffer mapped, the guest loaded. */
struct boot_peak_memory {
    bool measured;
    struct process_memory_usage usage;
    char problem[128]; /* why not measured */
};

struct boot_request {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *cmdline;     /* NULL: empty */
    unsigned cpu_count;
    enum boot_kernel_entry kernel_entry;
    const char *cache_directory; /* NULL: $XDG_CACHE_HOME/kestrel or ~/.cache/kestrel */
    struct boot_peak_memory *peak; /* NULL: not measured (only --stats pays for reading smaps) */
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

/* process_memory_measure() with `memory`'s regions as the guest RAM (also used for --stats at exit). */
int boot_memory_measure(const struct guest_memory *memory, struct process_memory_usage *usage, struct error *error);

int boot_load(const struct guest_memory *memory, const struct boot_request *request, struct boot_entry *entry,
              struct error *error);

#endif
