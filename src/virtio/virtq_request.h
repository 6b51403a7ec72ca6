#ifndef KESTREL_VIRTIO_VIRTQ_REQUEST_H
#define KESTREL_VIRTIO_VIRTQ_REQUEST_H

/*
 * Copies in and out of a popped request's checked segments. A driver may split
 * a buffer anywhere (a 16-byte virtio-blk header can arrive as 16 one-byte
 * descriptors), so devices read and write through these instead of assuming
 * one segment per field. Guest memory behind the segments can change at any
 * moment: copy a header out once, then check the copy.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/iovec.h"
#include "virtio/virtqueue.h"

/* Copies at `offset` into the request's device-readable bytes, or into its device-writable bytes; return the bytes copied. */
size_t virtq_request_read(const struct virtq_request *request, uint64_t offset, void *destination, size_t len);
size_t virtq_request_write(const struct virtq_request *request, uint64_t offset, const void *source, size_t len);

/* Readable segments [0, readable_count) and writable ones [readable_count, +writable_count). */
static inline const struct iovec *virtq_request_readable(const struct virtq_request *request)
{
    return request->segments;
}

static inline const struct iovec *virtq_request_writable(const struct virtq_request *request)
{
    return request->segments + request->readable_count;
}

#endif
