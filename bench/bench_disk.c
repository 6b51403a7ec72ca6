/*
 * Disk backend benchmark (`make bench-disk`): 4 KiB random reads at queue
 * depth 1 and 32 through kestrel's disk engine and through raw liburing on
 * the same file in the same run, alternating, median of several rounds.
 * The file is read with O_DIRECT (cache=none) when its file system allows,
 * so the figures are device reads, not page-cache copies.
 *
 * Usage: bench_disk [--quick] [DIRECTORY]   (default /var/tmp; a 256 MiB file is created and removed)
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

enum { BLOCK = 4096, MAX_DEPTH = 32, ROUNDS = 5 };
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

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const char *directory = argc > 1 + quick ? argv[1 + quick] : "/var/tmp";
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
    struct disk_engine_options engine_options = { .ring_entries = 64, .max_requests = 64 };
    struct disk_engine *engine = disk_engine_create(&image, &engine_options, &error);
    buffers = aligned_alloc(BLOCK, (size_t)MAX_DEPTH * BLOCK);
    if (!engine || !buffers) {
        fprintf(stderr, "bench_disk: engine setup failed\n");
        return 1;
    }
    printf("4 KiB random reads, %s, 256 MiB file in %s, median of %d rounds\n\n", mode, directory, ROUNDS);
    printf("| queue depth | engine (reads/s) | raw liburing (reads/s) | engine / raw |\n|---:|---:|---:|---:|\n");
    const unsigned depths[] = { 1, 32 };
    for (unsigned d = 0; d < 2; d++) {
        unsigned count = (depths[d] == 1 ? 20000 : 100000) / (quick ? 10 : 1);
        double engine_rates[ROUNDS], raw_rates[ROUNDS];
        for (unsigned round = 0; round < ROUNDS; round++) {
            raw_rates[round] = run_raw(image.fd, depths[d], count);
            engine_rates[round] = run_engine(engine, depths[d], count);
        }
        qsort(engine_rates, ROUNDS, sizeof(double), compare_double);
        qsort(raw_rates, ROUNDS, sizeof(double), compare_double);
        double engine_median = engine_rates[ROUNDS / 2], raw_median = raw_rates[ROUNDS / 2];
        printf("| %u | %.0f | %.0f | %.3f |\n", depths[d], engine_median, raw_median, engine_median / raw_median);
    }
    disk_engine_destroy(engine);
    disk_image_close(&image);
    unlink(path);
    free(buffers);
    return 0;
}
