#include "mem/iovec.h"

#include <stdbool.h>
#include <string.h>

uint64_t iovec_total_length(const struct iovec *segments, uint32_t count)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (__builtin_add_overflow(total, (uint64_t)segments[i].iov_len, &total))
            return UINT64_MAX;
    }
    return total;
}

/*
 * Walks the segments from `offset` for at most `len` bytes, copying in the
 * given direction. Each step copies min(remaining in segment, remaining
 * wanted), so no pointer ever leaves a segment.
 */
static size_t iovec_copy(const struct iovec *segments, uint32_t count, uint64_t offset, uint8_t *buffer, size_t len,
                         bool into_segments)
{
    size_t copied = 0;
    for (uint32_t i = 0; i < count && copied < len; i++) {
        uint64_t segment_len = segments[i].iov_len;
        if (offset >= segment_len) {
            offset -= segment_len;
            continue;
        }
        uint64_t available = segment_len - offset;
        size_t chunk = len - copied;
        if (chunk > available)
            chunk = (size_t)available;
        uint8_t *segment_bytes = (uint8_t *)segments[i].iov_base + offset;
        if (into_segments)
            memcpy(segment_bytes, buffer + copied, chunk);
        else
            memcpy(buffer + copied, segment_bytes, chunk);
        copied += chunk;
        offset = 0;
    }
    return copied;
}

size_t iovec_copy_from(const struct iovec *segments, uint32_t count, uint64_t offset, void *destination, size_t len)
{
    return iovec_copy(segments, count, offset, destination, len, false);
}

size_t iovec_copy_to(const struct iovec *segments, uint32_t count, uint64_t offset, const void *source, size_t len)
{
    /* The buffer is only read in this direction; the cast lets one walker serve both. */
    return iovec_copy(segments, count, offset, (uint8_t *)source, len, true);
}

uint32_t iovec_slice(const struct iovec *segments, uint32_t count, uint64_t offset, struct iovec *out,
                     uint32_t capacity)
{
    uint32_t written = 0;
    for (uint32_t i = 0; i < count && written < capacity; i++) {
        if (offset >= segments[i].iov_len) {
            offset -= segments[i].iov_len;
            continue;
        }
        out[written].iov_base = (uint8_t *)segments[i].iov_base + offset;
        out[written].iov_len = segments[i].iov_len - (size_t)offset;
        offset = 0;
        written++;
    }
    return written;
}
