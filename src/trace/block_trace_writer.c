#include "trace/block_trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/staged_file.h"
#include "sandbox/sandbox.h"

enum {
    /* Records per queue: 512 KiB, 16 ms of a million requests per second, 370 ms at the 44k/s of
     * bench/trace-overhead.sh, where 4096 still dropped records when other work starved the writer thread. */
    DEFAULT_RING_CAPACITY = 16384,
    DRAIN_PERIOD_MS = 100,
    BATCH_RECORDS = 1024,         /* one write() of 32 KiB */
};

/* One queue's records: a single-producer single-consumer ring, indexes counting up forever. */
struct trace_ring {
    _Atomic uint64_t head; /* next slot the producer fills */
    _Atomic uint64_t tail; /* next slot the writer thread takes */
    _Atomic uint64_t dropped;
    struct block_trace_record *slots;
} __attribute__((aligned(64)));

struct block_trace_writer {
    struct staged_file file;
    const char *path; /* file.path */
    int fd;           /* file.fd */
    bool started;
    uint64_t origin_ns;
    unsigned queue_count;
    unsigned ring_capacity;
    struct trace_ring *rings;
    uint64_t written;
    _Atomic uint64_t write_failures; /* records lost to failed writes */
    bool write_failed;
    int wake_fd;
    atomic_bool stopping;
    pthread_t thread;
    uint8_t batch[BATCH_RECORDS * BLOCK_TRACE_RECORD_SIZE];
    unsigned batched;
};

static unsigned ring_capacity_setting = DEFAULT_RING_CAPACITY;
static atomic_bool draining_paused;

#ifdef KESTREL_TEST_SEAMS
void block_trace_writer_set_ring_capacity(unsigned capacity)
{
    ring_capacity_setting = capacity ? capacity : DEFAULT_RING_CAPACITY;
}

void block_trace_writer_pause_draining(bool paused)
{
    atomic_store(&draining_paused, paused);
}
#endif

uint64_t block_trace_clock_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void writer_free(struct block_trace_writer *writer)
{
    staged_file_close(&writer->file);
    if (writer->wake_fd >= 0)
        close(writer->wake_fd);
    if (writer->rings)
        for (unsigned i = 0; i < writer->queue_count; i++)
            free(writer->rings[i].slots);
    free(writer->rings);
    free(writer);
}

struct block_trace_writer *block_trace_writer_create(const char *path, struct error *error)
{
    struct block_trace_writer *writer = calloc(1, sizeof(*writer));
    if (!writer) {
        error_set(error, EXIT_STATUS_FAILURE, "out of memory");
        return NULL;
    }
    writer->wake_fd = -1;
    if (staged_file_create(&writer->file, path, "trace file", error) < 0) {
        free(writer);
        return NULL;
    }
    writer->path = writer->file.path;
    writer->fd = writer->file.fd;
    return writer;
}

int block_trace_writer_fd(const struct block_trace_writer *writer)
{
    return writer->fd;
}

static void write_batch(struct block_trace_writer *writer)
{
    if (writer->batched == 0)
        return;
    size_t bytes = (size_t)writer->batched * BLOCK_TRACE_RECORD_SIZE;
    size_t done = 0;
    while (!writer->write_failed && done < bytes) {
        ssize_t result = write(writer->fd, writer->batch + done, bytes - done);
        if (result < 0 && errno == EINTR)
            continue;
        if (result <= 0) {
            log_error("trace file %s: write: %s; later records are dropped", writer->path,
                      result < 0 ? strerror(errno) : "no progress");
            writer->write_failed = true;
            break;
        }
        done += (size_t)result;
    }
    if (writer->write_failed) {
        /* A record half written would shift every later one: the file ends at the last whole record. */
        uint64_t whole = done / BLOCK_TRACE_RECORD_SIZE;
        if (ftruncate(writer->fd, (off_t)(BLOCK_TRACE_HEADER_SIZE + (writer->written + whole) * BLOCK_TRACE_RECORD_SIZE)) < 0)
            log_error("trace file %s: ftruncate: %s", writer->path, strerror(errno));
        writer->written += whole;
        atomic_fetch_add(&writer->write_failures, writer->batched - whole);
    } else {
        writer->written += writer->batched;
    }
    writer->batched = 0;
}

static void drain(struct block_trace_writer *writer)
{
    for (unsigned queue = 0; queue < writer->queue_count; queue++) {
        struct trace_ring *ring = &writer->rings[queue];
        uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
        for (; tail != head; tail++) {
            if (writer->write_failed) {
                atomic_fetch_add(&writer->write_failures, 1);
            } else {
                block_trace_record_encode(&ring->slots[tail & (writer->ring_capacity - 1)],
                                          writer->batch + (size_t)writer->batched * BLOCK_TRACE_RECORD_SIZE);
                if (++writer->batched == BATCH_RECORDS)
                    write_batch(writer);
            }
        }
        atomic_store_explicit(&ring->tail, tail, memory_order_release);
    }
    write_batch(writer);
}

static void *writer_main(void *opaque)
{
    sandbox_thread_enter(THREAD_KIND_TRACE_WRITER);
    struct block_trace_writer *writer = opaque;
    while (!atomic_load_explicit(&writer->stopping, memory_order_acquire)) {
        struct pollfd wake = {.fd = writer->wake_fd, .events = POLLIN};
        if (poll(&wake, 1, DRAIN_PERIOD_MS) > 0) {
            eventfd_t count;
            if (eventfd_read(writer->wake_fd, &count) < 0 && errno != EAGAIN)
                log_error("trace file %s: eventfd read: %s", writer->path, strerror(errno));
        }
        if (!atomic_load(&draining_paused))
            drain(writer);
    }
    return NULL;
}

