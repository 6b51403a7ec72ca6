/*
 * Disk backend benchmark (`make bench-disk`): 4 KiB random reads at queue
 * depth 1 and 32 through kestrel's disk engine, through the whole device path
 * (a driver's split virtqueue → virtio-blk → its I/O thread → io_uring, kicks
 * through the queue's eventfd as KVM's ioeventfd writes it, completions
 * waited for on an eventfd the MSI-X delivery writes as KVM's irqfd would),
 * and through raw liburing, on the same file in the same run, alternating,
 * median of several rounds.
 * The file is read with O_DIRECT (cache=none) when its file system allows,
 * so the figures are device reads, not page-cache copies.
 *
 * Usage: bench_disk [--quick] [DIRECTORY]   (default /var/tmp; a 256 MiB file is created and removed)
 *        bench_disk --trace-overhead [--quick] [DIRECTORY]
 *            the device path at QD32 with --disk trace= off and on (a trace file in DIRECTORY, removed),
 *            alternating, median of TRACE_ROUNDS rounds each
 *        bench_disk --seccomp-overhead [--quick] [DIRECTORY]
 *            the device path at QD32 with its I/O thread unfiltered and under the block-io seccomp filter
 *            (docs/seccomp.md), alternating, median of TRACE_ROUNDS rounds each
 *        bench_disk --trace-sample TRACE [DIRECTORY]
 *            keeps TRACE: 256 sequential 512 KiB writes at QD1, then 4 KiB random reads at QD32
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/disk_engine.h"
#include "sandbox/sandbox.h"
#include "trace/block_trace_writer.h"
#include "unit/virtio_blk_fixture.h"

enum { BLOCK = 4096, MAX_DEPTH = 32, ROUNDS = 5, POLL_US = 32, TRACE_ROUNDS = 11, SAMPLE_WRITES = 256 };
static const uint64_t FILE_SIZE = 256ull << 20;

static uint64_t now_ns(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000ull + (uint64_t)time.tv_nsec;
}

static uint64_t random_block(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (*state % (FILE_SIZE / BLOCK)) * BLOCK;
}

static unsigned char *buffers;

/* Reads per second through the engine, `depth` requests always outstanding. */
static double run_engine(struct disk_engine *engine, unsigned depth, unsigned count)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    struct iovec segments[MAX_DEPTH];
    unsigned issued = 0, completed = 0;
    uint64_t start = now_ns();
    for (unsigned i = 0; i < depth; i++, issued++) {
        segments[i] = (struct iovec){ buffers + (size_t)i * BLOCK, BLOCK };
        struct disk_request request = { .type = DISK_REQUEST_READ, .offset = random_block(&seed),
                                        .segments = &segments[i], .segment_count = 1, .cookie = &segments[i] };
        disk_engine_submit(engine, &request);
    }
    while (completed < count) {
        struct disk_completion completions[MAX_DEPTH];
        struct disk_reap reap = { .completions = completions, .capacity = MAX_DEPTH };
        if (disk_engine_wait(engine, &reap, true) < 0)
            continue;
        for (unsigned i = 0; i < reap.count; i++) {
            if (completions[i].status != 0) {
                fprintf(stderr, "bench_disk: engine read failed\n");
                exit(1);
            }
            completed++;
            if (issued < count) {
                struct disk_request request = { .type = DISK_REQUEST_READ, .offset = random_block(&seed),
                                                .segments = completions[i].cookie, .segment_count = 1,
                                                .cookie = completions[i].cookie };
                disk_engine_submit(engine, &request);
                issued++;
            }
        }
    }
    return count / ((now_ns() - start) / 1e9);
}

