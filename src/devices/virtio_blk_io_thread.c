#include "devices/virtio_blk_io_thread.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

/* A request handed to the engine: what its completion needs to answer the guest. */
struct virtio_blk_in_flight {
    struct virtio_blk_in_flight *next; /* in the free list */
    struct virtq_request request;      /* id, ring slots, generation; segments not kept */
    uint8_t *status;
    uint32_t type;
    uint16_t queue;
    uint32_t data_bytes;   /* the rest only when traced */
    uint64_t sector;
    uint64_t submitted_ns;
};

enum {
    REAP_BATCH = 64,
    RING_ENTRIES = 256,
    /* Pops per queue per visit: a driver refilling the ring as fast as we empty it cannot starve the others. */
    POP_BUDGET_PER_SIZE = 2,
    /* Pop / re-enable rounds per visit before the queue goes back to the pending set. */
    SERVE_ROUNDS = 16,
    POLL_MAX_ITERATIONS = 1 << 20,
};

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static struct virtq *queue_at(struct virtio_blk_io_thread *thread, unsigned index)
{
    return &thread->setup.transport->queues[index];
}

static void answer(struct virtio_blk_io_thread *thread, unsigned queue, const struct virtq_request *request,
                   uint32_t used)
{
    /* A request popped before a reset of its queue is refused: the guest forgot it, so drop it. */
    if (virtq_push(queue_at(thread, queue), request, used) == 0) {
        thread->touched |= 1ull << queue;
        thread->answered++;
    }
}

static void notify_touched(struct virtio_blk_io_thread *thread)
{
    uint64_t touched = thread->touched;
    thread->touched = 0;
    if (thread->answered && thread->setup.requests_completed)
        atomic_fetch_add_explicit(thread->setup.requests_completed, thread->answered, memory_order_relaxed);
    thread->answered = 0;
    for (unsigned queue = 0; touched; queue++, touched >>= 1)
        if ((touched & 1) && virtq_should_notify(queue_at(thread, queue)))
            virtio_pci_queue_interrupt(thread->setup.transport, (uint16_t)queue);
}

static uint8_t trace_type(uint32_t virtio_type)
{
    switch (virtio_type) {
    case VIRTIO_BLK_T_IN:
        return BLOCK_TRACE_READ;
    case VIRTIO_BLK_T_OUT:
        return BLOCK_TRACE_WRITE;
    case VIRTIO_BLK_T_FLUSH:
        return BLOCK_TRACE_FLUSH;
    case VIRTIO_BLK_T_DISCARD:
        return BLOCK_TRACE_DISCARD;
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return BLOCK_TRACE_WRITE_ZEROES;
    case VIRTIO_BLK_T_GET_ID:
        return BLOCK_TRACE_GET_ID;
    default:
        return BLOCK_TRACE_OTHER;
    }
}

/* A request's trace record; only requests that moved data keep their length (the format's rule). */
static void trace_request(struct virtio_blk_io_thread *thread, unsigned queue, uint32_t type, uint8_t status,
                          uint64_t sector, uint32_t data_bytes, uint64_t submitted_ns, uint64_t completed_ns)
{
    struct block_trace_record record = {
        .sector = sector,
        .length = status == VIRTIO_BLK_S_OK ? data_bytes : 0,
        .queue = (uint16_t)queue,
        .type = trace_type(type),
        .status = status <= VIRTIO_BLK_S_UNSUPP ? status : VIRTIO_BLK_S_IOERR,
    };
    block_trace_writer_add(thread->setup.trace, &record, submitted_ns, completed_ns);
}

static void complete_batch(struct virtio_blk_io_thread *thread, const struct disk_reap *reap)
{
    /* One clock read per batch: its requests completed together as far as the guest can tell. */
    uint64_t completed_ns = thread->setup.trace && reap->count ? block_trace_clock_ns() : 0;
    for (unsigned i = 0; i < reap->count; i++) {
        struct virtio_blk_in_flight *record = reap->completions[i].cookie;
        *record->status = reap->completions[i].status;
        if (thread->setup.trace)
            trace_request(thread, record->queue, record->type, reap->completions[i].status, record->sector,
                          record->data_bytes, record->submitted_ns, completed_ns);
        answer(thread, record->queue, &record->request,
               virtio_blk_request_used(record->type, reap->completions[i].bytes_done));
        record->next = thread->free_records;
        thread->free_records = record;
        thread->in_flight--;
    }
    notify_touched(thread);
}

