#include "boot/kernel_payload.h"

#include <asm/bootparam.h>
#include <stdbool.h>
#include <string.h>

#include "boot/bzimage.h"
#include "util/checked_math.h"

#define PAYLOAD_FIELD_OFFSET(field) (BZIMAGE_SETUP_HEADER_OFFSET + offsetof(struct setup_header, field))
/* payload_offset/payload_length are in the header from protocol 2.08. */
#define PAYLOAD_MIN_PROTOCOL 0x0208
#define PAYLOAD_HEADER_NEEDED (PAYLOAD_FIELD_OFFSET(payload_length) + sizeof(uint32_t))
#define PAYLOAD_SIZE_TRAILER 4u

static uint32_t read_le32(const uint8_t *data)
{
    return (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
}

struct compression_magic {
    enum kernel_compression compression;
    uint8_t bytes[6];
    size_t length;
    const char *name;
};

static const struct compression_magic magics[] = {
    {KERNEL_COMPRESSION_GZIP, {0x1f, 0x8b}, 2, "gzip"},
    {KERNEL_COMPRESSION_XZ, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}, 6, "xz"},
    {KERNEL_COMPRESSION_LZMA, {0x5d, 0x00, 0x00}, 3, "lzma"},
    {KERNEL_COMPRESSION_ZSTD, {0x28, 0xb5, 0x2f, 0xfd}, 4, "zstd"},
    {KERNEL_COMPRESSION_LZ4, {0x02, 0x21, 0x4c, 0x18}, 4, "lz4"},
    {KERNEL_COMPRESSION_BZIP2, {0x42, 0x5a, 0x68}, 3, "bzip2"},
    {KERNEL_COMPRESSION_LZO, {0x89, 0x4c, 0x5a, 0x4f}, 4, "lzo"},
};

const char *kernel_compression_name(enum kernel_compression compression)
{
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (magics[i].compression == compression)
            return magics[i].name;
    return "unknown";
}

int kernel_payload_locate(const uint8_t *image, size_t size, struct kernel_payload *payload, struct error *error)
{
    memset(payload, 0, sizeof(*payload));
    struct bzimage_info info;
    if (bzimage_parse(image, size, &info, error) < 0)
        return -1;
    /* bzimage_parse() demands 2.12, so the fields exist; the header must still be long enough to hold them. */
    if (info.protocol_version < PAYLOAD_MIN_PROTOCOL ||
        BZIMAGE_SETUP_HEADER_OFFSET + info.header_length < PAYLOAD_HEADER_NEEDED)
        return error_set(error, EXIT_STATUS_USAGE, "setup header has no payload_offset/payload_length fields");
    uint32_t offset = read_le32(image + PAYLOAD_FIELD_OFFSET(payload_offset));
    uint32_t length = read_le32(image + PAYLOAD_FIELD_OFFSET(payload_length));
    if (!range_within(offset, length, 0, info.kernel_size))
        return error_set(error, EXIT_STATUS_USAGE,
                         "payload (%u bytes at offset %u) lies outside the %zu bytes of protected-mode code", length,
                         offset, info.kernel_size);
    if (length <= PAYLOAD_SIZE_TRAILER)
        return error_set(error, EXIT_STATUS_USAGE, "payload is %u bytes, too short to be compressed data", length);

    const uint8_t *data = image + info.kernel_offset + offset;
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        if (length >= magics[i].length && memcmp(data, magics[i].bytes, magics[i].length) == 0) {
            payload->data = data;
            payload->size = length;
            payload->compression = magics[i].compression;
            payload->size_hint = read_le32(data + length - PAYLOAD_SIZE_TRAILER);
            return 0;
        }
    }
    return error_set(error, EXIT_STATUS_USAGE,
                     "payload has an unknown compression (magic %02x %02x %02x %02x)", data[0], data[1], data[2],
                     data[3]);
}
