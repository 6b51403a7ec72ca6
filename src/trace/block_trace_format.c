#include "trace/block_trace_format.h"

#include <string.h>

#include "util/little_endian.h"

/* Offsets of the header's fields (docs/trace-format.md). */
enum {
    HEADER_VERSION = 8,
    HEADER_HEADER_SIZE = 12,
    HEADER_RECORD_SIZE = 16,
    HEADER_FLAGS = 20,
    HEADER_SECTOR_SIZE = 24,
    HEADER_QUEUE_COUNT = 28,
    HEADER_DISK_SIZE = 32,
    HEADER_ORIGIN = 40,
    HEADER_RECORD_COUNT = 48,
    HEADER_DROPPED_COUNT = 56,
};



void block_trace_header_encode(const struct block_trace_header *header, uint8_t out[BLOCK_TRACE_HEADER_SIZE])
{
    memset(out, 0, BLOCK_TRACE_HEADER_SIZE);
    memcpy(out, BLOCK_TRACE_MAGIC, BLOCK_TRACE_MAGIC_SIZE);
    little_endian_put(out + HEADER_VERSION, header->version, 4);
    little_endian_put(out + HEADER_HEADER_SIZE, BLOCK_TRACE_HEADER_SIZE, 4);
    little_endian_put(out + HEADER_RECORD_SIZE, BLOCK_TRACE_RECORD_SIZE, 4);
    little_endian_put(out + HEADER_FLAGS, header->flags, 4);
    little_endian_put(out + HEADER_SECTOR_SIZE, header->sector_size, 4);
    little_endian_put(out + HEADER_QUEUE_COUNT, header->queue_count, 4);
    little_endian_put(out + HEADER_DISK_SIZE, header->disk_size, 8);
    little_endian_put(out + HEADER_ORIGIN, header->origin_realtime_ns, 8);
    little_endian_put(out + HEADER_RECORD_COUNT, header->record_count, 8);
    little_endian_put(out + HEADER_DROPPED_COUNT, header->dropped_count, 8);
}

int block_trace_header_decode(const uint8_t in[BLOCK_TRACE_HEADER_SIZE], struct block_trace_header *header,
                              uint32_t *header_size, uint32_t *record_size)
{
    if (memcmp(in, BLOCK_TRACE_MAGIC, BLOCK_TRACE_MAGIC_SIZE) != 0)
        return -1;
    *header = (struct block_trace_header){
        .version = (uint32_t)little_endian_get(in + HEADER_VERSION, 4),
        .flags = (uint32_t)little_endian_get(in + HEADER_FLAGS, 4),
        .sector_size = (uint32_t)little_endian_get(in + HEADER_SECTOR_SIZE, 4),
        .queue_count = (uint32_t)little_endian_get(in + HEADER_QUEUE_COUNT, 4),
        .disk_size = little_endian_get(in + HEADER_DISK_SIZE, 8),
        .origin_realtime_ns = little_endian_get(in + HEADER_ORIGIN, 8),
        .record_count = little_endian_get(in + HEADER_RECORD_COUNT, 8),
        .dropped_count = little_endian_get(in + HEADER_DROPPED_COUNT, 8),
    };
    *header_size = (uint32_t)little_endian_get(in + HEADER_HEADER_SIZE, 4);
    *record_size = (uint32_t)little_endian_get(in + HEADER_RECORD_SIZE, 4);
    return 0;
}

void block_trace_record_encode(const struct block_trace_record *record, uint8_t out[BLOCK_TRACE_RECORD_SIZE])
{
    little_endian_put(out, record->time_ns, 8);
    little_endian_put(out + 8, record->sector, 8);
    little_endian_put(out + 16, record->length, 4);
    little_endian_put(out + 20, record->latency_ns, 4);
    little_endian_put(out + 24, record->queue, 2);
    out[26] = record->type;
    out[27] = record->status;
    little_endian_put(out + 28, 0, 4);
}

void block_trace_record_decode(const uint8_t in[BLOCK_TRACE_RECORD_SIZE], struct block_trace_record *record,
                               uint32_t *reserved)
{
    *record = (struct block_trace_record){
        .time_ns = little_endian_get(in, 8),
        .sector = little_endian_get(in + 8, 8),
        .length = (uint32_t)little_endian_get(in + 16, 4),
        .latency_ns = (uint32_t)little_endian_get(in + 20, 4),
        .queue = (uint16_t)little_endian_get(in + 24, 2),
        .type = in[26],
        .status = in[27],
    };
    *reserved = (uint32_t)little_endian_get(in + 28, 4);
}

const char *block_trace_type_name(unsigned type)
{
    static const char *const names[BLOCK_TRACE_TYPE_COUNT] = {
        [BLOCK_TRACE_READ] = "read",       [BLOCK_TRACE_WRITE] = "write",
        [BLOCK_TRACE_FLUSH] = "flush",     [BLOCK_TRACE_DISCARD] = "discard",
        [BLOCK_TRACE_WRITE_ZEROES] = "write-zeroes", [BLOCK_TRACE_GET_ID] = "get-id",
        [BLOCK_TRACE_OTHER] = "other",
    };
    return type < BLOCK_TRACE_TYPE_COUNT ? names[type] : "unknown";
}