static void handle_request(struct virtio_blk_io_thread *thread, unsigned queue, struct virtq_request *request)
{
    struct virtio_blk_parsed parsed;
    virtio_blk_request_parse(request, thread->setup.limits, thread->data_segments, &parsed);
    if (parsed.outcome == VIRTIO_BLK_NO_STATUS) {
        log_ratelimited(&thread->log_limit, "virtio-blk: queue %u: a request without a status byte", queue);
        return answer(thread, queue, request, 0);
    }
    uint64_t submitted_ns = thread->setup.trace ? block_trace_clock_ns() : 0;
    if (parsed.outcome == VIRTIO_BLK_DONE) {
        *parsed.status = parsed.status_value;
        if (thread->setup.trace)
            trace_request(thread, queue, parsed.type, parsed.status_value, parsed.sector, 0, submitted_ns,
                          submitted_ns);
        return answer(thread, queue, request, parsed.used);
    }
    struct virtio_blk_in_flight *record = thread->free_records;
    if (record) {
        thread->free_records = record->next;
        *record = (struct virtio_blk_in_flight){.request = *request,
                                                .status = parsed.status,
                                                .type = parsed.type,
                                                .queue = (uint16_t)queue,
                                                .data_bytes = parsed.data_bytes,
                                                .sector = parsed.sector,
                                                .submitted_ns = submitted_ns};
        record->request.segments = NULL;
        parsed.disk.cookie = record;
        if (disk_engine_submit(thread->engine, &parsed.disk) == 0) {
            thread->in_flight++;
            return;
        }
        record->next = thread->free_records;
        thread->free_records = record;
    }
    /* More requests than the queues can hold in flight: a device bug, answered rather than lost. */
    log_ratelimited(&thread->log_limit, "virtio-blk: queue %u: no room for a request", queue);
    *parsed.status = VIRTIO_BLK_S_IOERR;
    if (thread->setup.trace)
        trace_request(thread, queue, parsed.type, VIRTIO_BLK_S_IOERR, parsed.sector, 0, submitted_ns, submitted_ns);
    answer(thread, queue, request, 1);
}

enum pop_outcome { POP_EMPTY, POP_BUDGET_SPENT, POP_BROKEN };

/* Pops and handles requests until the queue is empty or the budget is spent; *popped counts them. */
static enum pop_outcome pop_all(struct virtio_blk_io_thread *thread, unsigned queue, unsigned *popped)
{
    struct virtq *ring = queue_at(thread, queue);
    unsigned budget = (unsigned)virtq_size(ring) * POP_BUDGET_PER_SIZE;
    for (unsigned i = 0; i < budget; i++) {
        struct virtq_request request = {.segments = thread->pop_segments,
                                        .segment_capacity = thread->segment_capacity};
        enum virtq_pop_result result = virtq_pop(ring, &request);
        if (result == VIRTQ_POP_EMPTY)
            return POP_EMPTY;
        if (result == VIRTQ_POP_BROKEN)
            return POP_BROKEN;
        handle_request(thread, queue, &request);
        (*popped)++;
    }
    return POP_BUDGET_SPENT;
}

/* What one disk_engine_wait brought: its kicked queues become pending (unless broken), its completions go back. */
static void take_reap(struct virtio_blk_io_thread *thread, const struct disk_reap *reap)
{
    thread->pending |= reap->kicked_queues & thread->setup.queue_mask & ~thread->broken;
    uint64_t kicked = reap->kicked_queues;
    for (unsigned queue = 0; kicked; queue++, kicked >>= 1)
        if (kicked & 1)
            virtio_pci_queue_kicks_received(thread->setup.transport, (uint16_t)queue,
                                            disk_engine_take_kicks(thread->engine, queue));
    complete_batch(thread, reap);
}

/* Submits what is queued and completes what is done, without sleeping; returns the completions. */
static unsigned reap_now(struct virtio_blk_io_thread *thread)
{
    struct disk_completion done[REAP_BATCH];
    struct disk_reap reap = {.completions = done, .capacity = REAP_BATCH};
    if (disk_engine_wait(thread->engine, &reap, false) < 0)
        return 0;
    take_reap(thread, &reap);
    return reap.count;
}

