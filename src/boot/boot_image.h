#ifndef KESTREL_BOOT_BOOT_IMAGE_H
#define KESTREL_BOOT_BOOT_IMAGE_H

#include <stdbool.h>
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

/*
 * A kernel or initrd. Either all `size` bytes are in `data`, or (`fd` set)
 * the image is streamed: `data` holds only its first `head_size` bytes, enough
 * for the bzImage header (BOOT_IMAGE_HEAD_SIZE or the whole file when it is
 * smaller), and boot_image_place() reads the rest from `fd` straight into
 * guest RAM, with no buffer in between. A zero-initialized image with data
 * set is an in-memory one (tests, the fuzzer, a cached vmlinux).
 */
struct boot_image {
    const uint8_t *data;
    size_t size;
    const char *name; /* the path, for messages */
    bool streamed;
    int fd;           /* when streamed */
    size_t head_size; /* when streamed: bytes in `data` */
};

/* The bytes of a streamed image kept in memory: the bzImage boot sector and setup header (ends by 0x302). */
#define BOOT_IMAGE_HEAD_SIZE 4096u

/* The bytes the parsers may read from `data`. */
static inline size_t boot_image_head_size(const struct boot_image *image)
{
    return image->streamed ? image->head_size : image->size;
}

/*
 * Puts the image's bytes [offset, offset+length) at guest `gpa`: a copy from
 * `data`, or a pread from the file straight into guest RAM. The range must
 * lie in the image (the parsers checked it against `size`). -1 with `error`
 * set when [gpa, gpa+length) is not in RAM (EXIT_STATUS_FAILURE) or the file
 * cannot be read or shrank (EXIT_STATUS_USAGE, naming the image).
 */
int boot_image_place(const struct guest_memory *memory, uint64_t gpa, const struct boot_image *image,
                     uint64_t offset, uint64_t length, struct error *error);

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
