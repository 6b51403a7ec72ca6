/*
 * virtio_blk_request_parse over guest-controlled segments: any header, any
 * split of it, any number and direction of segments, any lengths (overlapping
 * too), any disk size. No input may crash or read or write outside the
 * segments, and what the parser lets through must honour the device's
 * promises: a status byte that is the last writable byte, data on the side
 * its type allows, whole sectors inside the disk, nothing written to a
 * read-only disk, a used length within the writable bytes.
 *
 * Input: flags (1), capacity in sectors (8, little-endian), readable and
 * writable segment counts (1 each, mod 9), per segment offset and length (2
 * + 2) into a 4 KiB "guest" buffer, then the buffer's contents.
 */
#include <linux/virtio_blk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_blk_request.h"

enum { MEMORY_SIZE = 4096, MAX_SEGMENTS = 8 };

static uint8_t memory[MEMORY_SIZE];

static uint64_t take(const uint8_t **data, size_t *size, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes && *size; i++, (*size)--, (*data)++)
        value |= (uint64_t)**data << (8 * i);
    return value;
}

static int inside(const void *pointer, uint64_t length, const struct iovec *segments, uint32_t count)
{
    const uint8_t *start = pointer;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *base = segments[i].iov_base;
        if (start >= base && length <= segments[i].iov_len && (uint64_t)(start - base) <= segments[i].iov_len - length)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags = (uint8_t)take(&data, &size, 1);
    struct virtio_blk_limits limits = {
        .capacity_sectors = take(&data, &size, 8),
        .read_only = flags & 1,
        .max_discard_sectors = 1u << 22,
        .max_write_zeroes_sectors = 1u << 22,
        .serial = "fuzz-serial",
    };
    uint32_t readable = (uint32_t)(take(&data, &size, 1) % (MAX_SEGMENTS + 1));
    uint32_t writable = (uint32_t)(take(&data, &size, 1) % (MAX_SEGMENTS + 1));
    struct iovec segments[2 * MAX_SEGMENTS];
    struct virtq_request request = {.segments = segments, .segment_capacity = 2 * MAX_SEGMENTS,
                                    .readable_count = readable, .writable_count = writable};
    for (uint32_t i = 0; i < readable + writable; i++) {
        uint64_t offset = take(&data, &size, 2) % MEMORY_SIZE;
        uint64_t length = take(&data, &size, 2) % (MEMORY_SIZE - offset + 1);
        segments[i] = (struct iovec){memory + offset, length};
        if (i < readable)
            request.readable_bytes += length;
        else
            request.writable_bytes += length;
    }
    memset(memory, 0, sizeof(memory));
    memcpy(memory, data, size < MEMORY_SIZE ? size : MEMORY_SIZE);

    struct iovec scratch[2 * MAX_SEGMENTS];
    struct virtio_blk_parsed parsed;
    virtio_blk_request_parse(&request, &limits, scratch, &parsed);

    const struct iovec *writable_segments = segments + readable;
    if (parsed.outcome == VIRTIO_BLK_NO_STATUS) {
        if (request.writable_bytes != 0)
            abort();
        return 0;
    }
    if (!parsed.status || !inside(parsed.status, 1, writable_segments, writable))
        abort();
    if (parsed.outcome == VIRTIO_BLK_DONE) {
        if (parsed.used < 1 || parsed.used > request.writable_bytes ||
            (parsed.status_value != VIRTIO_BLK_S_OK && parsed.status_value != VIRTIO_BLK_S_IOERR &&
             parsed.status_value != VIRTIO_BLK_S_UNSUPP))
            abort();
        return 0;
    }
    const struct disk_request *disk = &parsed.disk;
    uint64_t disk_bytes = limits.capacity_sectors > UINT64_MAX / 512 ? UINT64_MAX : limits.capacity_sectors * 512;
    if (disk->type == DISK_REQUEST_FLUSH)
        return 0;
    if (disk->type == DISK_REQUEST_DISCARD || disk->type == DISK_REQUEST_WRITE_ZEROES) {
        if (limits.read_only || disk->length == 0 || disk->offset % 512 || disk->length % 512 ||
            disk->offset > disk_bytes || disk->length > disk_bytes - disk->offset)
            abort();
        return 0;
    }
    bool read = disk->type == DISK_REQUEST_READ;
    if (!read && limits.read_only)
        abort();
    uint64_t total = 0;
    for (unsigned i = 0; i < disk->segment_count; i++) {
        const struct iovec *side = read ? writable_segments : segments;
        if (disk->segments[i].iov_len == 0 ||
            !inside(disk->segments[i].iov_base, disk->segments[i].iov_len, side, read ? writable : readable))
            abort();
        total += disk->segments[i].iov_len;
    }
    if (total % 512 || disk->offset % 512 || disk->offset > disk_bytes || total > disk_bytes - disk->offset)
        abort();
    /* All of one side but the header (OUT) or the status byte (IN): never the status byte itself. */
    if (total != (read ? request.writable_bytes - 1 : request.readable_bytes - sizeof(struct virtio_blk_outhdr)))
        abort();
    return 0;
}