/*
 * poll_us: instead of sleeping, watch the queue (and the ring's completions)
 * while something happens at least every poll_us; true when the driver added
 * requests, which the caller then serves without a kick.
 */
static bool poll_queue(struct virtio_blk_io_thread *thread, unsigned queue, enum pop_outcome *outcome)
{
    uint64_t window = (uint64_t)thread->setup.poll_us * 1000u;
    uint64_t deadline = now_ns() + window;
    for (unsigned i = 0; i < POLL_MAX_ITERATIONS; i++) {
        uint64_t now = now_ns();
        /* A reset waits for this thread: it must not wait for the guest to go quiet. */
        if (now >= deadline || atomic_load_explicit(&thread->stopping, memory_order_acquire) ||
            thread_pause_requested(&thread->pause))
            break;
        if (reap_now(thread) > 0)
            deadline = now + window;
        unsigned popped = 0;
        *outcome = pop_all(thread, queue, &popped);
        notify_touched(thread);
        if (popped > 0 || *outcome != POP_EMPTY)
            return true;
    }
    return false;
}

static void serve_queue(struct virtio_blk_io_thread *thread, unsigned queue)
{
    struct virtq *ring = queue_at(thread, queue);
    virtq_disable_kicks(ring);
    for (unsigned round = 0; round < SERVE_ROUNDS; round++) {
        unsigned popped = 0;
        enum pop_outcome outcome = pop_all(thread, queue, &popped);
        notify_touched(thread);
        /* Found more while polling: another round, still without kicks. */
        if (outcome == POP_EMPTY && thread->setup.poll_us && poll_queue(thread, queue, &outcome) &&
            outcome == POP_EMPTY)
            continue;
        if (outcome == POP_BROKEN) {
            thread->broken |= 1ull << queue;
            thread->pending &= ~(1ull << queue);
            virtio_pci_queue_broken(thread->setup.transport, (uint16_t)queue);
            return;
        }
        if (outcome == POP_BUDGET_SPENT)
            break;
        if (!virtq_enable_kicks(ring))
            return;
    }
    /* Still busy: come back after the other queues, without sleeping. */
    thread->pending |= 1ull << queue;
}

/* Answers everything in the engine (kicks seen meanwhile stay pending), then parks until the resume. */
static void drain_and_park(struct virtio_blk_io_thread *thread)
{
    struct disk_completion done[REAP_BATCH];
    while (thread->in_flight > 0 && !atomic_load_explicit(&thread->stopping, memory_order_acquire)) {
        struct disk_reap reap = {.completions = done, .capacity = REAP_BATCH};
        if (disk_engine_wait(thread->engine, &reap, true) < 0) {
            if (errno == EINTR)
                continue;
            log_error("virtio-blk: pausing an I/O thread: io_uring_enter: %s", strerror(errno));
            break;
        }
        take_reap(thread, &reap);
    }
    thread_pause_park(&thread->pause, &thread->stopping);
}

static void *io_thread_main(void *opaque)
{
    sandbox_thread_enter(THREAD_KIND_BLOCK_IO);
    struct virtio_blk_io_thread *thread = opaque;
    struct disk_completion done[REAP_BATCH];
    /* Every queue once at the start: the driver may have added requests before its first kick was armed. */
    thread->pending = thread->setup.queue_mask;
    while (!atomic_load_explicit(&thread->stopping, memory_order_acquire)) {
        if (thread_pause_requested(&thread->pause)) {
            drain_and_park(thread);
            continue;
        }
        struct disk_reap reap = {.completions = done, .capacity = REAP_BATCH};
        if (disk_engine_wait(thread->engine, &reap, thread->pending == 0) < 0) {
            if (errno == EINTR)
                continue;
            log_error("virtio-blk: I/O thread stops: io_uring_enter: %s", strerror(errno));
            /* The guest learns its queues are dead (DEVICE_NEEDS_RESET); a reset starts a fresh thread. */
            for (unsigned queue = 0; queue < 64; queue++)
                if (thread->setup.queue_mask & (1ull << queue))
                    virtio_pci_queue_broken(thread->setup.transport, (uint16_t)queue);
            break;
        }
        if (atomic_load_explicit(&thread->stopping, memory_order_acquire))
            break;
        take_reap(thread, &reap);
        uint64_t serve = thread->pending;
        thread->pending = 0;
        for (unsigned queue = 0; serve; queue++, serve >>= 1)
            if (serve & 1)
                serve_queue(thread, queue);
    }
    thread_pause_exit(&thread->pause);
    return NULL;
}

