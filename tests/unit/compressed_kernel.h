#ifndef KESTREL_TESTS_COMPRESSED_KERNEL_H
#define KESTREL_TESTS_COMPRESSED_KERNEL_H

/*
 * Synthetic bzImages whose payload is a compressed ELF, built the way Linux
 * builds them (the compressed stream, then the uncompressed size as 32-bit
 * little-endian), with the same libraries' compressors. Tests and the fuzz
 * seed generator share them.
 */

#include <lz4.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/kernel_payload.h"
#include "unit/boot_test_images.h"

/* Compresses `data` in `format`; NULL for the formats kestrel does not decompress. Caller frees. */
static inline uint8_t *compressed_kernel_compress(enum kernel_compression format, const uint8_t *data, size_t size,
                                                  size_t *compressed_size)
{
    size_t capacity = size * 2 + 1024;
    uint8_t *out = malloc(capacity);
    size_t length = 0;
    switch (format) {
    case KERNEL_COMPRESSION_XZ:
        if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, data, size, out, &length, capacity) != LZMA_OK)
            goto fail;
        break;
    case KERNEL_COMPRESSION_LZMA: {
        lzma_options_lzma options;
        lzma_lzma_preset(&options, 6);
        lzma_stream stream = LZMA_STREAM_INIT;
        if (lzma_alone_encoder(&stream, &options) != LZMA_OK)
            goto fail;
        stream.next_in = data;
        stream.avail_in = size;
        stream.next_out = out;
        stream.avail_out = capacity;
        lzma_ret ret = lzma_code(&stream, LZMA_FINISH);
        length = capacity - stream.avail_out;
        lzma_end(&stream);
        if (ret != LZMA_STREAM_END)
            goto fail;
        break;
    }
    case KERNEL_COMPRESSION_ZSTD:
        length = ZSTD_compress(out, capacity, data, size, 19);
        if (ZSTD_isError(length))
            goto fail;
        break;
    case KERNEL_COMPRESSION_GZIP: {
        z_stream stream;
        memset(&stream, 0, sizeof(stream));
        if (deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            goto fail;
        stream.next_in = (Bytef *)(uintptr_t)data;
        stream.avail_in = (uInt)size;
        stream.next_out = out;
        stream.avail_out = (uInt)capacity;
        int ret = deflate(&stream, Z_FINISH);
        length = capacity - stream.avail_out;
        deflateEnd(&stream);
        if (ret != Z_STREAM_END)
            goto fail;
        break;
    }
    case KERNEL_COMPRESSION_LZ4: {
        /* Legacy format: magic, then (size, block) pairs of at most 8 MiB of input each. */
        const uint32_t magic = 0x184c2102u;
        memcpy(out, &magic, 4);
        length = 4;
        for (size_t done = 0; done < size;) {
            size_t chunk = size - done > (8u << 20) ? (8u << 20) : size - done;
            int got = LZ4_compress_default((const char *)data + done, (char *)out + length + 4, (int)chunk,
                                           (int)(capacity - length - 4));
            if (got <= 0)
                goto fail;
            uint32_t block = (uint32_t)got;
            memcpy(out + length, &block, 4);
            length += 4 + block;
            done += chunk;
        }
        break;
    }
    default:
        goto fail;
    }
    *compressed_size = length;
    return out;
fail:
    free(out);
    return NULL;
}

/*
 * A bzImage (boot_test_images.h's header) whose protected-mode code is
 * `prefix` bytes of filler, then the payload: `content` compressed in
 * `format` and Linux's 4-byte size trailer, which says `size_hint`.
 * Caller frees; NULL when the format cannot be built.
 */
static inline uint8_t *compressed_kernel_bzimage(enum kernel_compression format, const uint8_t *content,
                                                 size_t content_size, uint32_t size_hint, size_t *image_size)
{
    size_t compressed_size;
    uint8_t *compressed = compressed_kernel_compress(format, content, content_size, &compressed_size);
    if (!compressed)
        return NULL;
    const size_t prefix = 0x40;
    size_t payload_length = compressed_size + 4;
    size_t code_size = (prefix + payload_length + 15) & ~(size_t)15;
    size_t base_size;
    uint8_t *base = test_bzimage_create(&base_size);
    uint8_t *image = calloc(1, TEST_BZIMAGE_SETUP_SIZE + code_size);
    memcpy(image, base, TEST_BZIMAGE_SETUP_SIZE);
    free(base);
    memset(image + TEST_BZIMAGE_SETUP_SIZE, 0x90, prefix);
    memcpy(image + TEST_BZIMAGE_SETUP_SIZE + prefix, compressed, compressed_size);
    memcpy(image + TEST_BZIMAGE_SETUP_SIZE + prefix + compressed_size, &size_hint, 4);
    free(compressed);
    struct setup_header *header = test_bzimage_header(image);
    header->syssize = (uint32_t)(code_size / 16);
    header->payload_offset = (uint32_t)prefix;
    header->payload_length = (uint32_t)payload_length;
    *image_size = TEST_BZIMAGE_SETUP_SIZE + code_size;
    return image;
}

/* The usual case: the test ELF (with a PVH note unless `pvh_note` is false), an honest size hint. */
static inline uint8_t *compressed_kernel_pvh_bzimage(enum kernel_compression format, bool pvh_note,
                                                     size_t *image_size)
{
    size_t elf_size;
    uint8_t *elf = test_elf_create(&elf_size, pvh_note ? 8 : 0);
    uint8_t *image = compressed_kernel_bzimage(format, elf, elf_size, (uint32_t)elf_size, image_size);
    free(elf);
    return image;
}

#endif
