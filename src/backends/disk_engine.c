#include "backends/disk_engine.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "backends/disk_slot.h"
#include "util/log.h"

#ifdef KESTREL_TEST_SEAMS
disk_engine_result_hook_fn *disk_engine_result_hook;
void *disk_engine_result_hook_context;
#endif

/* A singly linked FIFO of slots. */
struct slot_list {
    struct disk_slot *head, *tail;
};

/* An eventfd read through the ring: one read always in flight (or waiting for an SQE). */
struct kick {
    int fd;
    unsigned queue;
    bool armed;
    uint64_t value;
    uint64_t unreported; /* notifications read (the eventfd's values) since disk_engine_take_kicks */
};

struct disk_engine {
    struct io_uring ring;
    struct disk_image *image;
    struct disk_slot *slots;
    unsigned slot_count;
    struct slot_list free, waiting, done;
    unsigned held;              /* request slots not free */
    unsigned requests_in_ring;  /* request SQEs queued or in the kernel, CQE not reaped */
    unsigned request_budget;    /* CQ entries left once every kick has its read in flight */
    struct kick kicks[DISK_ENGINE_MAX_KICKS];
    unsigned kick_count;
    uint64_t kicked_queues;
    bool draining;
    bool closing; /* kick reads are being cancelled: no re-arm */
};

/* user_data tags: a kick's index is stored with the low bit set; slots are pointers (aligned, low bit clear). */
#define CANCEL_TAG UINT64_MAX

static uint64_t kick_tag(unsigned index)
{
    return ((uint64_t)index << 1) | 1;
}

static void list_push(struct slot_list *list, struct disk_slot *slot)
{
    slot->next = NULL;
    if (list->tail)
        list->tail->next = slot;
    else
        list->head = slot;
    list->tail = slot;
}

static struct disk_slot *list_pop(struct slot_list *list)
{
    struct disk_slot *slot = list->head;
    if (slot) {
        list->head = slot->next;
        if (!list->head)
            list->tail = NULL;
        slot->next = NULL;
    }
    return slot;
}

struct disk_engine *disk_engine_create(struct disk_image *image, const struct disk_engine_options *options,
                                       struct error *error)
{
    if (options->ring_entries == 0 || options->max_requests == 0) {
        error_set(error, EXIT_STATUS_FAILURE, "disk engine: ring_entries and max_requests must be non-zero");
        return NULL;
    }
    struct disk_engine *engine = calloc(1, sizeof(*engine));
    if (!engine) {
        error_set(error, EXIT_STATUS_FAILURE, "disk engine: out of memory");
        return NULL;
    }
    engine->slots = calloc(options->max_requests, sizeof(*engine->slots));
    int status = engine->slots ? io_uring_queue_init(options->ring_entries, &engine->ring, 0) : -ENOMEM;
    if (status < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "disk engine: io_uring setup with %u entries: %s", options->ring_entries,
                  strerror(-status));
        free(engine->slots);
        free(engine);
        return NULL;
    }
    engine->image = image;
    engine->slot_count = options->max_requests;
    for (unsigned i = 0; i < engine->slot_count; i++) {
        engine->slots[i].segments = engine->slots[i].inline_segments;
        list_push(&engine->free, &engine->slots[i]);
    }
    /* Never more CQEs outstanding than the CQ holds: an overflowing CQ would stall the ring. */
    engine->request_budget = engine->ring.cq.ring_entries;
    return engine;
}

/* Queues an SQE for a kick's read. False when the SQ is full: it is retried before the next enter. */
static bool kick_arm(struct disk_engine *engine, unsigned index)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&engine->ring);
    if (!sqe)
        return false;
    struct kick *kick = &engine->kicks[index];
    io_uring_prep_read(sqe, kick->fd, &kick->value, sizeof(kick->value), 0);
    io_uring_sqe_set_data64(sqe, kick_tag(index));
    kick->armed = true;
    return true;
}

static void kicks_arm(struct disk_engine *engine)
{
    for (unsigned i = 0; i < engine->kick_count; i++)
        if (!engine->kicks[i].armed && !kick_arm(engine, i))
            return;
}

