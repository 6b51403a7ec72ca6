#ifndef KESTREL_DEVICES_VIRTIO_BLK_REQUEST_H
#define KESTREL_DEVICES_VIRTIO_BLK_REQUEST_H

/*
 * One popped virtio-blk request (virtio 1.2, 5.2.6) turned into what the
 * disk engine runs, or into a final status when no I/O is needed. Pure
 * functions over the request's segments (guest RAM already bounds-checked by
 * the virtqueue core), so they can be fuzzed without a queue or a disk.
 *
 * The guest is hostile: the 16-byte header is copied out once wherever its
 * bytes are split; the status byte is the last writable byte; segment
 * directions, lengths and sector ranges are checked with overflow-safe
 * arithmetic against the limits the device advertised. docs/virtio-blk.md
 * lists the rules.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/disk_engine.h"
#include "virtio/virtqueue.h"

enum {
    VIRTIO_BLK_SECTOR_SIZE = 512,
    VIRTIO_BLK_SERIAL_BYTES = 20, /* VIRTIO_BLK_ID_BYTES */
};

/* What the device advertised and what it knows of its image: a request is checked against these only. */
struct virtio_blk_limits {
    uint64_t capacity_sectors;
    bool read_only;
    uint32_t max_discard_sectors;      /* per DISCARD range */
    uint32_t max_write_zeroes_sectors; /* per WRITE_ZEROES range */
    uint8_t serial[VIRTIO_BLK_SERIAL_BYTES]; /* zero-padded */
};

enum virtio_blk_outcome {
    VIRTIO_BLK_SUBMIT,    /* `disk` goes to the engine; the status comes with its completion */
    VIRTIO_BLK_DONE,      /* no I/O: write `status_value` to `status`, used length `used` */
    VIRTIO_BLK_NO_STATUS, /* no writable byte for a status: return it with nothing written */
};

struct virtio_blk_parsed {
    enum virtio_blk_outcome outcome;
    uint32_t type;           /* VIRTIO_BLK_T_*, as the header said */
    uint8_t *status;         /* the last writable byte; NULL for NO_STATUS */
    uint8_t status_value;    /* DONE */
    uint32_t used;           /* DONE: bytes written, the status byte included */
    uint64_t sector;         /* the header's sector, or the range's for DISCARD and WRITE_ZEROES (the trace) */
    uint32_t data_bytes;     /* SUBMIT: the bytes the request moves or covers; 0 otherwise (the trace) */
    struct disk_request disk; /* SUBMIT; disk.segments points into the caller's scratch array */
};

/*
 * Parses `request`. `scratch` holds at least request->readable_count +
 * request->writable_count entries; the data segments of IN and OUT are built
 * there (the header and the status byte cut off). GET_ID writes the serial
 * into the request's writable bytes here. Never fails: anything malformed
 * becomes DONE with IOERR or UNSUPP, or NO_STATUS.
 */
void virtio_blk_request_parse(const struct virtq_request *request, const struct virtio_blk_limits *limits,
                              struct iovec *scratch, struct virtio_blk_parsed *parsed);

/* Used length for a completed SUBMIT: the bytes read (IN) plus the status byte. */
uint32_t virtio_blk_request_used(uint32_t type, uint64_t bytes_done);

#endif
