/*
 * libFuzzer target: the device side of a packed virtqueue against arbitrary
 * guest memory and queue configuration.
 *
 * Input layout (little endian):
 *   [0..1]   queue size (1 + value % VIRTQ_MAX_SIZE)
 *   [2]      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC; bits 2-7 choose where each
 *            area lies (low RAM, the hole, high RAM)
 *   [3..4]   descriptor ring offset, [5..6] driver event offset, [7..8] device event offset
 *   [9]      segment capacity (1 + value % MAX_SEGMENTS); bit 7: concurrent guest
 *   [10]     number of 4-byte operations that follow
 *   ops, then the guest memory image (low RAM from gpa 0; high RAM gets a copy of its start).
 *
 * In concurrent-guest mode the packed ring's test seam overwrites every
 * descriptor right after the device copied it, with bytes from the input, as
 * another vCPU could; the popped request must then match the values as they
 * were when copied, never what the guest wrote afterwards.
 *
 * Operations: pop, push a held request (any order, any `written`), should_notify,
 * disable/enable kicks, poke a byte of guest memory (the driver acting
 * between device steps), reset and re-enable. Requests held across a reset
 * stay held: pushing one later must fail and write nothing (its generation is
 * over), however the new ring reuses its id.
 *
 * Guest RAM sits between PROT_NONE guard pages, so an over-read faults.
 *
 * Invariants: every segment lies inside guest RAM; a popped request matches
 * an independent re-reading of the ring (readable before writable, lengths,
 * id); ids and ring slots in flight stay within the queue size; a broken
 * queue stays broken; push of a held request succeeds while the queue works.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/guest_memory.h"
#include "unit/guarded_memory.h"
#include "virtio/packed_ring.h"
#include "virtio/virtqueue.h"

#define LOW_RAM_SIZE  0x10000ull
#define HIGH_RAM_GPA  0x20000ull
#define HIGH_RAM_SIZE 0x4000ull

enum { MAX_SEGMENTS = 64, MAX_HELD = 64, HEADER_BYTES = 11, OP_BYTES = 4 };

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition))                                                                                             \
            __builtin_trap();                                                                                         \
    } while (0)

struct held_request {
    struct virtq_request request;
    struct iovec segments[MAX_SEGMENTS];
    bool stale; /* popped before the last reset */
};

static struct guest_memory memory;
static struct virtq queue; /* kept across inputs so the broken-queue log stays rate-limited */
static struct held_request held[MAX_HELD];
static unsigned held_count;

static void setup_memory(void)
{
    if (memory.region_count)
        return;
    guarded_memory_add(&memory, 0, LOW_RAM_SIZE);
    guarded_memory_add(&memory, HIGH_RAM_GPA, HIGH_RAM_SIZE);
}

static uint64_t area_gpa(uint16_t offset, unsigned selector)
{
    switch (selector & 3) {
    case 2:
        return LOW_RAM_SIZE + offset; /* the hole (and past it) */
    case 3:
        return HIGH_RAM_GPA + offset;
    default:
        return offset;
    }
}

static bool segment_in_ram(const struct iovec *segment)
{
    for (unsigned i = 0; i < memory.region_count; i++) {
        const struct guest_memory_region *region = &memory.regions[i];
        uintptr_t start = (uintptr_t)region->host;
        uintptr_t base = (uintptr_t)segment->iov_base;
        if (base >= start && base - start <= region->size && segment->iov_len <= region->size - (base - start))
            return true;
    }
    return false;
}

/* An independent reading of the chain the device just popped (memory has not changed since). */
struct reference_buffer {
    uint64_t addr;
    uint32_t len;
    bool writable;
};

static bool read_descriptor(uint64_t gpa, struct vring_packed_desc *descriptor)
{
    return guest_memory_read(&memory, gpa, descriptor, sizeof(*descriptor)) == 0;
}