int disk_engine_add_kick(struct disk_engine *engine, int eventfd, unsigned queue, struct error *error)
{
    if (queue >= DISK_ENGINE_MAX_KICKS || engine->kick_count >= DISK_ENGINE_MAX_KICKS)
        return error_set(error, EXIT_STATUS_FAILURE, "disk engine: kick for queue %u: at most %d queues", queue,
                         DISK_ENGINE_MAX_KICKS);
    if (engine->request_budget <= 1)
        return error_set(error, EXIT_STATUS_FAILURE, "disk engine: ring too small for another kick");
    unsigned index = engine->kick_count++;
    engine->kicks[index] = (struct kick){ .fd = eventfd, .queue = queue };
    engine->request_budget--;
    kick_arm(engine, index);
    return 0;
}

/* Puts a prepared slot's next SQE on the ring; false when the SQ or the CQ budget is full. */
static bool slot_start(struct disk_engine *engine, struct disk_slot *slot)
{
    if (engine->requests_in_ring >= engine->request_budget)
        return false;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&engine->ring);
    if (!sqe)
        return false;
    disk_slot_fill_sqe(slot, engine->image, sqe);
    io_uring_sqe_set_data(sqe, slot);
    engine->requests_in_ring++;
    return true;
}

static void slot_finish(struct disk_engine *engine, struct disk_slot *slot, uint8_t status)
{
    slot->status = status;
    list_push(&engine->done, slot);
}

/* Waiting requests go out in order; a resubmitted one rejoins the queue at its tail. */
static void waiting_start(struct disk_engine *engine)
{
    while (engine->waiting.head && slot_start(engine, engine->waiting.head))
        list_pop(&engine->waiting);
}

static void slot_start_or_wait(struct disk_engine *engine, struct disk_slot *slot)
{
    if (engine->waiting.head || !slot_start(engine, slot))
        list_push(&engine->waiting, slot);
}

int disk_engine_submit(struct disk_engine *engine, const struct disk_request *request)
{
    struct disk_slot *slot = list_pop(&engine->free);
    if (!slot) {
        log_error("disk engine: more than %u requests held", engine->slot_count);
        return -1;
    }
    engine->held++;
    uint8_t status = disk_slot_prepare(slot, engine->image, request);
    if (status != VIRTIO_BLK_S_OK || !disk_slot_needs_io(slot))
        slot_finish(engine, slot, status);
    else
        slot_start_or_wait(engine, slot);
    return 0;
}

static void kick_complete(struct disk_engine *engine, unsigned index, int result)
{
    struct kick *kick = &engine->kicks[index];
    kick->armed = false;
    if (result == -ECANCELED || result == -EBADF)
        return; /* cancelled at teardown, or the eventfd is gone: do not re-arm */
    engine->kicked_queues |= 1ull << kick->queue;
    if (result == (int)sizeof(kick->value))
        kick->unreported += kick->value;
    if (!engine->closing)
        kick_arm(engine, index);
}

uint64_t disk_engine_take_kicks(struct disk_engine *engine, unsigned queue)
{
    uint64_t kicks = 0;
    for (unsigned i = 0; i < engine->kick_count; i++) {
        if (engine->kicks[i].queue == queue) {
            kicks += engine->kicks[i].unreported;
            engine->kicks[i].unreported = 0;
        }
    }
    return kicks;
}

static void request_complete(struct disk_engine *engine, struct disk_slot *slot, int result)
{
    engine->requests_in_ring--;
#ifdef KESTREL_DISK_ENGINE_TEST_SEAM
    if (disk_engine_result_hook)
        result = disk_engine_result_hook(disk_engine_result_hook_context, slot->request.type,
                                         disk_slot_io_offset(slot), disk_slot_io_length(slot), result);
#endif
    if (disk_slot_complete(slot, engine->image, result) == DISK_SLOT_COMPLETE)
        list_push(&engine->done, slot);
    else if (engine->draining)
        slot_finish(engine, slot, VIRTIO_BLK_S_IOERR);
    else
        slot_start_or_wait(engine, slot);
}

/* Reads every CQE in the ring from shared memory: no syscall. */
static unsigned reap(struct disk_engine *engine)
{
    struct io_uring_cqe *cqe;
    unsigned head, count = 0;
    io_uring_for_each_cqe(&engine->ring, head, cqe)
    {
        uint64_t tag = io_uring_cqe_get_data64(cqe);
        if (tag == CANCEL_TAG)
            ; /* the cancel's own CQE: the cancelled read reports separately */
        else if (tag & 1)
            kick_complete(engine, (unsigned)(tag >> 1), cqe->res);
        else
            request_complete(engine, (struct disk_slot *)(uintptr_t)tag, cqe->res);
        count++;
    }
    io_uring_cq_advance(&engine->ring, count);
    return count;
}

