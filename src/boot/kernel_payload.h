#ifndef KESTREL_BOOT_KERNEL_PAYLOAD_H
#define KESTREL_BOOT_KERNEL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * The compressed kernel inside a bzImage (boot protocol 2.08+: payload_offset
 * and payload_length in the setup header, counted from the start of the
 * protected-mode code) and its decompression on the host, with Debian's
 * libraries (liblzma, libzstd, zlib, liblz4). The payload is file-controlled:
 * every offset and size is checked, and the output is capped.
 *
 * Errors are EXIT_STATUS_USAGE and describe the problem without naming the
 * file; the caller decides whether it is fatal (--kernel-entry pvh) or a
 * reason to boot the bzImage instead.
 */

enum kernel_compression {
    KERNEL_COMPRESSION_GZIP,
    KERNEL_COMPRESSION_XZ,
    KERNEL_COMPRESSION_LZMA,
    KERNEL_COMPRESSION_ZSTD,
    KERNEL_COMPRESSION_LZ4,
    /* Recognised, but kestrel links no library for them. */
    KERNEL_COMPRESSION_BZIP2,
    KERNEL_COMPRESSION_LZO,
};

struct kernel_payload {
    const uint8_t *data; /* inside the bzImage bytes */
    size_t size;
    enum kernel_compression compression;
    /* Linux appends the uncompressed size (32-bit LE) to every payload: a hint only, never trusted. */
    uint32_t size_hint;
};

/* The decompressed kernel: an anonymous mapping of `capacity` bytes, `size` of them written. */
struct kernel_decompressed {
    uint8_t *data;
    size_t size;
    size_t capacity;
};

const char *kernel_compression_name(enum kernel_compression compression);

/* Finds and identifies the payload of a bzImage (bytes `image`, `size`). */
int kernel_payload_locate(const uint8_t *image, size_t size, struct kernel_payload *payload, struct error *error);

/*
 * Decompresses the payload's first stream into a new mapping of at most
 * `max_output` bytes (more is an error). Bytes after the stream (Linux's
 * size trailer, padding) are ignored.
 */
int kernel_payload_decompress(const struct kernel_payload *payload, uint64_t max_output,
                              struct kernel_decompressed *output, struct error *error);

void kernel_decompressed_release(struct kernel_decompressed *output);

#endif