/* Concurrent-guest mode: what each descriptor held when the device copied it, in copy order. */
static struct {
    bool active;
    const uint8_t *bytes; /* what the "other vCPU" writes, cycled */
    size_t length;
    size_t position;
    struct vring_packed_desc log[2 * VIRTQ_MAX_SIZE + 1];
    unsigned count;
    unsigned next;
} concurrent;

static void concurrent_guest_rewrite(void *location)
{
    CHECK(concurrent.count < sizeof(concurrent.log) / sizeof(concurrent.log[0]));
    memcpy(&concurrent.log[concurrent.count++], location, sizeof(struct vring_packed_desc));
    uint8_t *target = location;
    for (size_t i = 0; i < sizeof(struct vring_packed_desc); i++) {
        target[i] = concurrent.length ? concurrent.bytes[concurrent.position % concurrent.length] : 0xFF;
        concurrent.position++;
    }
}

/* The next descriptor of the chain as the device saw it: from guest memory, or from the copy log. */
static bool reference_descriptor(uint64_t gpa, struct vring_packed_desc *descriptor)
{
    if (!concurrent.active)
        return read_descriptor(gpa, descriptor);
    if (concurrent.next >= concurrent.count)
        return false;
    *descriptor = concurrent.log[concurrent.next++];
    return true;
}

static void check_against_reference(const struct virtq_config *config, uint16_t slot, bool wrap,
                                    const struct virtq_request *request)
{
    static struct reference_buffer buffers[2 * VIRTQ_MAX_SIZE];
    unsigned count = 0;
    struct vring_packed_desc descriptor;
    CHECK(request->ring_slots >= 1 && request->ring_slots <= config->size);
    for (unsigned i = 0; i < request->ring_slots; i++) {
        CHECK(reference_descriptor(config->desc_gpa + (uint64_t)slot * 16, &descriptor));
        bool avail = descriptor.flags & (1u << VRING_PACKED_DESC_F_AVAIL);
        bool used = descriptor.flags & (1u << VRING_PACKED_DESC_F_USED);
        CHECK(avail == wrap && used != wrap);
        bool last = i + 1 == request->ring_slots;
        CHECK(!(descriptor.flags & VRING_DESC_F_NEXT) == last);
        if (descriptor.flags & VRING_DESC_F_INDIRECT) {
            CHECK(config->indirect && request->ring_slots == 1);
            unsigned entries = descriptor.len / 16;
            CHECK(descriptor.len % 16 == 0 && entries >= 1 && entries <= config->size);
            for (unsigned e = 0; e < entries; e++) {
                struct vring_packed_desc entry;
                CHECK(reference_descriptor(descriptor.addr + e * 16ull, &entry));
                CHECK(!(entry.flags & VRING_DESC_F_INDIRECT));
                if (entry.len)
                    buffers[count++] = (struct reference_buffer){ entry.addr, entry.len,
                                                                  entry.flags & VRING_DESC_F_WRITE };
            }
        } else if (descriptor.len) {
            buffers[count++] = (struct reference_buffer){ descriptor.addr, descriptor.len,
                                                          descriptor.flags & VRING_DESC_F_WRITE };
        }
        if (++slot == config->size) {
            slot = 0;
            wrap = !wrap;
        }
    }
    CHECK(request->id == descriptor.id && request->id < config->size);
    /* Every descriptor the device copied was part of the request. */
    CHECK(!concurrent.active || concurrent.next == concurrent.count);
    CHECK(count == request->readable_count + request->writable_count);
    uint64_t readable = 0, writable = 0;
    for (unsigned i = 0; i < count; i++) {
        const struct iovec *segment = &request->segments[i];
        CHECK(segment_in_ram(segment));
        CHECK(segment->iov_base == gpa_to_hva(&memory, buffers[i].addr, buffers[i].len));
        CHECK(segment->iov_len == buffers[i].len);
        /* Readable segments first, then writable ones. */
        CHECK(buffers[i].writable == (i >= request->readable_count));
        if (buffers[i].writable)
            writable += buffers[i].len;
        else
            readable += buffers[i].len;
    }
    CHECK(readable == request->readable_bytes && writable == request->writable_bytes);
    CHECK(readable + writable <= UINT32_MAX);
}