static int write_header(struct block_trace_writer *writer, const struct block_trace_header *header)
{
    uint8_t bytes[BLOCK_TRACE_HEADER_SIZE];
    block_trace_header_encode(header, bytes);
    return pwrite(writer->fd, bytes, sizeof(bytes), 0) == (ssize_t)sizeof(bytes) ? 0 : -1;
}

static uint64_t dropped_records(struct block_trace_writer *writer)
{
    uint64_t dropped = atomic_load(&writer->write_failures);
    for (unsigned i = 0; i < writer->queue_count; i++)
        dropped += atomic_load_explicit(&writer->rings[i].dropped, memory_order_relaxed);
    return dropped;
}

static struct block_trace_header header_for(const struct block_trace_writer *writer, uint64_t disk_size,
                                            uint64_t origin_realtime_ns)
{
    return (struct block_trace_header){
        .version = BLOCK_TRACE_VERSION,
        .sector_size = 512,
        .queue_count = writer->queue_count,
        .disk_size = disk_size,
        .origin_realtime_ns = origin_realtime_ns,
    };
}

int block_trace_writer_start(struct block_trace_writer *writer, uint64_t disk_size, unsigned queue_count,
                             struct error *error)
{
    if (queue_count == 0 || queue_count > BLOCK_TRACE_MAX_QUEUES)
        return error_set(error, EXIT_STATUS_FAILURE, "trace file %s: %u queues", writer->path, queue_count);
    writer->queue_count = queue_count;
    writer->ring_capacity = ring_capacity_setting;
    writer->rings = aligned_alloc(64, sizeof(*writer->rings) * queue_count);
    if (!writer->rings)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for trace file %s", writer->path);
    memset(writer->rings, 0, sizeof(*writer->rings) * queue_count);
    for (unsigned i = 0; i < queue_count; i++) {
        writer->rings[i].slots = calloc(writer->ring_capacity, sizeof(struct block_trace_record));
        if (!writer->rings[i].slots)
            return error_set(error, EXIT_STATUS_FAILURE, "out of memory for trace file %s", writer->path);
    }
    writer->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (writer->wake_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "eventfd: %s", strerror(errno));
    struct timespec realtime;
    clock_gettime(CLOCK_REALTIME, &realtime);
    writer->origin_ns = block_trace_clock_ns();
    struct block_trace_header header =
        header_for(writer, disk_size, (uint64_t)realtime.tv_sec * 1000000000u + (uint64_t)realtime.tv_nsec);
    if (write_header(writer, &header) < 0 || lseek(writer->fd, BLOCK_TRACE_HEADER_SIZE, SEEK_SET) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "trace file %s: cannot write the header: %s", writer->path,
                         strerror(errno));
    if (staged_file_publish(&writer->file, error) < 0)
        return -1;
    atomic_init(&writer->stopping, false);
    int result = pthread_create(&writer->thread, NULL, writer_main, writer);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot start the trace writer: %s", strerror(result));
    writer->started = true;
    return 0;
}

void block_trace_writer_add(struct block_trace_writer *writer, struct block_trace_record *record,
                            uint64_t submitted_ns, uint64_t completed_ns)
{
    struct trace_ring *ring = &writer->rings[record->queue];
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    uint64_t held = head - tail;
    if (held >= writer->ring_capacity) {
        atomic_store_explicit(&ring->dropped, atomic_load_explicit(&ring->dropped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    uint64_t latency = completed_ns > submitted_ns ? completed_ns - submitted_ns : 0;
    record->time_ns = completed_ns > writer->origin_ns ? completed_ns - writer->origin_ns : 0;
    record->latency_ns = latency > UINT32_MAX ? UINT32_MAX : (uint32_t)latency;
    ring->slots[head & (writer->ring_capacity - 1)] = *record;
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
    /* Once per half ring, not per record: the writer thread's timer covers the rest. */
    if (held + 1 == writer->ring_capacity / 2 && eventfd_write(writer->wake_fd, 1) < 0)
        log_error("trace file %s: eventfd write: %s", writer->path, strerror(errno));
}

uint64_t block_trace_writer_dropped(struct block_trace_writer *writer)
{
    return writer->rings ? dropped_records(writer) : 0;
}

void block_trace_writer_close(struct block_trace_writer *writer)
{
    if (!writer)
        return;
    if (writer->started) {
        atomic_store_explicit(&writer->stopping, true, memory_order_release);
        if (eventfd_write(writer->wake_fd, 1) < 0)
            log_error("trace file %s: eventfd write: %s", writer->path, strerror(errno));
        pthread_join(writer->thread, NULL);
        drain(writer);
        struct block_trace_header header = header_for(writer, 0, 0);
        /* The start's fields again, read back rather than kept: only the counts and the flag change. */
        uint8_t bytes[BLOCK_TRACE_HEADER_SIZE];
        uint32_t header_size, record_size;
        if (pread(writer->fd, bytes, sizeof(bytes), 0) == (ssize_t)sizeof(bytes) &&
            block_trace_header_decode(bytes, &header, &header_size, &record_size) == 0) {
            header.flags |= BLOCK_TRACE_FLAG_FINISHED;
            header.record_count = writer->written;
            header.dropped_count = dropped_records(writer);
            if (write_header(writer, &header) < 0)
                log_error("trace file %s: cannot finish the header: %s", writer->path, strerror(errno));
        } else {
            log_error("trace file %s: cannot read back the header", writer->path);
        }
    }
    /* Never started: the file was never published, and closing it removes it. */
    writer_free(writer);
}
