#ifndef KESTREL_BOOT_BZIMAGE_H
#define KESTREL_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot_image.h"

/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry.
 * bzimage_parse() only reads the untrusted file bytes and checks them;
 * bzimage_load() writes the guest. kestrel needs protocol 2.12+ (xloadflags,
 * the 64-bit entry point at load address + 0x200).
 */

#define BZIMAGE_MIN_PROTOCOL 0x020c
/* Offsets in the file (the setup header lives in the boot sector). */
#define BZIMAGE_SETUP_HEADER_OFFSET 0x1f1
#define BZIMAGE_64BIT_ENTRY_OFFSET  0x200

struct bzimage_info {
    uint16_t protocol_version;
    size_t header_length;   /* bytes of setup header in the file, from 0x1f1, capped at sizeof(setup_header) */
    size_t setup_size;      /* real-mode setup: (setup_sects + 1) * 512 */
    size_t kernel_offset;   /* protected-mode code: file offset ... */
    size_t kernel_size;     /* ... and length (syssize * 16) */
    uint64_t pref_address;
    uint64_t kernel_alignment;
    bool relocatable;
    uint64_t memory_needed; /* bytes from the load address the kernel uses while booting: max(init_size, code) */
    uint32_t cmdline_size;  /* longest command line, without the NUL */
    uint32_t initrd_addr_max; /* highest address the initrd may occupy */
    uint16_t xloadflags;
};

/* True when the bytes carry the "HdrS" setup header magic (and so should be parsed as a bzImage). */
bool bzimage_detect(const uint8_t *data, size_t size);

/* Validates the setup header; messages describe the problem without naming the file. */
int bzimage_parse(const uint8_t *data, size_t size, struct bzimage_info *info, struct error *error);

/*
 * Loads the protected-mode kernel, the initrd and the zero page. `kernel`
 * must be the bytes `info` was parsed from. Fails with EXIT_STATUS_USAGE when
 * the kernel, initrd or command line does not fit.
 */
/*
 * The kernel's own limit on its command line (setup header cmdline_size). It
 * binds the payload too when kestrel boots a bzImage's vmlinux through PVH.
 */
int bzimage_check_cmdline(const struct bzimage_info *info, size_t cmdline_length, const char *kernel_name,
                          struct error *error);

int bzimage_load(const struct guest_memory *memory, const struct bzimage_info *info,
                 const struct boot_image *kernel, const struct boot_image *initrd,
                 const struct boot_platform *platform, struct boot_entry *entry, struct error *error);

#endif
