/*
 * libFuzzer target: the device side of a split virtqueue against an
 * arbitrary guest.
 *
 * Input: a 64-byte header (queue configuration and a script of device
 * operations), then the initial contents of guest RAM. RAM is two 64 KiB
 * regions at 0 and 0x20000 with a hole between them, each between PROT_NONE
 * guard pages. With the "concurrent guest" feature bit the split ring's read
 * hook rewrites every ring entry right after the device copied it, with bytes
 * from the input, as another vCPU could.
 *
 * With the "wrapping descriptors" feature bit the three rings are placed at
 * valid, aligned spots chosen by the low bits of their header words (so the
 * queue always enables), and the descriptors whose table index (mod 8) is
 * selected by the top byte of the descriptor word get an address just below
 * 2^64: addr + len then wraps past zero, often back into RAM, which the
 * overflow-safe range checks must refuse.
 *
 * Invariants checked: every segment lies inside one RAM region; readable
 * segments come before writable ones and the byte counts add up; a popped id
 * is below the queue size and not already in flight; at most `size` requests
 * in flight; a broken queue stays broken; pushes publish exactly one used
 * element with a length clamped to the writable bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/iovec.h"
#include "unit/split_ring_writer.h"
#include "virtio/split_ring.h"
#include "virtio/virtqueue.h"

enum {
    HEADER_SIZE = 64,
    OP_COUNT = 48,
    MAX_SEGMENTS = 32,
    REGION_SIZE = 0x10000,
    LOW_GPA = 0,
    HIGH_GPA = 0x20000,
    MAX_POPS_PER_OP = 64,
};

enum {
    FEATURE_EVENT_IDX = 1 << 0,
    FEATURE_INDIRECT = 1 << 1,
    FEATURE_CONCURRENT_GUEST = 1 << 2,
    FEATURE_WRAPPING_DESCRIPTORS = 1 << 7,
};

#define FUZZ_CHECK(condition)                                                                                  \
    do {                                                                                                       \
        if (!(condition)) {                                                                                    \
            fprintf(stderr, "fuzz_virtq_split: invariant failed at line %d: %s\n", __LINE__, #condition);       \
            abort();                                                                                           \
        }                                                                                                      \
    } while (0)

static struct guest_memory memory;
/* Static so its log budget survives across inputs, as it survives resets. */
static struct virtq queue;

/* In-flight requests, each with its own segment array. */
static struct iovec segment_store[VIRTQ_MAX_SIZE][MAX_SEGMENTS];
static struct virtq_request in_flight[VIRTQ_MAX_SIZE];
static unsigned in_flight_count;
static uint32_t segment_capacity;
/* Successful pushes since enable: the used index the device must have published. */
static uint16_t pushes;
/* FUZZ_VIRTQ_SPLIT_VERBOSE=1 traces each operation (to check what seeds reach). */
static bool verbose;

/* Bytes the read hook writes over ring entries. */
static const uint8_t *rewrite_source;
static size_t rewrite_source_len;
static size_t rewrite_position;

static void rewrite_entry(void *context, void *guest_entry, size_t length)
{
    (void)context;
    uint8_t *entry = guest_entry;
    for (size_t i = 0; i < length; i++) {
        entry[i] = rewrite_source[rewrite_position % rewrite_source_len];
        rewrite_position++;
    }
}

static uint32_t read_u32(const uint8_t *bytes)
{
    uint32_t value;
    memcpy(&value, bytes, sizeof(value));
    return value;
}

/* Anywhere: low RAM, hole, high RAM, beyond. */
static uint64_t fuzz_gpa(uint32_t raw)
{
    return raw % 0x40000;
}

/*
 * Valid ring placements for the wrapping-descriptor mode, for every queue size
 * up to 1024: the descriptor table (16 KiB) in [0, 0x8000), the available ring
 * (2 KiB + 6) in [0x8000, 0x9806), the used ring (8 KiB + 6) in high RAM.
 */
static void place_rings_validly(struct virtq_config *config, const uint8_t *header)
{
    config->desc_gpa = (read_u32(header + 4) & 0x3ff) * 16ull;
    config->driver_gpa = 0x8000 + (read_u32(header + 8) & 0x7ff) * 2ull;
    config->device_gpa = HIGH_GPA + (read_u32(header + 12) & 0x7ff) * 4ull;
}

/* Points the selected descriptors just below 2^64, keeping their length, flags and next index. */
static void wrap_descriptor_addresses(const struct virtq_config *config, uint8_t selected_indices)
{
    struct vring_desc *table = gpa_to_hva(&memory, config->desc_gpa, 16ull * config->size);
    FUZZ_CHECK(table != NULL);
    for (uint32_t i = 0; i < config->size; i++) {
        if (selected_indices & (1u << (i % 8)))
            table[i].addr = UINT64_MAX - (table[i].addr & 0xffff);
    }
}

