#ifndef KESTREL_BOOT_KERNEL_FILE_H
#define KESTREL_BOOT_KERNEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "boot/boot_image.h"
#include "util/error.h"

/*
 * A boot file (kernel or initrd). kernel_file_open() checks it and keeps it
 * open with its first bytes read (enough for a bzImage header), so the loader
 * can read the rest straight into guest RAM (a streamed boot_image);
 * kernel_file_read() reads all of it into host memory, for what needs the
 * whole file in one piece (the SHA-256 key of the kernel cache, decompressing
 * a payload, parsing an ELF). Every problem is the user's (missing,
 * unreadable, a directory, empty, too large) and fails with
 * EXIT_STATUS_USAGE and a message naming `what` and the path.
 */

/* Upper bounds; a Debian kernel is ~8 MiB compressed, ~65 MiB as vmlinux. */
#define KERNEL_FILE_MAX_KERNEL_SIZE (256ull << 20)
/* The boot protocol's ramdisk_size is 32 bits and the initrd must sit in low RAM. */
#define KERNEL_FILE_MAX_INITRD_SIZE (2ull << 30)

struct kernel_file {
    int fd;        /* -1 when closed */
    uint8_t *data; /* the whole file, after kernel_file_read_all(); else NULL */
    size_t size;
    uint8_t head[BOOT_IMAGE_HEAD_SIZE]; /* the first head_size bytes, after kernel_file_open() */
    size_t head_size;
};

/* Opens and checks the file and reads its head; the file stays open until kernel_file_release(). */
int kernel_file_open(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error);

/* Reads the whole of an opened file into host memory (`data`); `path` and `what` are for messages. */
int kernel_file_read_all(struct kernel_file *file, const char *path, const char *what, struct error *error);

/* kernel_file_open() and kernel_file_read_all(). */
int kernel_file_read(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error);

/* The file as a boot_image: in memory after kernel_file_read_all(), else streamed from its head and fd. */
struct boot_image kernel_file_image(const struct kernel_file *file, const char *path);

void kernel_file_release(struct kernel_file *file);

#endif