/* The same reads with liburing alone: one read SQE per request, the fewest steps possible. */
static double run_raw(int fd, unsigned depth, unsigned count)
{
    struct io_uring ring;
    if (io_uring_queue_init(64, &ring, 0) < 0)
        exit(1);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned issued = 0, completed = 0;
    uint64_t start = now_ns();
    for (unsigned i = 0; i < depth; i++, issued++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd, buffers + (size_t)i * BLOCK, BLOCK, random_block(&seed));
        io_uring_sqe_set_data64(sqe, i);
    }
    while (completed < count) {
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            if (cqe->res != BLOCK) {
                fprintf(stderr, "bench_disk: raw read failed: %d\n", cqe->res);
                exit(1);
            }
            seen++;
            completed++;
            if (issued < count) {
                uint64_t slot = io_uring_cqe_get_data64(cqe);
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read(sqe, fd, buffers + slot * BLOCK, BLOCK, random_block(&seed));
                io_uring_sqe_set_data64(sqe, slot);
                issued++;
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
    double rate = count / ((now_ns() - start) / 1e9);
    io_uring_queue_exit(&ring);
    return rate;
}

/* One in-flight request slot of the device path's driver: its header, data and status in guest memory. */
struct device_slot {
    struct blk_io io;
};

static void device_add(struct blk_fixture *fixture, struct device_slot *slot, uint64_t *seed, uint64_t token)
{
    slot->io.header->type = VIRTIO_BLK_T_IN;
    slot->io.header->sector = random_block(seed) / 512;
    const struct virtq_driver_buffer readable = {slot->io.header_gpa, 16};
    const struct virtq_driver_buffer writable[2] = {{slot->io.data_gpa, BLOCK}, {slot->io.status_gpa, 1}};
    const struct virtq_driver_request request = {&readable, 1, writable, 2, false};
    if (virtq_driver_add(&fixture->drivers[0], &request, token) < 0) {
        fprintf(stderr, "bench_disk: the driver's ring is full\n");
        exit(1);
    }
}

/* The guest driver's kick: published, then the doorbell only when EVENT_IDX asks for it. */
static void device_kick(struct blk_fixture *fixture, int kick_fd)
{
    if (virtq_driver_kick_prepare(&fixture->drivers[0]) && eventfd_write(kick_fd, 1) < 0)
        exit(1);
}

/* Reads per second through the device, `depth` requests always outstanding; Linux's reap loop. */
static double run_device(struct blk_fixture *fixture, struct device_slot *slots, unsigned depth, unsigned count)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    struct virtq_driver *driver = &fixture->drivers[0];
    int kick_fd = virtio_pci_queue_kick_fd(&fixture->device.transport, 0);
    unsigned issued = 0, completed = 0;
    uint64_t start = now_ns();
    for (unsigned i = 0; i < depth; i++, issued++)
        device_add(fixture, &slots[i], &seed, i);
    device_kick(fixture, kick_fd);
    while (completed < count) {
        eventfd_t interrupts;
        if (eventfd_read(fixture->interrupt_fd, &interrupts) < 0)
            continue;
        bool more = true;
        while (more) {
            virtq_driver_disable_callbacks(driver);
            uint64_t token;
            uint32_t written;
            while (virtq_driver_get_used(driver, &token, &written) == 1) {
                if (*slots[token].io.status != VIRTIO_BLK_S_OK || written != BLOCK + 1) {
                    fprintf(stderr, "bench_disk: device read failed\n");
                    exit(1);
                }
                completed++;
                if (issued < count) {
                    device_add(fixture, &slots[token], &seed, token);
                    issued++;
                }
            }
            device_kick(fixture, kick_fd);
            more = !virtq_driver_enable_callbacks(driver);
        }
    }
    return count / ((now_ns() - start) / 1e9);
}

static struct blk_fixture *device_create(struct disk_image *image, struct device_slot *slots, unsigned poll_us,
                                         struct block_trace_writer *trace)
{
    const struct blk_fixture_options options = {.queues = 1, .io_threads = 1, .poll_us = poll_us, .trace = trace};
    struct blk_fixture *fixture = blk_fixture_create_on(image, &options, 256);
    fixture->interrupt_fd = eventfd(0, EFD_CLOEXEC);
    uint64_t features = 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    if (fixture->interrupt_fd < 0 ||
        !(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 256, features) & VIRTIO_CONFIG_S_DRIVER_OK)) {
        fprintf(stderr, "bench_disk: the device did not start\n");
        exit(1);
    }
    for (unsigned i = 0; i < MAX_DEPTH; i++)
        blk_io_alloc(fixture, &slots[i].io, BLOCK);
    return fixture;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `rates` (ROUNDS of them) and returns the middle one. */
static double median(double *rates)
{
    qsort(rates, ROUNDS, sizeof(double), compare_double);
    return rates[ROUNDS / 2];
}

static int create_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    static unsigned char chunk[1 << 20];
    memset(chunk, 0x6b, sizeof(chunk));
    for (uint64_t offset = 0; offset < FILE_SIZE; offset += sizeof(chunk))
        if (pwrite(fd, chunk, sizeof(chunk), (off_t)offset) != (ssize_t)sizeof(chunk))
            return -1;
    fsync(fd);
    close(fd);
    return 0;
}

static struct block_trace_writer *trace_create(const char *path, unsigned queues)
{
    struct error error;
    struct block_trace_writer *trace = block_trace_writer_create(path, &error);
    if (!trace || block_trace_writer_start(trace, FILE_SIZE, queues, &error) < 0) {
        fprintf(stderr, "bench_disk: %s\n", error.message);
        exit(1);
    }
    return trace;
}

