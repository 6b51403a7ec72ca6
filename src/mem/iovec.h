#ifndef KESTREL_MEM_IOVEC_H
#define KESTREL_MEM_IOVEC_H

/*
 * Scatter-gather copies over host segments (virtio/virtq_request.h applies
 * them to the checked segments of a popped virtqueue request). A driver may split a buffer anywhere (a 16-byte
 * virtio-blk header can arrive as 16 one-byte descriptors), so devices read
 * and write through these instead of assuming one segment per field.
 *
 * Offsets and lengths are bounds-checked without overflow: a copy never goes
 * past the segments. Guest memory behind the segments can change at any
 * moment; copy a header out once, then check the copy.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Sum of the segment lengths (saturates at UINT64_MAX, which real segments never reach). */
uint64_t iovec_total_length(const struct iovec *segments, uint32_t count);

/*
 * Copies up to `len` bytes, starting `offset` bytes into the concatenated
 * segments, into `destination`. Returns the number of bytes copied: less than
 * `len` when the segments end first, 0 when `offset` is past the end.
 */
size_t iovec_copy_from(const struct iovec *segments, uint32_t count, uint64_t offset, void *destination, size_t len);

/* Copies up to `len` bytes from `source` into the segments at `offset`; returns the bytes copied. */
size_t iovec_copy_to(const struct iovec *segments, uint32_t count, uint64_t offset, const void *source, size_t len);

/*
 * Writes into `out` (at most `capacity` entries) the segments that describe
 * the bytes from `offset` on, without copying data. Returns the number
 * written; the bytes described are fewer than the rest when `out` fills.
 */
uint32_t iovec_slice(const struct iovec *segments, uint32_t count, uint64_t offset, struct iovec *out,
                     uint32_t capacity);

#endif
