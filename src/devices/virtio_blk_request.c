#include "devices/virtio_blk_request.h"

#include <endian.h>
#include <linux/virtio_blk.h>
#include <string.h>

#include "virtio/virtq_request.h"
#include "util/checked_math.h"

/*
 * Builds in `out` the segments covering `length` bytes from `skip` bytes into
 * `segments`, leaving out empty pieces; returns how many. `out` has room for
 * `count` entries, which is always enough.
 */
static unsigned slice(const struct iovec *segments, uint32_t count, uint64_t skip, uint64_t length, struct iovec *out)
{
    unsigned built = 0;
    for (uint32_t i = 0; i < count && length > 0; i++) {
        uint64_t segment_length = segments[i].iov_len;
        if (skip >= segment_length) {
            skip -= segment_length;
            continue;
        }
        uint64_t take = segment_length - skip;
        if (take > length)
            take = length;
        out[built++] = (struct iovec){(uint8_t *)segments[i].iov_base + skip, take};
        length -= take;
        skip = 0;
    }
    return built;
}

static void finish(struct virtio_blk_parsed *parsed, uint8_t status, uint32_t used)
{
    parsed->outcome = VIRTIO_BLK_DONE;
    parsed->status_value = status;
    parsed->used = used;
}

/* `sectors` whole sectors from `sector` lie on the disk, and the byte offset of their end fits 64 bits. */
static bool sectors_on_disk(const struct virtio_blk_limits *limits, uint64_t sector, uint64_t sectors)
{
    uint64_t end;
    return checked_add_u64(sector, sectors, &end) && end <= limits->capacity_sectors &&
           end <= UINT64_MAX / VIRTIO_BLK_SECTOR_SIZE;
}

/* IN and OUT: the data lies between the header and the status byte, on one side only. */
static void parse_transfer(const struct virtq_request *request, const struct virtio_blk_limits *limits,
                           uint64_t sector, struct iovec *scratch, struct virtio_blk_parsed *parsed)
{
    bool read = parsed->type == VIRTIO_BLK_T_IN;
    /* IN carries data only in writable buffers, OUT only in readable ones. */
    uint64_t data = read ? request->writable_bytes - 1 : request->readable_bytes - sizeof(struct virtio_blk_outhdr);
    if ((read ? request->readable_bytes != sizeof(struct virtio_blk_outhdr) : request->writable_bytes != 1) ||
        data % VIRTIO_BLK_SECTOR_SIZE != 0 || data > UINT32_MAX - 1 ||
        !sectors_on_disk(limits, sector, data / VIRTIO_BLK_SECTOR_SIZE))
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    if (!read && limits->read_only)
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    unsigned count;
    if (read)
        count = slice(virtq_request_writable(request), request->writable_count, 0, data, scratch);
    else
        count = slice(virtq_request_readable(request), request->readable_count, sizeof(struct virtio_blk_outhdr), data, scratch);
    parsed->outcome = VIRTIO_BLK_SUBMIT;
    parsed->disk = (struct disk_request){
        .type = read ? DISK_REQUEST_READ : DISK_REQUEST_WRITE,
        .offset = sector * VIRTIO_BLK_SECTOR_SIZE,
        .segments = scratch,
        .segment_count = count,
    };
    parsed->data_bytes = (uint32_t)data;
}

static void parse_get_id(const struct virtq_request *request, const struct virtio_blk_limits *limits,
                         struct virtio_blk_parsed *parsed)
{
    if (request->readable_bytes != sizeof(struct virtio_blk_outhdr))
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    /* The serial is zero-padded to 20 bytes; a shorter buffer gets its first bytes (spec 5.2.6). */
    uint64_t room = request->writable_bytes - 1;
    uint64_t length = room < VIRTIO_BLK_SERIAL_BYTES ? room : VIRTIO_BLK_SERIAL_BYTES;
    /* `length` stops short of the status byte, so the copy never covers it. */
    uint64_t written = virtq_request_write(request, 0, limits->serial, length);
    finish(parsed, VIRTIO_BLK_S_OK, (uint32_t)written + 1);
}