static void hand_out(struct disk_engine *engine, struct disk_reap *out)
{
    while (out->count < out->capacity && engine->done.head) {
        struct disk_slot *slot = list_pop(&engine->done);
        out->completions[out->count++] = (struct disk_completion){
            .cookie = slot->request.cookie,
            .status = slot->status,
            .bytes_done = slot->request.type == DISK_REQUEST_READ ? slot->done : 0,
        };
        disk_slot_release(slot);
        list_push(&engine->free, slot);
        engine->held--;
    }
    out->kicked_queues = engine->kicked_queues;
    engine->kicked_queues = 0;
}

int disk_engine_wait(struct disk_engine *engine, struct disk_reap *out, bool block)
{
    out->count = 0;
    out->kicked_queues = 0;
    kicks_arm(engine);
    waiting_start(engine);
    if (engine->waiting.head && engine->requests_in_ring < engine->request_budget) {
        /* The SQ, not the CQ budget, stopped them: hand it over and refill before sleeping, or they would wait
         * for an unrelated wake-up. */
        io_uring_submit(&engine->ring);
        kicks_arm(engine);
        waiting_start(engine);
    }
    bool anything_to_wait_for = engine->requests_in_ring > 0 || engine->kick_count > 0;
    bool sleep = block && anything_to_wait_for && !engine->done.head && !engine->kicked_queues &&
                 !io_uring_cq_ready(&engine->ring);
    int status = io_uring_submit_and_wait(&engine->ring, sleep ? 1 : 0);
    reap(engine);
    /* Room freed by the completions goes to waiting requests now; they are submitted by the next call. */
    kicks_arm(engine);
    waiting_start(engine);
    hand_out(engine, out);
    if (status < 0 && status != -EINTR && status != -EAGAIN && status != -EBUSY && out->count == 0 &&
        !out->kicked_queues) {
        errno = -status;
        return -1;
    }
    if (status == -EINTR && out->count == 0 && !out->kicked_queues) {
        errno = EINTR;
        return -1;
    }
    return (int)out->count;
}

void disk_engine_drain(struct disk_engine *engine)
{
    struct disk_slot *slot;
    while ((slot = list_pop(&engine->waiting)) != NULL)
        slot_finish(engine, slot, VIRTIO_BLK_S_IOERR);
    engine->draining = true;
    /* Each round reaps at least one CQE or the kernel failed; requests_in_ring bounds the useful rounds. */
    unsigned failures = 0;
    while (engine->requests_in_ring > 0 && failures < 1000) {
        int status = io_uring_submit_and_wait(&engine->ring, 1);
        if (reap(engine) == 0 && status < 0 && status != -EINTR)
            failures++;
    }
    if (engine->requests_in_ring > 0)
        log_error("disk engine: %u requests still in the kernel after drain", engine->requests_in_ring);
    engine->draining = false;
}

unsigned disk_engine_pending(const struct disk_engine *engine)
{
    return engine->held;
}

static bool kicks_armed(const struct disk_engine *engine)
{
    for (unsigned i = 0; i < engine->kick_count; i++)
        if (engine->kicks[i].armed)
            return true;
    return false;
}

/*
 * Ends every kick read before the ring goes: closing the ring cancels them only later, from a kernel worker, and
 * a read finishing in between would write into freed memory.
 */
static void kicks_cancel(struct disk_engine *engine)
{
    engine->closing = true;
    for (unsigned round = 0; round < 100 && kicks_armed(engine); round++) {
        for (unsigned i = 0; i < engine->kick_count; i++) {
            struct io_uring_sqe *sqe = engine->kicks[i].armed ? io_uring_get_sqe(&engine->ring) : NULL;
            if (sqe) {
                io_uring_prep_cancel64(sqe, kick_tag(i), 0);
                io_uring_sqe_set_data64(sqe, CANCEL_TAG);
            }
        }
        io_uring_submit_and_wait(&engine->ring, 1);
        reap(engine);
    }
}

void disk_engine_destroy(struct disk_engine *engine)
{
    if (!engine)
        return;
    disk_engine_drain(engine);
    kicks_cancel(engine);
    io_uring_queue_exit(&engine->ring);
    for (unsigned i = 0; i < engine->slot_count; i++)
        disk_slot_release(&engine->slots[i]);
    free(engine->slots);
    free(engine);
}
