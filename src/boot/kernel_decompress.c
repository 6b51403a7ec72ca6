/* kernel_payload_decompress(): one function per format, all writing into a growable anonymous mapping. */
#include <limits.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/decompression_libraries.h"
#include "boot/kernel_payload.h"
#include "util/checked_math.h"

#define PAGE_SIZE_BYTES 4096u
#define OUTPUT_MIN_CAPACITY (64u << 10)
/* liblzma's dictionary for a kernel is at most 32 MiB (xz -9 uses 64 MiB); a bound on a hostile header. */
#define LZMA_MEMORY_LIMIT (256ull << 20)
/* Linux's lz4 legacy format: blocks of at most 8 MiB of output, each preceded by its 32-bit compressed size. */
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK_MAX (8u << 20)
#define TRAILER_SIZE 4u

/*
 * Output grows by doubling: starting from the payload's size hint saves every
 * copy when the hint is honest, and a lying hint costs only some mremaps.
 */
static int output_reserve(struct kernel_decompressed *output, size_t wanted, uint64_t max_output,
                          struct error *error)
{
    if (wanted <= output->capacity)
        return 0;
    if (wanted > max_output)
        return error_set(error, EXIT_STATUS_USAGE, "payload decompresses to more than %llu MiB",
                         (unsigned long long)(max_output >> 20));
    uint64_t capacity = output->capacity ? output->capacity : OUTPUT_MIN_CAPACITY;
    while (capacity < wanted)
        capacity *= 2;
    if (capacity > max_output)
        capacity = max_output;
    capacity = align_up_u64(capacity, PAGE_SIZE_BYTES);
    void *data;
    if (output->data)
        data = mremap(output->data, output->capacity, (size_t)capacity, MREMAP_MAYMOVE);
    else
        data = mmap(NULL, (size_t)capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory decompressing the kernel (%llu bytes)",
                         (unsigned long long)capacity);
    madvise(data, (size_t)capacity, MADV_HUGEPAGE);
    output->data = data;
    output->capacity = (size_t)capacity;
    return 0;
}

/* Room for at least one more byte (or `step`), for the streaming decoders. */
static int output_grow(struct kernel_decompressed *output, size_t step, uint64_t max_output, struct error *error)
{
    uint64_t wanted;
    if (!checked_add_u64(output->size, step, &wanted))
        wanted = UINT64_MAX;
    if (wanted > max_output && output->size < max_output)
        wanted = max_output;
    return output_reserve(output, (size_t)(wanted < SIZE_MAX ? wanted : SIZE_MAX), max_output, error);
}

static int truncated(struct error *error, const char *format)
{
    return error_set(error, EXIT_STATUS_USAGE, "%s payload is truncated (the stream does not end)", format);
}

static int decompress_lzma(const struct kernel_payload *payload, uint64_t max_output,
                           struct kernel_decompressed *output, struct error *error)
{
    const struct lzma_library *lzma = decompression_library_lzma(error);
    if (!lzma)
        return -1;
    lzma_stream stream = LZMA_STREAM_INIT;
    lzma_ret ret = payload->compression == KERNEL_COMPRESSION_XZ
                       ? lzma->stream_decoder(&stream, LZMA_MEMORY_LIMIT, 0)
                       : lzma->alone_decoder(&stream, LZMA_MEMORY_LIMIT);
    if (ret != LZMA_OK)
        return error_set(error, EXIT_STATUS_FAILURE, "liblzma: cannot start a decoder (%d)", (int)ret);
    const char *format = kernel_compression_name(payload->compression);
    stream.next_in = payload->data;
    stream.avail_in = payload->size;
    int result = -1;
    /* Each pass either fills the output (which then grows, boundedly) or ends the stream. */
    for (;;) {
        if (output->size == output->capacity && output_grow(output, 1, max_output, error) < 0)
            break;
        stream.next_out = output->data + output->size;
        stream.avail_out = output->capacity - output->size;
        ret = lzma->code(&stream, LZMA_RUN);
        output->size = output->capacity - stream.avail_out;
        if (ret == LZMA_STREAM_END) {
            result = 0;
            break;
        }
        if (ret == LZMA_OK && stream.avail_out == 0)
            continue;
        if (ret == LZMA_OK || ret == LZMA_BUF_ERROR)
            truncated(error, format);
        else if (ret == LZMA_MEMLIMIT_ERROR)
            error_set(error, EXIT_STATUS_USAGE, "%s payload needs more than %llu MiB to decompress", format,
                      LZMA_MEMORY_LIMIT >> 20);
        else
            error_set(error, EXIT_STATUS_USAGE, "%s payload is corrupt (liblzma error %d)", format, (int)ret);
        break;
    }
    lzma->end(&stream);
    return result;
}