static void parse_range(const struct virtq_request *request, const struct virtio_blk_limits *limits,
                        struct virtio_blk_parsed *parsed)
{
    bool discard = parsed->type == VIRTIO_BLK_T_DISCARD;
    struct virtio_blk_discard_write_zeroes range;
    /* Exactly one range: the device advertises max_discard_seg = max_write_zeroes_seg = 1. */
    if (request->writable_bytes != 1 ||
        request->readable_bytes != sizeof(struct virtio_blk_outhdr) + sizeof(range) || limits->read_only)
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    virtq_request_read(request, sizeof(struct virtio_blk_outhdr), &range, sizeof(range));
    uint64_t sector = le64toh(range.sector);
    uint32_t sectors = le32toh(range.num_sectors);
    uint32_t flags = le32toh(range.flags);
    parsed->sector = sector;
    uint32_t allowed_flags = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
    if (flags & ~allowed_flags)
        return finish(parsed, VIRTIO_BLK_S_UNSUPP, 1);
    if (sectors > (discard ? limits->max_discard_sectors : limits->max_write_zeroes_sectors) ||
        !sectors_on_disk(limits, sector, sectors))
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    /* An empty range has nothing to do, and fallocate would refuse a zero length. */
    if (sectors == 0)
        return finish(parsed, VIRTIO_BLK_S_OK, 1);
    parsed->outcome = VIRTIO_BLK_SUBMIT;
    parsed->disk = (struct disk_request){
        .type = discard ? DISK_REQUEST_DISCARD : DISK_REQUEST_WRITE_ZEROES,
        .unmap = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0,
        .offset = sector * VIRTIO_BLK_SECTOR_SIZE,
        .length = (uint64_t)sectors * VIRTIO_BLK_SECTOR_SIZE,
    };
    /* The device's ranges are at most 2 GiB; larger limits would saturate at the last whole sector below 4 GiB. */
    uint64_t bytes = (uint64_t)sectors * VIRTIO_BLK_SECTOR_SIZE;
    parsed->data_bytes = bytes > UINT32_MAX ? UINT32_MAX - (VIRTIO_BLK_SECTOR_SIZE - 1) : (uint32_t)bytes;
}

/* The last writable byte, skipping empty writable segments; NULL when there is none. */
static uint8_t *find_status(const struct virtq_request *request)
{
    const struct iovec *writable = virtq_request_writable(request);
    for (uint32_t i = request->writable_count; i > 0; i--)
        if (writable[i - 1].iov_len > 0)
            return (uint8_t *)writable[i - 1].iov_base + writable[i - 1].iov_len - 1;
    return NULL;
}

void virtio_blk_request_parse(const struct virtq_request *request, const struct virtio_blk_limits *limits,
                              struct iovec *scratch, struct virtio_blk_parsed *parsed)
{
    memset(parsed, 0, sizeof(*parsed));
    parsed->status = find_status(request);
    if (!parsed->status || request->writable_bytes == 0) {
        parsed->outcome = VIRTIO_BLK_NO_STATUS;
        parsed->status = NULL;
        return;
    }
    struct virtio_blk_outhdr header;
    /* Copied out once, wherever the driver split it; only the copy is looked at. */
    if (virtq_request_read(request, 0, &header, sizeof(header)) != sizeof(header))
        return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
    parsed->type = le32toh(header.type);
    uint64_t sector = le64toh(header.sector);
    parsed->sector = sector;
    switch (parsed->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return parse_transfer(request, limits, sector, scratch, parsed);
    case VIRTIO_BLK_T_FLUSH:
        if (request->readable_bytes != sizeof(header) || request->writable_bytes != 1)
            return finish(parsed, VIRTIO_BLK_S_IOERR, 1);
        parsed->outcome = VIRTIO_BLK_SUBMIT;
        parsed->disk = (struct disk_request){.type = DISK_REQUEST_FLUSH};
        return;
    case VIRTIO_BLK_T_GET_ID:
        return parse_get_id(request, limits, parsed);
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return parse_range(request, limits, parsed);
    default:
        return finish(parsed, VIRTIO_BLK_S_UNSUPP, 1);
    }
}

uint32_t virtio_blk_request_used(uint32_t type, uint64_t bytes_done)
{
    if (type != VIRTIO_BLK_T_IN)
        return 1;
    return bytes_done > UINT32_MAX - 1 ? UINT32_MAX : (uint32_t)bytes_done + 1;
}
