#include "backends/disk_slot.h"

#include <errno.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <string.h>

#include "util/checked_math.h"

/* Interrupted or would-block results are retried this many times, then fail. */
enum { DISK_SLOT_MAX_RETRIES = 8 };

static bool is_transfer(enum disk_request_type type)
{
    return type == DISK_REQUEST_READ || type == DISK_REQUEST_WRITE;
}

static bool uses_punch_hole(const struct disk_request *request)
{
    return request->type == DISK_REQUEST_DISCARD || (request->type == DISK_REQUEST_WRITE_ZEROES && request->unmap);
}

static bool segments_direct_ready(const struct disk_slot *slot, const struct disk_image *image)
{
    for (unsigned i = 0; i < slot->request.segment_count; i++) {
        uintptr_t base = (uintptr_t)slot->segments[i].iov_base;
        if (base % image->memory_alignment != 0 || slot->segments[i].iov_len % image->block_size != 0)
            return false;
    }
    return true;
}

static uint8_t prepare_bounce(struct disk_slot *slot, const struct disk_image *image)
{
    if (slot->total > DISK_ENGINE_BOUNCE_LIMIT)
        return VIRTIO_BLK_S_IOERR;
    size_t alignment = image->memory_alignment > image->block_size ? image->memory_alignment : image->block_size;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    if (posix_memalign(&slot->bounce, alignment, slot->total) != 0) {
        slot->bounce = NULL;
        return VIRTIO_BLK_S_IOERR;
    }
    if (slot->request.type == DISK_REQUEST_WRITE) {
        uint8_t *cursor = slot->bounce;
        for (unsigned i = 0; i < slot->request.segment_count; i++) {
            memcpy(cursor, slot->segments[i].iov_base, slot->segments[i].iov_len);
            cursor += slot->segments[i].iov_len;
        }
    }
    slot->bounce_segment = (struct iovec){ slot->bounce, slot->total };
    slot->io_segments = &slot->bounce_segment;
    slot->io_count = 1;
    return VIRTIO_BLK_S_OK;
}

static uint8_t prepare_transfer(struct disk_slot *slot, const struct disk_image *image)
{
    const struct disk_request *request = &slot->request;
    if (request->segment_count > DISK_ENGINE_MAX_SEGMENTS || (request->segment_count && !request->segments))
        return VIRTIO_BLK_S_IOERR;
    if (request->type == DISK_REQUEST_WRITE && image->read_only)
        return VIRTIO_BLK_S_IOERR;
    slot->segments = slot->inline_segments;
    if (request->segment_count > DISK_SLOT_INLINE_SEGMENTS) {
        slot->segments = calloc(request->segment_count, sizeof(*slot->segments));
        if (!slot->segments)
            return VIRTIO_BLK_S_IOERR;
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < request->segment_count; i++) {
        slot->segments[i] = request->segments[i];
        if (!checked_add_u64(total, slot->segments[i].iov_len, &total))
            return VIRTIO_BLK_S_IOERR;
    }
    slot->request.segments = slot->segments;
    slot->total = total;
    if (!range_within(request->offset, total, 0, image->size))
        return VIRTIO_BLK_S_IOERR;
    slot->io_segments = slot->segments;
    slot->io_count = request->segment_count;
    if (!image->direct || total == 0)
        return VIRTIO_BLK_S_OK;
    /* O_DIRECT cannot move a partial block of the file; the device advertises block_size so drivers never ask. */
    if (request->offset % image->block_size != 0 || total % image->block_size != 0)
        return VIRTIO_BLK_S_IOERR;
    return segments_direct_ready(slot, image) ? VIRTIO_BLK_S_OK : prepare_bounce(slot, image);
}

uint8_t disk_slot_prepare(struct disk_slot *slot, const struct disk_image *image, const struct disk_request *request)
{
    struct disk_slot *next = slot->next;
    memset(slot, 0, sizeof(*slot));
    slot->next = next;
    slot->request = *request;
    slot->request.segments = NULL;
    slot->segments = slot->inline_segments;
    slot->request.segment_count = is_transfer(request->type) ? request->segment_count : 0;
    switch (request->type) {
    case DISK_REQUEST_READ:
    case DISK_REQUEST_WRITE:
        slot->request.segments = request->segments;
        return prepare_transfer(slot, image);
    case DISK_REQUEST_FLUSH:
        return VIRTIO_BLK_S_OK;
    case DISK_REQUEST_DISCARD:
    case DISK_REQUEST_WRITE_ZEROES:
        if (image->read_only)
            return VIRTIO_BLK_S_IOERR;
        if (!range_within(request->offset, request->length, 0, image->size))
            return VIRTIO_BLK_S_IOERR;
        if (uses_punch_hole(request) ? image->punch_hole_unsupported : image->zero_range_unsupported)
            return VIRTIO_BLK_S_UNSUPP;
        slot->total = request->length;
        return VIRTIO_BLK_S_OK;
    }
    return VIRTIO_BLK_S_UNSUPP;
}

