/*
 * Writes the seed corpus of fuzz_kernel_payload into the directory given as
 * argv[1]: per format, a synthetic bzImage whose payload is the test PVH ELF,
 * and the same payload in the target's direct form (format byte + payload).
 *   make build/release/libkestrel.a
 *   gcc -D_GNU_SOURCE -Isrc -Itests tests/fuzz/make_seeds_kernel_payload.c build/release/libkestrel.a \
 *       -llzma -lzstd -lz -llz4 -lnettle -o /tmp/make-seeds
 *   /tmp/make-seeds tests/fuzz/corpus/fuzz_kernel_payload
 */
#include <stdbool.h>
#include <stdio.h>

#include "unit/compressed_kernel.h"

static int write_file(const char *directory, const char *name, const uint8_t *prefix, size_t prefix_size,
                      const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", directory, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(prefix, 1, prefix_size, file) != prefix_size || fwrite(data, 1, size, file) != size) {
        perror(path);
        return 1;
    }
    return fclose(file) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
        return 2;
    }
    static const enum kernel_compression formats[] = {
        KERNEL_COMPRESSION_XZ, KERNEL_COMPRESSION_LZMA, KERNEL_COMPRESSION_ZSTD, KERNEL_COMPRESSION_GZIP,
        KERNEL_COMPRESSION_LZ4,
    };
    int failed = 0;
    for (uint8_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        const char *name = kernel_compression_name(formats[i]);
        size_t size;
        uint8_t *image = compressed_kernel_pvh_bzimage(formats[i], true, &size);
        if (!image)
            return 1;
        char file[64];
        snprintf(file, sizeof(file), "bzimage-%s", name);
        failed |= write_file(argv[1], file, NULL, 0, image, size);
        const struct setup_header *header = test_bzimage_header(image);
        snprintf(file, sizeof(file), "direct-%s", name);
        failed |= write_file(argv[1], file, &i, 1, image + TEST_BZIMAGE_SETUP_SIZE + header->payload_offset,
                             header->payload_length);
        free(image);
    }
    return failed;
}
