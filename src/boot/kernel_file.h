#ifndef KESTREL_BOOT_KERNEL_FILE_H
#define KESTREL_BOOT_KERNEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Reads a whole boot file (kernel or initrd) into host memory. Every problem
 * is the user's (missing, unreadable, a directory, empty, too large) and
 * fails with EXIT_STATUS_USAGE and a message naming `what` and the path.
 */

/* Upper bounds; a Debian kernel is ~8 MiB compressed, ~65 MiB as vmlinux. */
#define KERNEL_FILE_MAX_KERNEL_SIZE (256ull << 20)
/* The boot protocol's ramdisk_size is 32 bits and the initrd must sit in low RAM. */
#define KERNEL_FILE_MAX_INITRD_SIZE (2ull << 30)

struct kernel_file {
    uint8_t *data;
    size_t size;
};

/* `what` is "kernel" or "initrd", used in messages. */
int kernel_file_read(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error);

void kernel_file_release(struct kernel_file *file);

#endif
