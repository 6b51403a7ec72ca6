#ifndef KESTREL_DEVICES_VIRTIO_BLK_IO_THREAD_H
#define KESTREL_DEVICES_VIRTIO_BLK_IO_THREAD_H

/*
 * One virtio-blk I/O thread: it serves a set of the device's queues with its
 * own disk engine (one io_uring), and waits in one place, the engine's
 * io_uring_enter, for kicks (the queues' ioeventfds, read through the ring)
 * and for completions. docs/virtio-blk.md describes the loop.
 *
 * Started at activation, stopped by reset or teardown: stopping drains every
 * request in the kernel (none touches guest memory afterwards), drops their
 * completions and joins the thread. The thread never takes the transport's
 * lock, so a reset op holding it may stop the thread.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/disk_engine.h"
#include "devices/virtio_blk_request.h"
#include "trace/block_trace_writer.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread_pause.h"
#include "virtio/virtio_pci.h"

struct virtio_blk_in_flight;

struct virtio_blk_io_thread_setup {
    struct virtio_pci *transport;
    struct disk_image *image;
    const struct virtio_blk_limits *limits;
    uint64_t queue_mask; /* bit q: this thread serves transport->queues[q] (enabled, q < 64) */
    unsigned poll_us;    /* poll the queues this long before re-enabling kicks; 0: never */
    _Atomic uint64_t *requests_completed; /* the device's count, for --stats; added to once per batch */
    struct block_trace_writer *trace;     /* one record per request; NULL: not traced */
};

struct virtio_blk_io_thread {
    struct virtio_blk_io_thread_setup setup;
    struct disk_engine *engine;
    struct virtio_blk_in_flight *records;
    struct virtio_blk_in_flight *free_records;
    struct iovec *pop_segments; /* one popped request's segments */
    struct iovec *data_segments; /* its data segments, as the parser cuts them */
    uint32_t segment_capacity;
    uint64_t pending;   /* queues to serve without waiting for a kick */
    uint64_t touched;   /* queues pushed to since the last notification check */
    uint64_t answered;  /* requests pushed since the last notification check */
    uint64_t broken;    /* queues found broken: no longer served */
    int wake_fd;        /* a served queue's kick eventfd, written to wake the thread for a stop */
    atomic_bool stopping;
    struct thread_pause pause;
    unsigned in_flight; /* requests in the engine; the thread's own */
    pthread_t thread;
    bool running;
    struct log_ratelimit log_limit;
};

/* Creates the engine, adds the queues' kick eventfds and starts the thread. */
int virtio_blk_io_thread_start(struct virtio_blk_io_thread *thread, const struct virtio_blk_io_thread_setup *setup,
                               struct error *error);

/*
 * A VM pause: the thread stops popping requests, waits for every request in
 * the engine and answers it to the guest, then parks; this returns once it
 * has. Kicks that arrive meanwhile are kept and served after the resume, so
 * no request is lost or done twice. No-ops when not running.
 */
void virtio_blk_io_thread_pause(struct virtio_blk_io_thread *thread);
void virtio_blk_io_thread_resume(struct virtio_blk_io_thread *thread);

/* Stops and joins the thread, drains its I/O, frees everything; a no-op when not running. */
void virtio_blk_io_thread_stop(struct virtio_blk_io_thread *thread);

#endif
