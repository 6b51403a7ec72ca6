#ifndef KESTREL_BACKENDS_DISK_IMAGE_H
#define KESTREL_BACKENDS_DISK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/*
 * A raw disk image (regular file or block device) opened for a virtio-blk
 * device: validated, sized, and locked with an OFD lock (shared when
 * read-only, exclusive when read-write) so a second kestrel cannot write it.
 * docs/disk.md describes the cache modes and what each promises.
 */
enum disk_cache_mode {
    DISK_CACHE_WRITEBACK, /* host page cache; durable after FLUSH (fdatasync) */
    DISK_CACHE_NONE,      /* O_DIRECT: no host page cache; durable after FLUSH */
};

struct disk_image_options {
    const char *path;
    bool read_only;
    enum disk_cache_mode cache;
};

struct disk_image {
    int fd;
    uint64_t size;              /* bytes */
    bool read_only;
    bool direct;                /* opened with O_DIRECT */
    uint32_t block_size;        /* logical block: offset and length alignment under O_DIRECT */
    uint32_t memory_alignment;  /* buffer address alignment under O_DIRECT */
    /* Operations the host file system refused with EOPNOTSUPP: answered UNSUPP from then on. */
    bool punch_hole_unsupported;
    bool zero_range_unsupported;
};

/*
 * Opens and locks options->path. A missing or unreadable file, a directory or
 * other non-disk file, a zero-length image, a lock held by another process, a
 * read-only file without read_only, or O_DIRECT refused by the file system:
 * EXIT_STATUS_USAGE with a one-line message. Nothing is written to the image.
 */
int disk_image_open(struct disk_image *image, const struct disk_image_options *options, struct error *error);

/* Closes the descriptor, which drops the lock. */
void disk_image_close(struct disk_image *image);

#endif
