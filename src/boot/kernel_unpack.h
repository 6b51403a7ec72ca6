#ifndef KESTREL_BOOT_KERNEL_UNPACK_H
#define KESTREL_BOOT_KERNEL_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/kernel_cache.h"
#include "boot/kernel_payload.h"
#include "util/error.h"

/*
 * The vmlinux inside a bzImage, for booting through its PVH entry: from the
 * kernel cache when a checked entry exists, else decompressed on the host
 * (and then stored in the cache). A payload that is not an ELF with a PVH
 * note is a failure like any other: the caller boots the bzImage instead.
 * Such a payload (or a corrupt one) is remembered with an empty cache entry,
 * so a kernel without PVH support pays for one decompression, not one per boot.
 */

/* Output cap: a Debian vmlinux is ~65 MiB; kernels with full debug info stay well below this. */
#define KERNEL_UNPACK_MAX_SIZE (512ull << 20)

enum kernel_unpack_source {
    KERNEL_UNPACK_FROM_CACHE,
    KERNEL_UNPACK_DECOMPRESSED, /* and stored in the cache */
    KERNEL_UNPACK_DECOMPRESSED_UNCACHED,
};

struct kernel_unpack_options {
    /* Decompress even when there is no usable cache (--kernel-entry pvh); otherwise that is a failure. */
    bool allow_uncached;
    /* NULL: the cache directory from the environment (kernel_cache_open). */
    const char *cache_directory;
};

struct kernel_unpacked {
    const uint8_t *data; /* the vmlinux ELF */
    size_t size;
    enum kernel_unpack_source source;
    /* On failure: the cache already knew this bzImage cannot boot through PVH (nothing was decompressed). */
    bool known_without_pvh;
    /* Why the cache was not used or not written, when it was not (source != FROM_CACHE). */
    char cache_problem[sizeof(((struct error *)0)->message)];
    struct kernel_cache_entry cached;
    struct kernel_decompressed decompressed;
};

/*
 * 0: `unpacked` holds an ELF with a PVH entry note. -1: `error` says why not
 * (without naming the bzImage); nothing is left mapped.
 */
int kernel_unpack(const uint8_t *bzimage, size_t size, const struct kernel_unpack_options *options,
                  struct kernel_unpacked *unpacked, struct error *error);

void kernel_unpacked_release(struct kernel_unpacked *unpacked);

#endif