static void check_queue_bounds(const struct virtq_config *config)
{
    CHECK(queue.in_flight_count <= config->size);
    CHECK(queue.packed.slots_in_flight <= config->size);
    CHECK(queue.in_flight_count <= queue.packed.slots_in_flight);
    CHECK(queue.packed.next_avail < config->size && queue.packed.next_used < config->size);
}

static void do_pop(const struct virtq_config *config, unsigned capacity)
{
    if (held_count == MAX_HELD)
        return;
    bool was_broken = virtq_is_broken(&queue);
    struct virtq_request *request = &held[held_count].request;
    memset(request, 0, sizeof(*request));
    request->segments = held[held_count].segments;
    request->segment_capacity = capacity;
    uint16_t slot = queue.packed.next_avail;
    bool wrap = queue.packed.avail_wrap_counter;
    concurrent.count = 0;
    concurrent.next = 0;
    enum virtq_pop_result result = virtq_pop(&queue, request);
    if (result == VIRTQ_POP_OK) {
        CHECK(!was_broken && queue.enabled);
        check_against_reference(config, slot, wrap, request);
        held[held_count].stale = false;
        held_count++;
    } else if (result == VIRTQ_POP_BROKEN) {
        CHECK(virtq_is_broken(&queue) && virtq_broken_reason(&queue)[0] != '\0');
    } else {
        CHECK(result == VIRTQ_POP_EMPTY && !was_broken);
    }
}

