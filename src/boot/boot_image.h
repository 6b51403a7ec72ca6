#ifndef KESTREL_BOOT_BOOT_IMAGE_H
#define KESTREL_BOOT_BOOT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/e820.h"
#include "boot/boot.h"
#include "mem/guest_memory.h"
#include "util/error.h"

/*
 * The in-memory side of boot_load(): loaders take file contents as buffers,
 * so tests and the fuzzer drive the whole load path without files.
 */

struct boot_image {
    const uint8_t *data;
    size_t size;
    const char *name; /* the path, for messages */
};

/* What boot.c has already placed in the guest, for the format loaders to point the kernel at. */
struct boot_platform {
    const struct e820_map *e820;
    uint64_t cmdline_gpa;
    size_t cmdline_length; /* without the NUL */
    uint64_t rsdp_gpa;
};

/* boot_load() after the files are read: `initrd` may be NULL, `cmdline` NULL means empty. */
int boot_load_images(const struct guest_memory *memory, const struct boot_image *kernel,
                     const struct boot_image *initrd, const char *cmdline, unsigned cpu_count,
                     struct boot_entry *entry, struct error *error);

#endif
