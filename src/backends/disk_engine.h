#ifndef KESTREL_BACKENDS_DISK_ENGINE_H
#define KESTREL_BACKENDS_DISK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/disk_image.h"
#include "util/error.h"

/*
 * The io_uring engine of one I/O thread (docs/disk.md). One thread owns an
 * engine and calls every function below; nothing here is thread-safe, other
 * threads reach it only by writing the kick eventfds it reads through the ring.
 *
 * The thread's loop:
 *     disk_engine_wait(engine, &reap, true)     one io_uring_enter: submits what
 *                                               was queued, sleeps for a kick or
 *                                               a completion
 *     for each completion: push it to its virtqueue, then signal each queue once
 *     for each kicked queue: pop every request, disk_engine_submit() each
 *
 * Submissions only queue SQEs; all requests of one kick go to the kernel in the
 * next disk_engine_wait's single io_uring_enter. Every submitted request is
 * reported exactly once by disk_engine_wait, with a virtio-blk status.
 */
enum disk_request_type {
    DISK_REQUEST_READ,         /* VIRTIO_BLK_T_IN: file -> segments */
    DISK_REQUEST_WRITE,        /* VIRTIO_BLK_T_OUT: segments -> file */
    DISK_REQUEST_FLUSH,        /* fdatasync */
    DISK_REQUEST_DISCARD,      /* hole punch */
    DISK_REQUEST_WRITE_ZEROES, /* zero range, or a hole punch with unmap */
};

struct disk_request {
    enum disk_request_type type;
    bool unmap;       /* WRITE_ZEROES: punch a hole instead of allocating zeroes */
    uint64_t offset;  /* bytes into the image */
    uint64_t length;  /* DISCARD, WRITE_ZEROES: bytes; READ, WRITE: ignored, the segments' sum */
    /* READ, WRITE: host buffers (guest RAM, already bounds-checked), valid until the request completes.
     * The engine copies this array, not the buffers. */
    const struct iovec *segments;
    unsigned segment_count;
    void *cookie; /* returned with the completion */
};

struct disk_completion {
    void *cookie;
    uint8_t status;      /* VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP */
    uint64_t bytes_done; /* READ: bytes written into the segments (what the device reports as used length) */
};

/* What one disk_engine_wait returns: up to `capacity` completions, and which queues were kicked. */
struct disk_reap {
    struct disk_completion *completions;
    unsigned capacity;
    unsigned count;
    uint64_t kicked_queues; /* bit N: the eventfd added for queue N was written */
};

enum {
    DISK_ENGINE_MAX_KICKS = 64,
    DISK_ENGINE_MAX_SEGMENTS = 1024,    /* IOV_MAX */
    DISK_ENGINE_BOUNCE_LIMIT = 1 << 20, /* bytes: the largest request O_DIRECT may bounce; device's size_max * seg_max */
};

struct disk_engine_options {
    unsigned ring_entries; /* SQ size, a power of two; the CQ gets twice as many */
    unsigned max_requests; /* requests held at once (in flight plus waiting): the sum of the queues' sizes */
};

struct disk_engine;

/* The engine does not own the image; it records refused operations in it (image->*_unsupported). */
struct disk_engine *disk_engine_create(struct disk_image *image, const struct disk_engine_options *options,
                                       struct error *error);
/* Drains first (disk_engine_drain); completions not yet reaped are dropped. */
void disk_engine_destroy(struct disk_engine *engine);

/* Reads `eventfd` through the ring, re-armed after each read; a read sets bit `queue` in kicked_queues. */
int disk_engine_add_kick(struct disk_engine *engine, int eventfd, unsigned queue, struct error *error);
/* The notifications queue `queue`'s eventfd counted (the sum of the values read) since the last call. */
uint64_t disk_engine_take_kicks(struct disk_engine *engine, unsigned queue);

/*
 * Takes one request. A request with bad bounds (past the image, overflowing,
 * too many segments, unaligned under O_DIRECT) or a write to a read-only image
 * completes with IOERR; one the file system refused before completes with
 * UNSUPP; neither reaches the kernel. When the submission queue is full the
 * request waits in order and goes out as completions make room.
 * Returns -1 only when max_requests requests are already held (a device bug).
 */
int disk_engine_submit(struct disk_engine *engine, const struct disk_request *request);

/*
 * Submits what is queued and, when `block` and nothing is ready, sleeps in one
 * io_uring_enter until a completion or a kick; then reaps without a syscall.
 * Returns the completion count (also in reap->count), or -1 with errno
 * (EINTR when a signal woke it: call again).
 */
int disk_engine_wait(struct disk_engine *engine, struct disk_reap *reap, bool block);

/*
 * For a device reset: requests still waiting for the SQ complete with IOERR
 * without reaching the kernel, and every request in the kernel is waited for.
 * On return no request touches guest memory; their completions (and kicks
 * seen meanwhile) are reported by the next disk_engine_wait.
 */
void disk_engine_drain(struct disk_engine *engine);

/* Requests held (waiting, in the kernel, or completed and not yet reaped). */
unsigned disk_engine_pending(const struct disk_engine *engine);

#ifdef KESTREL_TEST_SEAMS
/*
 * Lets a test replace the result of a completed operation (a byte count or
 * -errno) before the engine reads it: -EIO, -ENOSPC, -EOPNOTSUPP, a short count.
 */
#define KESTREL_DISK_ENGINE_TEST_SEAM 1
typedef int disk_engine_result_hook_fn(void *context, enum disk_request_type type, uint64_t offset, uint64_t length,
                                       int result);
extern disk_engine_result_hook_fn *disk_engine_result_hook;
extern void *disk_engine_result_hook_context;
#endif

#endif
