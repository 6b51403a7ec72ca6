/* Synthetic block traces for the trace tests: records encoded with the format's own encoders, into memory or a file. */
#ifndef KESTREL_TESTS_BLOCK_TRACE_FIXTURE_H
#define KESTREL_TESTS_BLOCK_TRACE_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/block_trace_format.h"

struct trace_bytes {
    uint8_t *data;
    size_t size;
};

/* A finished trace of `count` records on a disk of `disk_size` bytes with `queues` queues. */
static inline struct trace_bytes trace_bytes_build(const struct block_trace_record *records, size_t count,
                                                   uint64_t disk_size, uint32_t queues)
{
    struct trace_bytes bytes = {.size = BLOCK_TRACE_HEADER_SIZE + count * BLOCK_TRACE_RECORD_SIZE};
    bytes.data = calloc(1, bytes.size);
    if (!bytes.data)
        abort();
    const struct block_trace_header header = {
        .version = BLOCK_TRACE_VERSION,
        .flags = BLOCK_TRACE_FLAG_FINISHED,
        .sector_size = 512,
        .queue_count = queues,
        .disk_size = disk_size,
        .origin_realtime_ns = 1764500000000000000ull,
        .record_count = count,
    };
    block_trace_header_encode(&header, bytes.data);
    for (size_t i = 0; i < count; i++)
        block_trace_record_encode(&records[i], bytes.data + BLOCK_TRACE_HEADER_SIZE + i * BLOCK_TRACE_RECORD_SIZE);
    return bytes;
}

static inline int trace_bytes_save(const struct trace_bytes *bytes, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t written = write(fd, bytes->data, bytes->size);
    close(fd);
    return written == (ssize_t)bytes->size ? 0 : -1;
}

/*
 * The known workload: `sequential` 512 KiB writes from sector 0, one after
 * the other on queue 0, then `random` 4 KiB reads at scattered 4 KiB-aligned
 * sectors on queue 1, each taking `latency` ns. Disk: 1 GiB.
 */
#define TRACE_FIXTURE_DISK (1ull << 30)
static inline struct block_trace_record *trace_known_workload(size_t sequential, size_t random, uint32_t latency)
{
    struct block_trace_record *records = calloc(sequential + random, sizeof(*records));
    if (!records)
        abort();
    uint64_t now = 1000000;
    for (size_t i = 0; i < sequential; i++) {
        now += latency;
        records[i] = (struct block_trace_record){.time_ns = now, .sector = i * 1024, .length = 512 * 1024,
                                                 .latency_ns = latency, .queue = 0, .type = BLOCK_TRACE_WRITE};
    }
    uint64_t state = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < random; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        now += latency;
        /* Odd 4 KiB blocks: a read ends at an even one, so no read ever starts where the previous ended. */
        uint64_t block = (state % (TRACE_FIXTURE_DISK / 4096 / 2)) * 2 + 1;
        records[sequential + i] = (struct block_trace_record){.time_ns = now, .sector = block * 8,
                                                              .length = 4096, .latency_ns = latency, .queue = 1,
                                                              .type = BLOCK_TRACE_READ};
    }
    return records;
}

/* Entries of a directory besides . and ..: what a refused or unstarted trace must not add to. */
static inline unsigned trace_directory_entries(const char *path)
{
    DIR *directory = opendir(path);
    unsigned count = 0;
    for (struct dirent *entry; directory && (entry = readdir(directory));)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    if (directory)
        closedir(directory);
    return count;
}

#endif