static bool inside_one_region(const void *pointer, size_t len)
{
    uintptr_t start = (uintptr_t)pointer;
    for (unsigned i = 0; i < memory.region_count; i++) {
        uintptr_t base = (uintptr_t)memory.regions[i].host;
        if (start >= base && start - base <= memory.regions[i].size && len <= memory.regions[i].size - (start - base))
            return true;
    }
    return false;
}

static void check_request(const struct virtq_request *request, uint16_t size)
{
    FUZZ_CHECK(request->id < size);
    FUZZ_CHECK(request->readable_count + request->writable_count <= request->segment_capacity);
    uint64_t readable = 0, writable = 0;
    for (uint32_t i = 0; i < request->readable_count + request->writable_count; i++) {
        const struct iovec *segment = &request->segments[i];
        FUZZ_CHECK(segment->iov_len > 0);
        FUZZ_CHECK(inside_one_region(segment->iov_base, segment->iov_len));
        if (i < request->readable_count)
            readable += segment->iov_len;
        else
            writable += segment->iov_len;
    }
    FUZZ_CHECK(readable == request->readable_bytes);
    FUZZ_CHECK(writable == request->writable_bytes);
    FUZZ_CHECK(readable + writable <= UINT32_MAX);
    for (unsigned i = 0; i < in_flight_count; i++)
        FUZZ_CHECK(in_flight[i].id != request->id);
}

static void pop_some(unsigned limit, uint16_t size)
{
    for (unsigned n = 0; n < limit; n++) {
        if (in_flight_count >= VIRTQ_MAX_SIZE)
            return;
        struct virtq_request *request = &in_flight[in_flight_count];
        *request = (struct virtq_request){
            .segments = segment_store[in_flight_count],
            .segment_capacity = segment_capacity,
        };
        enum virtq_pop_result result = virtq_pop(&queue, request);
        if (result == VIRTQ_POP_BROKEN) {
            if (verbose)
                fprintf(stderr, "pop: broken: %s\n", virtq_broken_reason(&queue));
            FUZZ_CHECK(virtq_is_broken(&queue));
            FUZZ_CHECK(virtq_broken_reason(&queue)[0] != '\0');
            FUZZ_CHECK(virtq_pop(&queue, request) == VIRTQ_POP_BROKEN);
            return;
        }
        if (verbose)
            fprintf(stderr, "pop: %s%s\n", result == VIRTQ_POP_OK ? "ok" : result == VIRTQ_POP_EMPTY ? "empty" : "broken: ",
                    result == VIRTQ_POP_BROKEN ? virtq_broken_reason(&queue) : "");
        FUZZ_CHECK(!virtq_is_broken(&queue));
        if (result == VIRTQ_POP_EMPTY)
            return;
        FUZZ_CHECK(result == VIRTQ_POP_OK);
        check_request(request, size);
        /* Touch every byte the device was given: ASan and the guard pages catch a stray pointer. */
        uint8_t scratch[64];
        iovec_read_request(request, 0, scratch, sizeof(scratch));
        iovec_read_request(request, request->readable_bytes ? request->readable_bytes - 1 : 0, scratch, 1);
        in_flight_count++;
        FUZZ_CHECK(in_flight_count <= size);
        FUZZ_CHECK(queue.in_flight_count == in_flight_count);
    }
}

static void push_one(uint8_t op, const struct virtq_config *config)
{
    if (in_flight_count == 0) {
        struct virtq_request bogus = { .id = (uint16_t)(op * 7) };
        FUZZ_CHECK(virtq_push(&queue, &bogus, 0) == -1);
        return;
    }
    unsigned index = (op >> 3) % in_flight_count;
    struct virtq_request request = in_flight[index];
    uint32_t written = (op & 4) ? (uint32_t)request.writable_bytes + (op >> 3)
                                : (uint32_t)(request.writable_bytes * (op >> 3) / 31);
    uint8_t fill[32];
    memset(fill, op, sizeof(fill));
    iovec_write_request(&request, 0, fill, sizeof(fill));
    if (request.writable_bytes > 1)
        iovec_write_request(&request, request.writable_bytes - 1, fill, 1);

    /* Enabled, so the used ring is in RAM. The device never reads used->idx back; it publishes its own count. */
    const struct vring_used *used = gpa_to_hva(&memory, config->device_gpa, 4);
    FUZZ_CHECK(used != NULL);
    int status = virtq_push(&queue, &request, written);
    if (virtq_is_broken(&queue)) {
        FUZZ_CHECK(status == -1);
        return;
    }
    FUZZ_CHECK(status == 0);
    if (verbose)
        fprintf(stderr, "push: id %u written %u\n", request.id, written);
    FUZZ_CHECK(queue.in_flight_count == in_flight_count - 1);
    const struct vring_used_elem *element = &used->ring[pushes & (config->size - 1)];
    pushes++;
    FUZZ_CHECK(used->idx == pushes);
    FUZZ_CHECK(element->id == request.id);
    FUZZ_CHECK(element->len == (written < request.writable_bytes ? written : request.writable_bytes));
    /* The same id again is not in flight any more. */
    FUZZ_CHECK(virtq_push(&queue, &request, 0) == -1);

    in_flight[index] = in_flight[in_flight_count - 1];
    /* Keep each request's segments with it. */
    memcpy(segment_store[index], segment_store[in_flight_count - 1], sizeof(segment_store[index]));
    in_flight[index].segments = segment_store[index];
    in_flight_count--;
}

