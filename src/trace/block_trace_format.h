#ifndef KESTREL_TRACE_BLOCK_TRACE_FORMAT_H
#define KESTREL_TRACE_BLOCK_TRACE_FORMAT_H

/*
 * The block I/O trace file of --disk ...,trace=PATH (docs/trace-format.md):
 * a 64-byte header, then 32-byte records, one per completed virtio-blk
 * request, all little-endian with fixed sizes. The encoders and decoders here
 * are the only code that knows the byte layout; the writer and the reader use
 * them, so the two cannot drift apart.
 */

#include <stdint.h>

#define BLOCK_TRACE_MAGIC "KESTRLBT"
#define BLOCK_TRACE_MAGIC_SIZE 8

enum {
    BLOCK_TRACE_VERSION = 1,
    BLOCK_TRACE_HEADER_SIZE = 64,
    BLOCK_TRACE_RECORD_SIZE = 32,
    BLOCK_TRACE_MAX_QUEUES = 64,
    BLOCK_TRACE_FLAG_FINISHED = 1, /* the writer closed the file: record_count and dropped_count are final */
};

/* What the request asked for; VIRTIO_BLK_T_* types the device does not know are OTHER. */
enum block_trace_type {
    BLOCK_TRACE_READ = 0,
    BLOCK_TRACE_WRITE = 1,
    BLOCK_TRACE_FLUSH = 2,
    BLOCK_TRACE_DISCARD = 3,
    BLOCK_TRACE_WRITE_ZEROES = 4,
    BLOCK_TRACE_GET_ID = 5,
    BLOCK_TRACE_OTHER = 6,
    BLOCK_TRACE_TYPE_COUNT = 7,
};

/* The status the guest got: VIRTIO_BLK_S_OK, _IOERR, _UNSUPP. */
enum block_trace_status {
    BLOCK_TRACE_STATUS_OK = 0,
    BLOCK_TRACE_STATUS_IOERR = 1,
    BLOCK_TRACE_STATUS_UNSUPP = 2,
    BLOCK_TRACE_STATUS_COUNT = 3,
};

struct block_trace_header {
    uint32_t version;
    uint32_t flags;
    uint32_t sector_size;        /* bytes per unit of a record's sector: 512 for virtio-blk */
    uint32_t queue_count;        /* the device's queues: a record's queue is below this */
    uint64_t disk_size;          /* bytes */
    uint64_t origin_realtime_ns; /* CLOCK_REALTIME when the trace's time 0 was taken */
    uint64_t record_count;       /* FINISHED: the records that follow */
    uint64_t dropped_count;      /* FINISHED: records lost to a full buffer */
};

struct block_trace_record {
    uint64_t time_ns;    /* completion, since the trace's origin (CLOCK_MONOTONIC) */
    uint64_t sector;     /* first sector, in sector_size units */
    uint32_t length;     /* bytes moved or covered (0 for FLUSH, GET_ID and requests refused before I/O) */
    uint32_t latency_ns; /* from the pop to the completion; saturates at UINT32_MAX (4.29 s) */
    uint16_t queue;
    uint8_t type;   /* enum block_trace_type */
    uint8_t status; /* enum block_trace_status */
};

void block_trace_header_encode(const struct block_trace_header *header, uint8_t out[BLOCK_TRACE_HEADER_SIZE]);
void block_trace_record_encode(const struct block_trace_record *record, uint8_t out[BLOCK_TRACE_RECORD_SIZE]);

/* Field extraction only; the reader validates. Returns 0, or -1 when the magic or sizes are not ours. */
int block_trace_header_decode(const uint8_t in[BLOCK_TRACE_HEADER_SIZE], struct block_trace_header *header,
                              uint32_t *header_size, uint32_t *record_size);
/* *reserved gets the 4 bytes that must be zero. */
void block_trace_record_decode(const uint8_t in[BLOCK_TRACE_RECORD_SIZE], struct block_trace_record *record,
                               uint32_t *reserved);

const char *block_trace_type_name(unsigned type);

#endif