static void release(struct virtio_blk_io_thread *thread)
{
    if (thread->engine)
        disk_engine_destroy(thread->engine);
    free(thread->records);
    free(thread->pop_segments);
    free(thread->data_segments);
    thread->engine = NULL;
    thread->records = thread->free_records = NULL;
    thread->pop_segments = thread->data_segments = NULL;
}

int virtio_blk_io_thread_start(struct virtio_blk_io_thread *thread, const struct virtio_blk_io_thread_setup *setup,
                               struct error *error)
{
    memset(thread, 0, sizeof(*thread));
    thread->setup = *setup;
    thread->wake_fd = -1;
    unsigned held = 0;
    uint16_t largest = 1;
    for (unsigned queue = 0; queue < 64; queue++) {
        if (!(setup->queue_mask & (1ull << queue)))
            continue;
        uint16_t size = virtq_size(&setup->transport->queues[queue]);
        held += size;
        largest = size > largest ? size : largest;
        if (thread->wake_fd < 0)
            thread->wake_fd = virtio_pci_queue_kick_fd(setup->transport, (uint16_t)queue);
    }
    if (held == 0 || thread->wake_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-blk: an I/O thread without queues");
    /* A chain (or an indirect table) never has more descriptors than its queue's size. */
    thread->segment_capacity = largest;
    thread->records = calloc(held, sizeof(*thread->records));
    thread->pop_segments = calloc(largest, sizeof(*thread->pop_segments));
    thread->data_segments = calloc(largest, sizeof(*thread->data_segments));
    if (!thread->records || !thread->pop_segments || !thread->data_segments) {
        release(thread);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-blk: out of memory for an I/O thread");
    }
    for (unsigned i = 0; i < held; i++) {
        thread->records[i].next = thread->free_records;
        thread->free_records = &thread->records[i];
    }
    const struct disk_engine_options options = {.ring_entries = RING_ENTRIES, .max_requests = held};
    thread->engine = disk_engine_create(setup->image, &options, error);
    if (!thread->engine) {
        release(thread);
        return -1;
    }
    for (unsigned queue = 0; queue < 64; queue++) {
        if (!(setup->queue_mask & (1ull << queue)))
            continue;
        int kick_fd = virtio_pci_queue_kick_fd(setup->transport, (uint16_t)queue);
        if (disk_engine_add_kick(thread->engine, kick_fd, queue, error) < 0) {
            release(thread);
            return -1;
        }
    }
    atomic_init(&thread->stopping, false);
    if (thread_pause_init(&thread->pause, error) < 0) {
        release(thread);
        return -1;
    }
    int result = pthread_create(&thread->thread, NULL, io_thread_main, thread);
    if (result != 0) {
        thread_pause_destroy(&thread->pause);
        release(thread);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-blk: cannot start an I/O thread: %s", strerror(result));
    }
    thread->running = true;
    return 0;
}

void virtio_blk_io_thread_stop(struct virtio_blk_io_thread *thread)
{
    if (!thread->running)
        return;
    atomic_store_explicit(&thread->stopping, true, memory_order_release);
    /* The thread sleeps only in io_uring_enter, which a kick ends; the spurious kick is harmless. */
    if (eventfd_write(thread->wake_fd, 1) < 0)
        log_error("virtio-blk: cannot wake an I/O thread: %s", strerror(errno));
    thread_pause_wake(&thread->pause);
    pthread_join(thread->thread, NULL);
    thread_pause_destroy(&thread->pause);
    thread->running = false;
    /* Destroying the engine drains it first: nothing in the kernel touches guest memory after this. */
    release(thread);
}

void virtio_blk_io_thread_pause(struct virtio_blk_io_thread *thread)
{
    if (!thread->running)
        return;
    /* As for a stop: a kick ends its io_uring_enter; the queue is then found empty or served after the resume. */
    thread_pause_hold(&thread->pause, thread->wake_fd, "virtio-blk");
}

void virtio_blk_io_thread_resume(struct virtio_blk_io_thread *thread)
{
    if (!thread->running)
        return;
    thread_pause_release(&thread->pause);
}