/* The driver publishes more entries: bump avail->idx in guest memory. */
static void driver_publish(uint8_t amount, const struct virtq_config *config)
{
    struct vring_avail *avail = gpa_to_hva(&memory, config->driver_gpa, 4);
    if (avail)
        __atomic_store_n(&avail->idx, (uint16_t)(avail->idx + amount), __ATOMIC_RELEASE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    verbose = getenv("FUZZ_VIRTQ_SPLIT_VERBOSE") != NULL;
    guarded_memory_add(&memory, LOW_GPA, REGION_SIZE);
    guarded_memory_add(&memory, HIGH_GPA, REGION_SIZE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_SIZE)
        return 0;
    const uint8_t *header = data;
    const uint8_t *contents = data + HEADER_SIZE;
    size_t contents_len = size - HEADER_SIZE;

    for (unsigned i = 0; i < memory.region_count; i++) {
        size_t take = contents_len < memory.regions[i].size ? contents_len : memory.regions[i].size;
        memcpy(memory.regions[i].host, contents, take);
        memset(memory.regions[i].host + take, 0, memory.regions[i].size - take);
        contents += take;
        contents_len -= take;
    }

    uint8_t features = header[1];
    struct virtq_config config = {
        .layout = VIRTQ_LAYOUT_SPLIT,
        .size = (uint16_t)(1u << (header[0] % 11)),
        .event_idx = features & FEATURE_EVENT_IDX,
        .indirect = features & FEATURE_INDIRECT,
        .desc_gpa = fuzz_gpa(read_u32(header + 4)),
        .driver_gpa = fuzz_gpa(read_u32(header + 8)),
        .device_gpa = fuzz_gpa(read_u32(header + 12)),
    };
    if (features & FEATURE_WRAPPING_DESCRIPTORS) {
        place_rings_validly(&config, header);
        wrap_descriptor_addresses(&config, header[7]);
    }
    segment_capacity = 1 + header[2] % MAX_SEGMENTS;
    unsigned op_count = header[3] % (OP_COUNT + 1);
    const uint8_t *ops = header + 16;

    in_flight_count = 0;
    pushes = 0;
    if (virtq_enable(&queue, &memory, &config) < 0) {
        /* Rings placed validly always enable. */
        FUZZ_CHECK(!(features & FEATURE_WRAPPING_DESCRIPTORS));
        if (verbose)
            fprintf(stderr, "enable failed: %s\n", virtq_broken_reason(&queue));
        FUZZ_CHECK(virtq_is_broken(&queue));
        FUZZ_CHECK(virtq_pop(&queue, &in_flight[0]) == VIRTQ_POP_BROKEN);
        return 0;
    }

    if (features & FEATURE_CONCURRENT_GUEST) {
        rewrite_source = data;
        rewrite_source_len = size;
        rewrite_position = read_u32(header + 12);
        split_ring_read_hook = rewrite_entry;
    }

    for (unsigned i = 0; i < op_count; i++) {
        uint8_t op = ops[i];
        switch (op % 6) {
        case 0:
            pop_some(1 + (op >> 3) % MAX_POPS_PER_OP, config.size);
            break;
        case 1:
            push_one(op, &config);
            break;
        case 2:
            virtq_disable_kicks(&queue);
            break;
        case 3:
            virtq_enable_kicks(&queue);
            break;
        case 4:
            virtq_should_notify(&queue);
            break;
        case 5:
            driver_publish(op >> 3, &config);
            break;
        }
        FUZZ_CHECK(queue.in_flight_count <= config.size);
    }
    /* Drain: whatever happened, popping is bounded and a broken queue stays broken. */
    pop_some(config.size, config.size);
    while (in_flight_count > 0 && !virtq_is_broken(&queue))
        push_one(0, &config);
    virtq_should_notify(&queue);

    split_ring_read_hook = NULL;
    virtq_reset(&queue);
    return 0;
}