static int decompress_zstd(const struct kernel_payload *payload, uint64_t max_output,
                           struct kernel_decompressed *output, struct error *error)
{
    const struct zstd_library *zstd = decompression_library_zstd(error);
    if (!zstd)
        return -1;
    ZSTD_DCtx *context = zstd->create_context();
    if (!context)
        return error_set(error, EXIT_STATUS_FAILURE, "libzstd: cannot create a decompression context");
    ZSTD_inBuffer in = {.src = payload->data, .size = payload->size, .pos = 0};
    int result = -1;
    for (;;) {
        if (output->size == output->capacity && output_grow(output, 1, max_output, error) < 0)
            break;
        ZSTD_outBuffer out = {.dst = output->data, .size = output->capacity, .pos = output->size};
        size_t in_before = in.pos;
        size_t out_before = out.pos;
        size_t ret = zstd->decompress_stream(context, &out, &in);
        output->size = out.pos;
        if (zstd->is_error(ret)) {
            error_set(error, EXIT_STATUS_USAGE, "zstd payload is corrupt (%s)", zstd->error_name(ret));
            break;
        }
        if (ret == 0) {
            result = 0;
            break;
        }
        /* Not done: either the output is full (grow) or the input ran out mid-frame. */
        if (out.pos < out.size && in.pos == in.size) {
            truncated(error, "zstd");
            break;
        }
        /* The library promises progress; a call that makes none must not spin. */
        if (in.pos == in_before && out.pos == out_before && out.pos < out.size) {
            error_set(error, EXIT_STATUS_USAGE, "zstd payload is corrupt (no progress)");
            break;
        }
    }
    zstd->free_context(context);
    return result;
}

static int decompress_gzip(const struct kernel_payload *payload, uint64_t max_output,
                           struct kernel_decompressed *output, struct error *error)
{
    if (payload->size > UINT_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "gzip payload is larger than zlib takes at once");
    const struct zlib_library *zlib = decompression_library_zlib(error);
    if (!zlib)
        return -1;
    z_stream stream;
    memset(&stream, 0, sizeof(stream));
    /* 16 + MAX_WBITS: a gzip header and trailer, not a raw zlib stream. */
    if (zlib->inflate_init2(&stream, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(stream)) != Z_OK)
        return error_set(error, EXIT_STATUS_FAILURE, "zlib: cannot start inflate");
    stream.next_in = (Bytef *)(uintptr_t)payload->data;
    stream.avail_in = (uInt)payload->size;
    int result = -1;
    for (;;) {
        if (output->size == output->capacity && output_grow(output, 1, max_output, error) < 0)
            break;
        size_t room = output->capacity - output->size;
        stream.next_out = output->data + output->size;
        stream.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt before = stream.avail_out;
        int ret = zlib->inflate(&stream, Z_NO_FLUSH);
        output->size += before - stream.avail_out;
        if (ret == Z_STREAM_END) {
            result = 0;
            break;
        }
        if (ret == Z_OK && stream.avail_out == 0)
            continue;
        if (ret == Z_OK || ret == Z_BUF_ERROR)
            truncated(error, "gzip");
        else if (ret == Z_MEM_ERROR)
            error_set(error, EXIT_STATUS_FAILURE, "zlib: out of memory");
        else
            error_set(error, EXIT_STATUS_USAGE, "gzip payload is corrupt (%s)", stream.msg ? stream.msg : "zlib");
        break;
    }
    zlib->inflate_end(&stream);
    return result;
}

