#ifndef KESTREL_BOOT_DECOMPRESSION_LIBRARIES_H
#define KESTREL_BOOT_DECOMPRESSION_LIBRARIES_H

/*
 * liblzma, libzstd, zlib and liblz4, loaded with dlopen when a bzImage's
 * payload is first decompressed on the host (a cold kernel cache, or
 * --kernel-entry pvh without one) instead of being linked into every exec
 * (docs/benchmarks.md, "Start time"). Once loaded a library stays, so a
 * reboot after Landlock reuses it; one needed for the first time after
 * Landlock fails to load, and the boot then goes as for any decompression
 * failure (auto: the bzImage, after one line). The headers give the types only.
 */

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "util/error.h"

struct lzma_library {
    __typeof__(lzma_stream_decoder) *stream_decoder;
    __typeof__(lzma_alone_decoder) *alone_decoder;
    __typeof__(lzma_code) *code;
    __typeof__(lzma_end) *end;
};

struct zstd_library {
    __typeof__(ZSTD_createDCtx) *create_context;
    __typeof__(ZSTD_freeDCtx) *free_context;
    __typeof__(ZSTD_decompressStream) *decompress_stream;
    __typeof__(ZSTD_isError) *is_error;
    __typeof__(ZSTD_getErrorName) *error_name;
};

struct zlib_library {
    __typeof__(inflateInit2_) *inflate_init2; /* zlib's inflateInit2 macro calls this with its version and size */
    __typeof__(inflate) *inflate;
    __typeof__(inflateEnd) *inflate_end;
};

struct lz4_library {
    __typeof__(LZ4_compressBound) *compress_bound;
    __typeof__(LZ4_decompress_safe) *decompress_safe;
};

/* Each: the loaded table, or NULL with `error` set (EXIT_STATUS_FAILURE). */
const struct lzma_library *decompression_library_lzma(struct error *error);
const struct zstd_library *decompression_library_zstd(struct error *error);
const struct zlib_library *decompression_library_zlib(struct error *error);
const struct lz4_library *decompression_library_lz4(struct error *error);

#endif