/* TRACE_ROUNDS rounds of the device path at QD32, the two devices alternating; both rate arrays come back sorted. */
static void alternate_rounds(struct blk_fixture *first, struct device_slot *first_slots, struct blk_fixture *second,
                             struct device_slot *second_slots, unsigned count, double *first_rates,
                             double *second_rates)
{
    for (unsigned round = 0; round < TRACE_ROUNDS; round++) {
        first_rates[round] = run_device(first, first_slots, MAX_DEPTH, count);
        second_rates[round] = run_device(second, second_slots, MAX_DEPTH, count);
    }
    qsort(first_rates, TRACE_ROUNDS, sizeof(double), compare_double);
    qsort(second_rates, TRACE_ROUNDS, sizeof(double), compare_double);
}

/* The two rows of alternate_rounds' rates; returns what the second costs, in percent of the first's median. */
static double print_pair(const char *mode, unsigned count, const char *column, const char *first_name,
                         const char *second_name, const double *first, const double *second)
{
    double first_median = first[TRACE_ROUNDS / 2], second_median = second[TRACE_ROUNDS / 2];
    printf("4 KiB random reads at QD32 through the device path, %s, %u reads per round, median of %d rounds\n\n"
           "| %s | reads/s (median) | min .. max |\n|---|---:|---:|\n"
           "| %s | %.0f | %.0f .. %.0f |\n| %s | %.0f | %.0f .. %.0f |\n\n",
           mode, count, TRACE_ROUNDS, column, first_name, first_median, first[0], first[TRACE_ROUNDS - 1],
           second_name, second_median, second[0], second[TRACE_ROUNDS - 1]);
    return 100.0 * (first_median - second_median) / first_median;
}

/* The device path at QD32 with tracing off and on, alternating rounds on one image; the trace file is removed. */
static void trace_overhead(struct disk_image *image, const char *directory, const char *mode, bool quick)
{
    char trace_path[4200];
    snprintf(trace_path, sizeof(trace_path), "%s/kestrel-bench-disk.trace", directory);
    struct block_trace_writer *trace = trace_create(trace_path, 1);
    struct device_slot slots[MAX_DEPTH], traced_slots[MAX_DEPTH];
    struct blk_fixture *plain = device_create(image, slots, 0, NULL);
    struct blk_fixture *traced = device_create(image, traced_slots, 0, trace);
    unsigned count = quick ? 10000 : 100000;
    double off[TRACE_ROUNDS], on[TRACE_ROUNDS];
    alternate_rounds(plain, slots, traced, traced_slots, count, off, on);
    blk_fixture_destroy(traced);
    blk_fixture_destroy(plain);
    uint64_t dropped = block_trace_writer_dropped(trace);
    block_trace_writer_close(trace);
    unlink(trace_path);
    double cost = print_pair(mode, count, "tracing", "off", "on (trace=)", off, on);
    printf("tracing costs %.2f%% of the reads/s; %llu records dropped\n", cost, (unsigned long long)dropped);
}

/* The block-io thread's filter: one device whose I/O thread started before filters were on, one after. */
static void seccomp_overhead(struct disk_image *image, const char *mode, bool quick)
{
    struct device_slot slots[MAX_DEPTH], filtered_slots[MAX_DEPTH];
    struct blk_fixture *plain = device_create(image, slots, 0, NULL);
    /* Served once, so its I/O thread is past sandbox_thread_enter before filters are switched on. */
    run_device(plain, slots, MAX_DEPTH, 1000);
    struct error error;
    if (sandbox_configure(true, &error) < 0) {
        fprintf(stderr, "bench_disk: %s\n", error.message);
        exit(1);
    }
    struct blk_fixture *filtered = device_create(image, filtered_slots, 0, NULL);
    unsigned count = quick ? 10000 : 100000;
    double off[TRACE_ROUNDS], on[TRACE_ROUNDS];
    alternate_rounds(plain, slots, filtered, filtered_slots, count, off, on);
    blk_fixture_destroy(filtered);
    blk_fixture_destroy(plain);
    double cost = print_pair(mode, count, "I/O thread", "no filter", "block-io seccomp filter", off, on);
    printf("the filter costs %.2f%% of the reads/s\n", cost);
}

/* A trace of a known pattern for the README's picture: sequential 512 KiB writes, then random 4 KiB reads. */
static void trace_sample(struct disk_image *image, const char *trace_path)
{
    struct block_trace_writer *trace = trace_create(trace_path, 1);
    struct device_slot slots[MAX_DEPTH];
    struct blk_fixture *device = device_create(image, slots, 0, trace);
    struct blk_io big;
    blk_io_alloc(device, &big, 512 * 1024);
    for (unsigned i = 0; i < SAMPLE_WRITES; i++) {
        uint64_t token = MAX_DEPTH + i;
        uint64_t got;
        uint32_t written;
        /* Waited for by polling the used ring: run_device later takes the interrupts counted meanwhile. */
        if (blk_submit(device, 0, &big, VIRTIO_BLK_T_OUT, (uint64_t)i * 1024, token) < 0 ||
            blk_wait_used(device, 0, &got, &written) != 1 || got != token || *big.status != VIRTIO_BLK_S_OK) {
            fprintf(stderr, "bench_disk: a sample write failed\n");
            exit(1);
        }
    }
    run_device(device, slots, MAX_DEPTH, 5000);
    blk_fixture_destroy(device);
    block_trace_writer_close(trace);
    printf("bench_disk: wrote %s\n", trace_path);
}

