/*
 * The bzImage payload path: locating the payload in the setup header,
 * recognising its compression, decompressing it (liblzma, libzstd, zlib,
 * liblz4 with kestrel's bounds), and parsing the result as a PVH ELF.
 * Input: a first byte below 5 selects a format and the rest is that format's
 * raw payload (so the fuzzer reaches each decoder directly); otherwise the
 * whole input is a bzImage. Seeds: tests/fuzz/make_seeds_kernel_payload.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot/elf_pvh.h"
#include "boot/kernel_payload.h"

/* Small: a bomb must hit the cap quickly, and real kernels are not fuzz inputs. */
#define FUZZ_MAX_OUTPUT (4ull << 20)

static const enum kernel_compression direct_formats[] = {
    KERNEL_COMPRESSION_XZ, KERNEL_COMPRESSION_LZMA, KERNEL_COMPRESSION_ZSTD, KERNEL_COMPRESSION_GZIP,
    KERNEL_COMPRESSION_LZ4,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kernel_payload payload;
    struct error error;
    if (size > 0 && data[0] < sizeof(direct_formats) / sizeof(direct_formats[0])) {
        if (size < 1 + 4 + 1)
            return 0;
        payload = (struct kernel_payload){
            .data = data + 1,
            .size = size - 1,
            .compression = direct_formats[data[0]],
        };
        memcpy(&payload.size_hint, data + size - 4, 4);
    } else if (kernel_payload_locate(data, size, &payload, &error) < 0) {
        return 0;
    }
    struct kernel_decompressed output;
    if (kernel_payload_decompress(&payload, FUZZ_MAX_OUTPUT, &output, &error) < 0)
        return 0;
    struct elf_pvh_info elf;
    if (elf_detect(output.data, output.size))
        (void)elf_pvh_parse(output.data, output.size, &elf, &error);
    kernel_decompressed_release(&output);
    return 0;
}
