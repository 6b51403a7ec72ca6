#include "boot/decompression_libraries.h"

#include "util/shared_library.h"

/* The sonames of Debian 12's liblzma5, libzstd1, zlib1g and liblz4-1. */
static const char purpose[] = "kernel decompression";

static struct lzma_library lzma_table;
static const struct shared_library_symbol lzma_symbols[] = {
    {"lzma_stream_decoder", (void **)&lzma_table.stream_decoder},
    {"lzma_alone_decoder", (void **)&lzma_table.alone_decoder},
    {"lzma_code", (void **)&lzma_table.code},
    {"lzma_end", (void **)&lzma_table.end},
};
static struct shared_library lzma_library = SHARED_LIBRARY_INIT("liblzma.so.5", lzma_symbols);

static struct zstd_library zstd_table;
static const struct shared_library_symbol zstd_symbols[] = {
    {"ZSTD_createDCtx", (void **)&zstd_table.create_context},
    {"ZSTD_freeDCtx", (void **)&zstd_table.free_context},
    {"ZSTD_decompressStream", (void **)&zstd_table.decompress_stream},
    {"ZSTD_isError", (void **)&zstd_table.is_error},
    {"ZSTD_getErrorName", (void **)&zstd_table.error_name},
};
static struct shared_library zstd_library = SHARED_LIBRARY_INIT("libzstd.so.1", zstd_symbols);

static struct zlib_library zlib_table;
static const struct shared_library_symbol zlib_symbols[] = {
    {"inflateInit2_", (void **)&zlib_table.inflate_init2},
    {"inflate", (void **)&zlib_table.inflate},
    {"inflateEnd", (void **)&zlib_table.inflate_end},
};
static struct shared_library zlib_library = SHARED_LIBRARY_INIT("libz.so.1", zlib_symbols);

static struct lz4_library lz4_table;
static const struct shared_library_symbol lz4_symbols[] = {
    {"LZ4_compressBound", (void **)&lz4_table.compress_bound},
    {"LZ4_decompress_safe", (void **)&lz4_table.decompress_safe},
};
static struct shared_library lz4_library = SHARED_LIBRARY_INIT("liblz4.so.1", lz4_symbols);

const struct lzma_library *decompression_library_lzma(struct error *error)
{
    return shared_library_get(&lzma_library, purpose, error) == 0 ? &lzma_table : NULL;
}

const struct zstd_library *decompression_library_zstd(struct error *error)
{
    return shared_library_get(&zstd_library, purpose, error) == 0 ? &zstd_table : NULL;
}

const struct zlib_library *decompression_library_zlib(struct error *error)
{
    return shared_library_get(&zlib_library, purpose, error) == 0 ? &zlib_table : NULL;
}

const struct lz4_library *decompression_library_lz4(struct error *error)
{
    return shared_library_get(&lz4_library, purpose, error) == 0 ? &lz4_table : NULL;
}