int main(int argc, char **argv)
{
    const char *sample_path = NULL;
    bool overhead = false, filter_overhead = false;
    int next = 1;
    if (argc > 2 && strcmp(argv[1], "--trace-sample") == 0) {
        sample_path = argv[2];
        next = 3;
    } else if (argc > 1 && strcmp(argv[1], "--trace-overhead") == 0) {
        overhead = true;
        next = 2;
    } else if (argc > 1 && strcmp(argv[1], "--seccomp-overhead") == 0) {
        filter_overhead = true;
        next = 2;
    }
    bool quick = argc > next && strcmp(argv[next], "--quick") == 0;
    const char *directory = argc > next + quick ? argv[next + quick] : "/var/tmp";
    char path[4096];
    snprintf(path, sizeof(path), "%s/kestrel-bench-disk.img", directory);
    if (create_file(path) != 0) {
        fprintf(stderr, "bench_disk: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct disk_image image;
    struct error error;
    struct disk_image_options options = { .path = path, .cache = DISK_CACHE_NONE };
    const char *mode = "cache=none (O_DIRECT)";
    if (disk_image_open(&image, &options, &error) != 0) {
        options.cache = DISK_CACHE_WRITEBACK;
        mode = "cache=writeback (O_DIRECT refused)";
        if (disk_image_open(&image, &options, &error) != 0) {
            fprintf(stderr, "bench_disk: %s\n", error.message);
            return 1;
        }
    }
    if (sample_path || overhead || filter_overhead) {
        if (sample_path)
            trace_sample(&image, sample_path);
        else if (filter_overhead)
            seccomp_overhead(&image, mode, quick);
        else
            trace_overhead(&image, directory, mode, quick);
        disk_image_close(&image);
        unlink(path);
        return 0;
    }
    struct disk_engine_options engine_options = { .ring_entries = 64, .max_requests = 64 };
    struct disk_engine *engine = disk_engine_create(&image, &engine_options, &error);
    buffers = aligned_alloc(BLOCK, (size_t)MAX_DEPTH * BLOCK);
    if (!engine || !buffers) {
        fprintf(stderr, "bench_disk: engine setup failed\n");
        return 1;
    }
    printf("4 KiB random reads, %s, 256 MiB file in %s, median of %d rounds; reads/s (ratio to raw)\n\n", mode,
           directory, ROUNDS);
    struct device_slot slots[MAX_DEPTH], polling_slots[MAX_DEPTH];
    struct blk_fixture *device = device_create(&image, slots, 0, NULL);
    struct blk_fixture *polling = device_create(&image, polling_slots, POLL_US, NULL);
    printf("| queue depth | raw liburing (reads/s) | engine | device path | device path, poll_us=%u |\n"
           "|---:|---:|---:|---:|---:|\n", POLL_US);
    const unsigned depths[] = { 1, 32 };
    for (unsigned d = 0; d < 2; d++) {
        unsigned count = (depths[d] == 1 ? 20000 : 100000) / (quick ? 10 : 1);
        double raw[ROUNDS], engine_rates[ROUNDS], device_rates[ROUNDS], polling_rates[ROUNDS];
        for (unsigned round = 0; round < ROUNDS; round++) {
            raw[round] = run_raw(image.fd, depths[d], count);
            engine_rates[round] = run_engine(engine, depths[d], count);
            device_rates[round] = run_device(device, slots, depths[d], count);
            polling_rates[round] = run_device(polling, polling_slots, depths[d], count);
        }
        double raw_median = median(raw), engine_median = median(engine_rates);
        double device_median = median(device_rates), polling_median = median(polling_rates);
        printf("| %u | %.0f | %.0f (%.3f) | %.0f (%.3f) | %.0f (%.3f) |\n", depths[d], raw_median, engine_median,
               engine_median / raw_median, device_median, device_median / raw_median, polling_median,
               polling_median / raw_median);
    }
    blk_fixture_destroy(polling);
    blk_fixture_destroy(device);
    disk_engine_destroy(engine);
    disk_image_close(&image);
    unlink(path);
    free(buffers);
    return 0;
}