bool disk_slot_needs_io(const struct disk_slot *slot)
{
    return slot->request.type == DISK_REQUEST_FLUSH || slot->total > 0;
}

uint64_t disk_slot_io_offset(const struct disk_slot *slot)
{
    return slot->request.offset + slot->done;
}

uint64_t disk_slot_io_length(const struct disk_slot *slot)
{
    return slot->total - slot->done;
}

void disk_slot_fill_sqe(const struct disk_slot *slot, const struct disk_image *image, struct io_uring_sqe *sqe)
{
    const struct disk_request *request = &slot->request;
    /* Only transfers have segments; io_segments is NULL for the others. */
    const struct iovec *segments = slot->io_segments ? slot->io_segments + slot->io_first : NULL;
    unsigned count = slot->io_count - slot->io_first;
    off_t offset = (off_t)disk_slot_io_offset(slot);
    switch (request->type) {
    case DISK_REQUEST_READ:
        io_uring_prep_readv(sqe, image->fd, segments, count, (uint64_t)offset);
        break;
    case DISK_REQUEST_WRITE:
        io_uring_prep_writev(sqe, image->fd, segments, count, (uint64_t)offset);
        break;
    case DISK_REQUEST_FLUSH:
        io_uring_prep_fsync(sqe, image->fd, IORING_FSYNC_DATASYNC);
        break;
    case DISK_REQUEST_DISCARD:
    case DISK_REQUEST_WRITE_ZEROES: {
        int mode = FALLOC_FL_KEEP_SIZE | (uses_punch_hole(request) ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
        io_uring_prep_fallocate(sqe, image->fd, mode, offset, (off_t)disk_slot_io_length(slot));
        break;
    }
    }
}

/* Moves the transfer window past `count` bytes: the next SQE starts where this one stopped. */
static void advance(struct disk_slot *slot, uint64_t count)
{
    slot->done += count;
    while (count > 0 && slot->io_first < slot->io_count) {
        struct iovec *segment = &slot->io_segments[slot->io_first];
        if (count < segment->iov_len) {
            segment->iov_base = (uint8_t *)segment->iov_base + count;
            segment->iov_len -= count;
            return;
        }
        count -= segment->iov_len;
        slot->io_first++;
    }
}

static void copy_bounce_out(struct disk_slot *slot)
{
    const uint8_t *cursor = slot->bounce;
    uint64_t left = slot->done;
    for (unsigned i = 0; i < slot->request.segment_count && left > 0; i++) {
        size_t chunk = slot->segments[i].iov_len < left ? slot->segments[i].iov_len : left;
        memcpy(slot->segments[i].iov_base, cursor, chunk);
        cursor += chunk;
        left -= chunk;
    }
}

static enum disk_slot_outcome finish(struct disk_slot *slot, uint8_t status)
{
    slot->status = status;
    if (slot->bounce && slot->request.type == DISK_REQUEST_READ)
        copy_bounce_out(slot);
    return DISK_SLOT_COMPLETE;
}

static enum disk_slot_outcome complete_error(struct disk_slot *slot, struct disk_image *image, int error)
{
    if ((error == EINTR || error == EAGAIN) && slot->retries < DISK_SLOT_MAX_RETRIES) {
        slot->retries++;
        return DISK_SLOT_RESUBMIT;
    }
    bool allocation = slot->request.type == DISK_REQUEST_DISCARD || slot->request.type == DISK_REQUEST_WRITE_ZEROES;
    if (allocation && error == EOPNOTSUPP) {
        /* The file system will not change its mind: later requests answer UNSUPP without a syscall. */
        if (uses_punch_hole(&slot->request))
            image->punch_hole_unsupported = true;
        else
            image->zero_range_unsupported = true;
        return finish(slot, VIRTIO_BLK_S_UNSUPP);
    }
    return finish(slot, VIRTIO_BLK_S_IOERR);
}

enum disk_slot_outcome disk_slot_complete(struct disk_slot *slot, struct disk_image *image, int result)
{
    if (result < 0)
        return complete_error(slot, image, -result);
    if (!is_transfer(slot->request.type))
        return finish(slot, VIRTIO_BLK_S_OK);
    uint64_t left = disk_slot_io_length(slot);
    /* No progress (the file shrank under us) or more than asked: fail rather than loop or overrun. */
    if (result == 0 || (uint64_t)result > left)
        return finish(slot, VIRTIO_BLK_S_IOERR);
    advance(slot, (uint64_t)result);
    if (slot->done < slot->total)
        return DISK_SLOT_RESUBMIT;
    return finish(slot, VIRTIO_BLK_S_OK);
}

void disk_slot_release(struct disk_slot *slot)
{
    if (slot->segments && slot->segments != slot->inline_segments)
        free(slot->segments);
    free(slot->bounce);
    slot->segments = slot->inline_segments;
    slot->bounce = NULL;
}
