#include "trace/block_trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/checked_math.h"

enum {
    MIN_SECTOR_SIZE = 512,
    MAX_SECTOR_SIZE = 65536,
};

static int check_header(const uint8_t *data, size_t size, const char *name, struct block_trace *trace,
                        struct error *error)
{
    if (size < BLOCK_TRACE_HEADER_SIZE)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: truncated header (%zu bytes, %d needed)", name, size,
                         BLOCK_TRACE_HEADER_SIZE);
    struct block_trace_header *header = &trace->header;
    uint32_t header_size, record_size;
    if (block_trace_header_decode(data, header, &header_size, &record_size) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: not a kestrel block trace (bad magic)", name);
    if (header->version != BLOCK_TRACE_VERSION)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: version %u (this kestrel reads version %d)", name,
                         header->version, BLOCK_TRACE_VERSION);
    if (header_size != BLOCK_TRACE_HEADER_SIZE || record_size != BLOCK_TRACE_RECORD_SIZE)
        return error_set(error, EXIT_STATUS_USAGE,
                         "trace %s: header of %u bytes and records of %u (version 1 has %d and %d)", name,
                         header_size, record_size, BLOCK_TRACE_HEADER_SIZE, BLOCK_TRACE_RECORD_SIZE);
    if (header->flags & ~(uint32_t)BLOCK_TRACE_FLAG_FINISHED)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: unknown flags 0x%x", name, header->flags);
    uint32_t sector_size = header->sector_size;
    if (sector_size < MIN_SECTOR_SIZE || sector_size > MAX_SECTOR_SIZE || (sector_size & (sector_size - 1)))
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: sector size %u (a power of two, 512 to 65536)", name,
                         sector_size);
    if (header->disk_size < sector_size)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: disk size %llu is less than one sector", name,
                         (unsigned long long)header->disk_size);
    if (header->queue_count == 0 || header->queue_count > BLOCK_TRACE_MAX_QUEUES)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: %u queues (1 to %d)", name, header->queue_count,
                         BLOCK_TRACE_MAX_QUEUES);
    trace->finished = (header->flags & BLOCK_TRACE_FLAG_FINISHED) != 0;
    size_t body = size - BLOCK_TRACE_HEADER_SIZE;
    size_t whole = body / BLOCK_TRACE_RECORD_SIZE;
    if (body % BLOCK_TRACE_RECORD_SIZE)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: truncated in record %zu (%zu of its %d bytes)", name,
                         whole, body % BLOCK_TRACE_RECORD_SIZE, BLOCK_TRACE_RECORD_SIZE);
    if (trace->finished && header->record_count != whole)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: the header counts %llu records, the file holds %zu",
                         name, (unsigned long long)header->record_count, whole);
    if (!trace->finished && (header->record_count != 0 || header->dropped_count != 0))
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: counts in the header of an unfinished trace", name);
    return 0;
}

/* Data requests with an OK status moved real sectors: they must lie on the disk. */
static bool has_range(const struct block_trace_record *record)
{
    return record->status == BLOCK_TRACE_STATUS_OK &&
           (record->type == BLOCK_TRACE_READ || record->type == BLOCK_TRACE_WRITE ||
            record->type == BLOCK_TRACE_DISCARD || record->type == BLOCK_TRACE_WRITE_ZEROES);
}

static int check_record(const struct block_trace *trace, size_t index, const struct block_trace_record *record,
                        uint32_t reserved, uint64_t *queue_times, const char *name, struct error *error)
{
    const struct block_trace_header *header = &trace->header;
    if (reserved != 0)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: reserved bytes are not zero", name, index);
    if (record->type >= BLOCK_TRACE_TYPE_COUNT)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: unknown type %u", name, index,
                         record->type);
    if (record->status >= BLOCK_TRACE_STATUS_COUNT)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: unknown status %u", name, index,
                         record->status);
    if (record->queue >= header->queue_count)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: queue %u of %u", name, index,
                         record->queue, header->queue_count);
    if (record->latency_ns > record->time_ns)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: latency %u ns is longer than the trace",
                         name, index, record->latency_ns);
    if (record->time_ns < queue_times[record->queue])
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: time goes backwards on queue %u", name,
                         index, record->queue);
    queue_times[record->queue] = record->time_ns;
    bool no_data = record->type == BLOCK_TRACE_FLUSH || record->type == BLOCK_TRACE_GET_ID ||
                   record->type == BLOCK_TRACE_OTHER;
    if (no_data && record->length != 0)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: a %s with a length", name, index,
                         block_trace_type_name(record->type));
    if (!has_range(record))
        return 0;
    if (record->length % header->sector_size)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: length %u is not whole sectors", name,
                         index, record->length);
    uint64_t end;
    if (!checked_add_u64(record->sector, record->length / header->sector_size, &end) ||
        end > header->disk_size / header->sector_size)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: record %zu: sectors %llu+%u are past the disk's end",
                         name, index, (unsigned long long)record->sector, record->length / header->sector_size);
    return 0;
}

int block_trace_parse(const uint8_t *data, size_t size, const char *name, struct block_trace *trace,
                      struct error *error)
{
    memset(trace, 0, sizeof(*trace));
    if (check_header(data, size, name, trace, error) < 0)
        return -1;
    size_t count = (size - BLOCK_TRACE_HEADER_SIZE) / BLOCK_TRACE_RECORD_SIZE;
    if (count > PTRDIFF_MAX / sizeof(*trace->records))
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: %zu records is more than memory holds", name, count);
    if (count > 0) {
        trace->records = calloc(count, sizeof(*trace->records));
        if (!trace->records)
            return error_set(error, EXIT_STATUS_FAILURE, "trace %s: out of memory for %zu records", name, count);
    }
    uint64_t queue_times[BLOCK_TRACE_MAX_QUEUES] = {0};
    for (size_t i = 0; i < count; i++) {
        uint32_t reserved;
        block_trace_record_decode(data + BLOCK_TRACE_HEADER_SIZE + i * BLOCK_TRACE_RECORD_SIZE, &trace->records[i],
                                  &reserved);
        if (check_record(trace, i, &trace->records[i], reserved, queue_times, name, error) < 0) {
            block_trace_free(trace);
            return -1;
        }
    }
    trace->count = count;
    return 0;
}

int block_trace_load(const char *path, struct block_trace *trace, struct error *error)
{
    memset(trace, 0, sizeof(*trace));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: %s", path,
                         errno == ENOENT ? "does not exist" : strerror(errno));
    struct stat status;
    if (fstat(fd, &status) < 0 || !S_ISREG(status.st_mode)) {
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: not a regular file", path);
    }
    size_t size = (size_t)status.st_size;
    if (size == 0) {
        close(fd);
        return block_trace_parse(NULL, 0, path, trace, error);
    }
    void *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED)
        return error_set(error, EXIT_STATUS_USAGE, "trace %s: cannot map it: %s", path, strerror(errno));
    int result = block_trace_parse(data, size, path, trace, error);
    munmap(data, size);
    return result;
}

void block_trace_free(struct block_trace *trace)
{
    free(trace->records);
    trace->records = NULL;
    trace->count = 0;
}