static uint32_t read_le32(const uint8_t *data)
{
    return (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
}

/*
 * Linux's lz4 payload: the legacy magic, then blocks; the magic may recur
 * (concatenated archives) and Linux's 4-byte size trailer ends it.
 */
static int decompress_lz4(const struct kernel_payload *payload, uint64_t max_output,
                          struct kernel_decompressed *output, struct error *error)
{
    const struct lz4_library *lz4 = decompression_library_lz4(error);
    if (!lz4)
        return -1;
    size_t position = 4; /* past the magic */
    bool any_block = false;
    while (payload->size - position > TRAILER_SIZE) {
        uint32_t block_size = read_le32(payload->data + position);
        position += 4;
        if (block_size == LZ4_LEGACY_MAGIC)
            continue;
        if (block_size == 0 || block_size > (uint32_t)lz4->compress_bound(LZ4_LEGACY_BLOCK_MAX) ||
            block_size > payload->size - position)
            return error_set(error, EXIT_STATUS_USAGE, "lz4 payload is corrupt (block of %u bytes at offset %zu)",
                             block_size, position - 4);
        if (output_grow(output, LZ4_LEGACY_BLOCK_MAX, max_output, error) < 0)
            return -1;
        size_t room = output->capacity - output->size;
        if (room > LZ4_LEGACY_BLOCK_MAX)
            room = LZ4_LEGACY_BLOCK_MAX;
        int got = lz4->decompress_safe((const char *)payload->data + position, (char *)output->data + output->size,
                                      (int)block_size, (int)room);
        if (got < 0)
            return error_set(error, EXIT_STATUS_USAGE, "lz4 payload is corrupt (block at offset %zu)", position - 4);
        output->size += (size_t)got;
        position += block_size;
        any_block = true;
    }
    if (!any_block)
        return truncated(error, "lz4");
    return 0;
}

int kernel_payload_decompress(const struct kernel_payload *payload, uint64_t max_output,
                              struct kernel_decompressed *output, struct error *error)
{
    memset(output, 0, sizeof(*output));
    if (max_output == 0)
        return error_set(error, EXIT_STATUS_USAGE, "no room to decompress the payload");
    /* Start at the hint when it is plausible (a kernel compresses by less than 64x); growth covers a lie. */
    uint64_t start = payload->size_hint;
    uint64_t plausible;
    if (!checked_mul_u64(payload->size, 64, &plausible) || start > plausible)
        start = plausible;
    if (start < OUTPUT_MIN_CAPACITY)
        start = OUTPUT_MIN_CAPACITY;
    if (start > max_output)
        start = max_output;
    int result;
    if (output_reserve(output, (size_t)start, max_output, error) < 0)
        return -1;
    switch (payload->compression) {
    case KERNEL_COMPRESSION_XZ:
    case KERNEL_COMPRESSION_LZMA:
        result = decompress_lzma(payload, max_output, output, error);
        break;
    case KERNEL_COMPRESSION_ZSTD:
        result = decompress_zstd(payload, max_output, output, error);
        break;
    case KERNEL_COMPRESSION_GZIP:
        result = decompress_gzip(payload, max_output, output, error);
        break;
    case KERNEL_COMPRESSION_LZ4:
        result = decompress_lz4(payload, max_output, output, error);
        break;
    default:
        result = error_set(error, EXIT_STATUS_USAGE, "payload is %s-compressed, which kestrel cannot decompress",
                           kernel_compression_name(payload->compression));
        break;
    }
    if (result == 0 && output->size > max_output)
        result = error_set(error, EXIT_STATUS_USAGE, "payload decompresses to more than %llu MiB",
                           (unsigned long long)(max_output >> 20));
    if (result == 0 && output->size == 0)
        result = error_set(error, EXIT_STATUS_USAGE, "payload decompresses to nothing");
    if (result < 0)
        kernel_decompressed_release(output);
    return result;
}

void kernel_decompressed_release(struct kernel_decompressed *output)
{
    if (output->data)
        munmap(output->data, output->capacity);
    memset(output, 0, sizeof(*output));
}