static void do_push(unsigned index, uint32_t written)
{
    if (!held_count)
        return;
    index %= held_count;
    struct virtq_request *request = &held[index].request;
    /* The device writes into the writable segments (which a hostile layout may overlap with the ring). */
    uint64_t remaining = written < request->writable_bytes ? written : request->writable_bytes;
    for (uint32_t i = request->readable_count; i < request->readable_count + request->writable_count && remaining;
         i++) {
        size_t chunk = request->segments[i].iov_len < remaining ? request->segments[i].iov_len : remaining;
        memset(request->segments[i].iov_base, 0xA5, chunk);
        remaining -= chunk;
    }
    uint16_t used_slot = queue.packed.next_used;
    bool broken = virtq_is_broken(&queue);
    struct vring_packed_desc before;
    CHECK(read_descriptor(queue.config.desc_gpa + (uint64_t)used_slot * 16, &before));
    uint32_t in_flight_before = queue.in_flight_count;
    int result = virtq_push(&queue, request, written);
    if (held[index].stale) {
        /* From an earlier generation: refused, and the new ring is untouched. */
        struct vring_packed_desc after;
        CHECK(result == -1);
        CHECK(read_descriptor(queue.config.desc_gpa + (uint64_t)used_slot * 16, &after));
        CHECK(memcmp(&before, &after, sizeof(before)) == 0);
        CHECK(queue.in_flight_count == in_flight_before && queue.packed.next_used == used_slot);
    } else if (broken) {
        CHECK(result == -1);
    } else {
        CHECK(result == 0);
        struct vring_packed_desc used;
        CHECK(read_descriptor(queue.config.desc_gpa + (uint64_t)used_slot * 16, &used));
        CHECK(used.id == request->id);
        CHECK(used.len == (written < request->writable_bytes ? written : request->writable_bytes));
        /* The same request again is not in flight any more. */
        CHECK(virtq_push(&queue, request, written) == -1);
    }
    held[index] = held[held_count - 1];
    held[index].request.segments = held[index].segments;
    held_count--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_BYTES)
        return 0;
    setup_memory();
    unsigned op_count = data[10];
    size_t ops_bytes = (size_t)op_count * OP_BYTES;
    if (size < HEADER_BYTES + ops_bytes)
        return 0;
    const uint8_t *ops = data + HEADER_BYTES;
    const uint8_t *image = ops + ops_bytes;
    size_t image_size = size - HEADER_BYTES - ops_bytes;

    uint8_t *low = gpa_to_hva(&memory, 0, LOW_RAM_SIZE);
    uint8_t *high = gpa_to_hva(&memory, HIGH_RAM_GPA, HIGH_RAM_SIZE);
    size_t low_bytes = image_size < LOW_RAM_SIZE ? image_size : LOW_RAM_SIZE;
    memcpy(low, image, low_bytes);
    memset(low + low_bytes, 0, LOW_RAM_SIZE - low_bytes);
    memcpy(high, low, HIGH_RAM_SIZE);

    uint8_t flags = data[2];
    struct virtq_config config = {
        .layout = VIRTQ_LAYOUT_PACKED,
        .size = (uint16_t)(1 + (data[0] | data[1] << 8) % VIRTQ_MAX_SIZE),
        .event_idx = flags & 1,
        .indirect = flags & 2,
        .desc_gpa = area_gpa((uint16_t)(data[3] | data[4] << 8), flags >> 2),
        .driver_gpa = area_gpa((uint16_t)(data[5] | data[6] << 8), flags >> 4),
        .device_gpa = area_gpa((uint16_t)(data[7] | data[8] << 8), flags >> 6),
    };
    unsigned capacity = 1 + data[9] % MAX_SEGMENTS;
    concurrent.active = data[9] & 0x80;
    concurrent.bytes = image;
    concurrent.length = image_size;
    concurrent.position = 0;
    packed_ring_descriptor_copied_hook = concurrent.active ? concurrent_guest_rewrite : NULL;
    held_count = 0;
    if (virtq_enable(&queue, &memory, &config) < 0) {
        CHECK(virtq_is_broken(&queue) && virtq_broken_reason(&queue)[0] != '\0');
        CHECK(virtq_pop(&queue, &held[0].request) == VIRTQ_POP_BROKEN);
        return 0;
    }
    CHECK(config.desc_gpa % 16 == 0 && config.driver_gpa % 4 == 0 && config.device_gpa % 4 == 0);

    /* No operations: drain the ring as far as it goes. */
    unsigned steps = op_count ? op_count : 2 * VIRTQ_MAX_SIZE;
    for (unsigned step = 0; step < steps; step++) {
        const uint8_t *op = op_count ? ops + (size_t)step * OP_BYTES : (const uint8_t[]){ step & 1 ? 2 : 0, 0, 0, 0 };
        switch (op[0] % 8) {
        case 0:
        case 1:
            do_pop(&config, capacity);
            break;
        case 2:
            do_push(op[1], op[0] & 0x80 ? UINT32_MAX : (uint32_t)(op[2] | op[3] << 8));
            break;
        case 3:
            (void)virtq_should_notify(&queue);
            break;
        case 4:
            virtq_disable_kicks(&queue);
            break;
        case 5:
            (void)virtq_enable_kicks(&queue);
            break;
        case 6:
            low[(op[1] | op[2] << 8) % LOW_RAM_SIZE] = op[3];
            break;
        case 7:
            if (op[1] & 1) {
                for (unsigned i = 0; i < held_count; i++)
                    held[i].stale = true;
                CHECK(virtq_enable(&queue, &memory, &config) == 0);
                CHECK(!virtq_is_broken(&queue) && queue.in_flight_count == 0);
            }
            break;
        }
        if (virtq_is_broken(&queue))
            CHECK(virtq_pop(&queue, &held[0].request) == VIRTQ_POP_BROKEN);
        check_queue_bounds(&config);
    }
    /* Return everything still held. */
    while (held_count)
        do_push(0, 0);
    if (!virtq_is_broken(&queue))
        CHECK(queue.in_flight_count == 0 && queue.packed.slots_in_flight == 0);
    return 0;
}
