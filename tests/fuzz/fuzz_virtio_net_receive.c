/*
 * virtio-net's receive path (virtio_net_receive_acquire and _commit, the
 * sink a backend writes frames through) on a real virtqueue driven by the
 * harness driver, one thread: the input posts receive chains of any shape
 * and sends frames of any length, to any address, through a backend that
 * writes the header (a tap: asks for the largest frame, gets what is held)
 * or not (libslirp: asks for the exact length), with or without merged
 * buffers and the filter open or closed.
 *
 * Oracles: nothing crashes or writes outside the posted buffers; a frame
 * that is delivered comes back as consecutive chains in the order they were
 * posted, as many as the header's num_buffers says (1 without merged
 * buffers), their used lengths adding up to what the backend wrote (plus
 * the header the device wrote), the bytes in them the frame's; the device's
 * own header carries DATA_VALID exactly when asked; a frame the filter or
 * its length refuses uses no chain; no chain ever comes back twice.
 *
 * Input: a flags byte (bit 0 packed, 1 MRG_RXBUF, 2 the backend writes the
 * header, 3 data_valid, 4 filter closed), then operations of three bytes
 * (kind, two argument bytes): post a chain (1-4 writable segments of lengths
 * from the arguments), send a frame (length and destination from the
 * arguments), reap used chains.
 */
#include <endian.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_net_header.h"
#include "devices/virtio_net_receive.h"
#include "harness/harness_queue.h"

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition)) {                                                                                           \
            fprintf(stderr, "fuzz_virtio_net_receive: check failed: %s (line %d)\n", #condition, __LINE__);       \
            __builtin_trap();                                                                                         \
        }                                                                                                             \
    } while (0)

enum {
    QUEUE_SIZE = 32,
    MAX_CHAINS = 96,
    MAX_CHAIN_SEGMENTS = 4,
    MAX_OPERATIONS = 64,
    LARGEST = 65550 + VIRTIO_NET_HEADER_SIZE,
};

