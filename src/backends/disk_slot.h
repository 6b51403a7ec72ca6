#ifndef KESTREL_BACKENDS_DISK_SLOT_H
#define KESTREL_BACKENDS_DISK_SLOT_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/disk_engine.h"
#include "backends/disk_image.h"

/*
 * One request held by the disk engine, from validation to completion: its own
 * copy of the segment list (advanced after a short transfer), the O_DIRECT
 * bounce buffer, and the SQE that carries what is left of it. The engine
 * (disk_engine.c) owns the lists and the ring; this module owns one request.
 */
enum { DISK_SLOT_INLINE_SEGMENTS = 4 };

struct disk_slot {
    struct disk_slot *next; /* in the engine's free, waiting or done list */
    struct disk_request request; /* the caller's, with `segments` pointing at the copy below */
    struct iovec inline_segments[DISK_SLOT_INLINE_SEGMENTS];
    struct iovec *segments; /* the copy: inline_segments or allocated */
    /* What the next SQE transfers: the copy or the bounce segment, from `io_first` on. */
    struct iovec *io_segments;
    unsigned io_first, io_count;
    struct iovec bounce_segment;
    void *bounce;
    uint64_t total; /* READ, WRITE: bytes in the segments */
    uint64_t done;  /* bytes transferred so far */
    unsigned retries;
    uint8_t status;
};

enum disk_slot_outcome {
    DISK_SLOT_COMPLETE, /* status and done are final */
    DISK_SLOT_RESUBMIT, /* put the rest on the ring again */
};

/*
 * Validates `request` against the image and takes a private copy of its
 * segment list (and a bounce buffer under O_DIRECT when a segment is
 * unaligned). VIRTIO_BLK_S_OK: it goes to the ring. Anything else is its final
 * status (bad bounds, read-only, refused before, or a zero-length transfer
 * that needs no I/O, which is OK with nothing to do: see disk_slot_needs_io).
 */
uint8_t disk_slot_prepare(struct disk_slot *slot, const struct disk_image *image, const struct disk_request *request);

/* After disk_slot_prepare returned OK: false when there is nothing to transfer. */
bool disk_slot_needs_io(const struct disk_slot *slot);

/* Fills `sqe` with what is left of the request. */
void disk_slot_fill_sqe(const struct disk_slot *slot, const struct disk_image *image, struct io_uring_sqe *sqe);

/* Takes the result of one SQE (bytes or -errno); may remember an unsupported operation in `image`. */
enum disk_slot_outcome disk_slot_complete(struct disk_slot *slot, struct disk_image *image, int result);

/* Frees what prepare allocated; the slot can be prepared again. */
void disk_slot_release(struct disk_slot *slot);

/* The byte range the next SQE covers (for the test seam and diagnostics). */
uint64_t disk_slot_io_offset(const struct disk_slot *slot);
uint64_t disk_slot_io_length(const struct disk_slot *slot);

#endif