static const uint8_t own[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct chain {
    struct virtq_driver_buffer segments[MAX_CHAIN_SEGMENTS];
    unsigned count;
    uint32_t bytes;
    bool returned;
};

struct model {
    struct harness_queue *queue;
    struct virtio_net_receive receive;
    struct chain chains[MAX_CHAINS];
    unsigned posted;        /* chains[0 .. posted) were added, in this order */
    unsigned next_returned; /* the oldest chain not yet come back */
    bool header_from_backend, mergeable, data_valid;
};

static uint8_t frame[LARGEST];

static void post(struct model *model, uint8_t a, uint8_t b)
{
    if (model->posted == MAX_CHAINS)
        return;
    struct chain *chain = &model->chains[model->posted];
    chain->count = 1 + a % MAX_CHAIN_SEGMENTS;
    chain->bytes = 0;
    for (unsigned i = 0; i < chain->count; i++) {
        /* Mostly buffers of 1 to 2 KiB, sometimes tiny ones (shorter than the header). */
        uint32_t length = (b & 7) == 0 ? 1 + (uint32_t)(a + i) % 16 : 1 + ((uint32_t)b * 13 + i * 311 + a) % 2048;
        uint64_t gpa = guest_allocator_alloc(&model->queue->allocator, length, 8);
        if (gpa == GUEST_ALLOCATION_FAILED)
            return;
        memset(gpa_to_hva(&model->queue->memory, gpa, length), 0xee, length);
        chain->segments[i] = (struct virtq_driver_buffer){gpa, length};
        chain->bytes += length;
    }
    const struct virtq_driver_request request = {.writable = chain->segments, .writable_count = chain->count};
    if (virtq_driver_add(&model->queue->driver, &request, model->posted) == 0) {
        virtq_driver_publish(&model->queue->driver);
        model->posted++;
    }
}

/* Copies `length` bytes of the chain's buffers from `offset` into `out`. */
static void read_chain(struct model *model, const struct chain *chain, uint32_t offset, uint8_t *out, uint32_t length)
{
    for (unsigned i = 0; i < chain->count && length > 0; i++) {
        uint32_t size = chain->segments[i].len;
        if (offset >= size) {
            offset -= size;
            continue;
        }
        uint32_t take = size - offset < length ? size - offset : length;
        memcpy(out, (uint8_t *)gpa_to_hva(&model->queue->memory, chain->segments[i].gpa, size) + offset, take);
        out += take, length -= take, offset = 0;
    }
}

/* Reaps what the device returned: one whole frame's chains (or none) since the last reap. */
static void reap_frame(struct model *model, const uint8_t *sent, uint64_t delivered)
{
    static uint8_t seen[MAX_CHAINS * MAX_CHAIN_SEGMENTS * 2048 + VIRTIO_NET_HEADER_SIZE];
    unsigned first = model->next_returned, count = 0;
    uint64_t total = 0;
    uint64_t token;
    uint32_t written;
    int result;
    while ((result = virtq_driver_get_used(&model->queue->driver, &token, &written)) == 1) {
        CHECK(token == model->next_returned && token < model->posted);
        struct chain *chain = &model->chains[token];
        CHECK(!chain->returned);
        CHECK(written <= chain->bytes);
        chain->returned = true;
        model->next_returned++;
        if (written == 0 && count == 0 && chain->bytes < VIRTIO_NET_HEADER_SIZE) {
            first++; /* a chain too short for any frame, given back unused */
            continue;
        }
        read_chain(model, chain, 0, seen + total, written);
        total += written;
        count++;
    }
    CHECK(result == 0);
    if (delivered == 0) {
        CHECK(count == 0);
        return;
    }
    CHECK(count >= 1);
    struct virtio_net_hdr_v1 header;
    memcpy(&header, seen, sizeof(header));
    CHECK(le16toh(header.num_buffers) == count);
    CHECK(model->mergeable || count == 1);
    CHECK(total == delivered);
    if (!model->header_from_backend) {
        CHECK(header.flags == (model->data_valid ? VIRTIO_NET_HDR_F_DATA_VALID : 0));
        CHECK(header.gso_type == VIRTIO_NET_HDR_GSO_NONE);
        CHECK(memcmp(seen + VIRTIO_NET_HEADER_SIZE, sent, total - VIRTIO_NET_HEADER_SIZE) == 0);
    } else {
        CHECK(memcmp(seen, sent, 10) == 0); /* the tap's header, num_buffers aside */
        CHECK(memcmp(seen + VIRTIO_NET_HEADER_SIZE, sent + VIRTIO_NET_HEADER_SIZE, total - VIRTIO_NET_HEADER_SIZE) ==
              0);
    }
    (void)first;
}

/* What a backend does with one frame: acquire, write, commit. Returns the bytes the guest should see (0: none). */
static uint64_t send_frame(struct model *model, uint8_t a, uint8_t b, bool filter_closed)
{
    uint32_t length = ((uint32_t)a << 6 | b >> 2) % 9100; /* up to a jumbo frame */
    const uint8_t other[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
    const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t *destination = (b & 3) == 0 ? own : (b & 3) == 1 ? broadcast : other;
    uint32_t header = model->header_from_backend ? VIRTIO_NET_HEADER_SIZE : 0;
    for (uint32_t i = 0; i < header + length; i++)
        frame[i] = (uint8_t)(i * 31 + a);
    if (header)
        memset(frame, 0, header);
    memcpy(frame + header, destination, length < 6 ? length : 6);
    struct iovec *segments;
    unsigned count;
    size_t ask = model->header_from_backend ? LARGEST : length;
    if (!virtio_net_receive_acquire(&model->receive, ask, &segments, &count))
        return 0;
    CHECK(count >= 1 && count <= VIRTIO_NET_GATHER_MAX);
    /* Every segment lies in guest memory, inside a posted buffer (ASan would catch a stray write below). */
    size_t written = 0, want = header + length;
    for (unsigned i = 0; i < count && written < want; i++) {
        size_t take = segments[i].iov_len < want - written ? segments[i].iov_len : want - written;
        memcpy(segments[i].iov_base, frame + written, take);
        written += take;
    }
    virtio_net_receive_commit(&model->receive, written);
    uint64_t delivered = written + (model->header_from_backend ? 0 : VIRTIO_NET_HEADER_SIZE);
    bool refused = filter_closed && destination == other;
    if (written == 0 || delivered < VIRTIO_NET_HEADER_SIZE + VIRTIO_NET_ETHERNET_HEADER || refused)
        return 0;
    return delivered;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    data++, size--;
    const struct virtq_driver_options options = {
        .layout = (flags & 1) ? VIRTQ_LAYOUT_PACKED : VIRTQ_LAYOUT_SPLIT,
        .size = QUEUE_SIZE,
    };
    struct model *model = calloc(1, sizeof(*model));
    CHECK(model);
    model->queue = harness_queue_create(&options, HARNESS_DEVICE_NULL, 4u << 20);
    CHECK(model->queue);
    model->mergeable = flags & 2;
    model->header_from_backend = flags & 4;
    model->data_valid = flags & 8;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct virtio_net_filter filter;
    virtio_net_filter_reset(&filter);
    filter.promiscuous = !(flags & 16);
    const struct virtio_net_receive_setup setup = {
        .queue = &model->queue->device.queue,
        .mergeable = model->mergeable,
        .backend_writes_header = model->header_from_backend,
        .data_valid = model->data_valid,
        .mac = own,
        .filter_lock = &lock,
        .filter = &filter,
    };
    struct error error;
    CHECK(virtio_net_receive_init(&model->receive, &setup, &error) == 0);
    for (unsigned op = 0; op < MAX_OPERATIONS && size >= 3; op++, data += 3, size -= 3) {
        switch (data[0] % 3) {
        case 0:
            post(model, data[1], data[2]);
            break;
        case 1: {
            uint64_t delivered = send_frame(model, data[1], data[2], flags & 16);
            reap_frame(model, frame, delivered);
            break;
        }
        default:
            reap_frame(model, frame, 0);
            break;
        }
    }
    CHECK(!virtq_is_broken(&model->queue->device.queue));
    virtio_net_receive_destroy(&model->receive);
    harness_queue_destroy(model->queue);
    free(model);
    return 0;
}
