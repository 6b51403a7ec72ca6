/*
 * libFuzzer target: a well-behaved driver (the harness driver) and kestrel's
 * device side, stepped in an order the input chooses, on one thread. Where
 * the other virtqueue fuzzers feed the device hostile rings, this one looks
 * for protocol bugs that only show over long, legal sequences: lost kicks,
 * lost interrupts, wrong ids or lengths after many laps and wraps.
 *
 * Input: byte 0 = bit 0 packed, bit 1 EVENT_IDX, bits 2-7 queue size
 * (split: 1 << (v % 8); packed: 1 + v % 32); then 2-byte operations
 * (opcode, argument):
 *   add a request (shape from the argument), kick decision, device round
 *   (pop/push up to N), device should_notify, device goes to sleep (enable
 *   kicks with the re-check), driver reaps, driver sleeps (enable callbacks
 *   with the re-check), driver disables callbacks.
 *
 * Oracles: a sleeping device (kicks enabled, re-check empty) must be kicked
 * by the next kick decision after new requests; a sleeping driver
 * (callbacks enabled, re-check empty) must be interrupted by the first
 * should_notify after the device used a buffer; every request completes
 * exactly once, with its token, the reply pattern and the right length; no
 * side ever reports the other broken. At the end everything is drained.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/echo_pattern.h"
#include "harness/harness_queue.h"

#define CHECK(condition)                                                                                              \
    do {                                                                                                              \
        if (!(condition)) {                                                                                           \
            fprintf(stderr, "fuzz_virtq_harness: check failed: %s (line %d)\n", #condition, __LINE__);           \
            __builtin_trap();                                                                                         \
        }                                                                                                             \
    } while (0)

enum { MAX_SEGMENTS = 4, SEGMENT_BYTES = 32, MAX_SLOTS = 128 };

struct slot {
    struct virtq_driver_buffer readable[MAX_SEGMENTS];
    struct virtq_driver_buffer writable[MAX_SEGMENTS];
    uint64_t area[MAX_SEGMENTS];
    unsigned readable_count, writable_count;
    uint64_t readable_bytes, writable_bytes;
    uint8_t seed;
    bool busy;
    uint16_t generation;
};

struct model {
    struct harness_queue *queue;
    struct slot slots[MAX_SLOTS];
    unsigned slot_count;
    bool device_sleeping;        /* kicks enabled and the re-check found nothing */
    bool driver_sleeping;        /* callbacks enabled and the re-check found nothing */
    bool used_while_driver_slept;
    bool added_since_kick;
    uint64_t in_flight;
};

static void add_request(struct model *model, uint8_t argument)
{
    struct virtq_driver *driver = &model->queue->driver;
    unsigned index = 0;
    while (index < model->slot_count && model->slots[index].busy)
        index++;
    if (index == model->slot_count)
        return;
    struct slot *slot = &model->slots[index];
    unsigned segments = 1 + argument % MAX_SEGMENTS;
    slot->readable_count = (argument >> 2) % (segments + 1);
    slot->writable_count = segments - slot->readable_count;
    slot->readable_bytes = slot->writable_bytes = 0;
    slot->seed = (uint8_t)(argument * 37 + slot->generation);
    for (unsigned i = 0; i < segments; i++) {
        uint32_t len = 1 + (uint32_t)((argument >> 4) + i * 5) % SEGMENT_BYTES;
        struct virtq_driver_buffer buffer = {.gpa = slot->area[i], .len = len};
        if (i < slot->readable_count) {
            slot->readable[i] = buffer;
            slot->readable_bytes += len;
        } else {
            slot->writable[i - slot->readable_count] = buffer;
            slot->writable_bytes += len;
        }
    }
    struct iovec host[MAX_SEGMENTS];
    harness_buffers_to_iovec(&model->queue->memory, slot->readable, slot->readable_count, host);
    echo_pattern_fill(host, slot->readable_count, slot->seed);
    struct virtq_driver_request request = {
        .readable = slot->readable,
        .readable_count = slot->readable_count,
        .writable = slot->writable,
        .writable_count = slot->writable_count,
        .indirect = (argument & 0x80) != 0,
    };
    int result = virtq_driver_add(driver, &request, (uint64_t)slot->generation << 16 | index);
    if (result != 0) {
        CHECK(result == -ENOSPC || segments > driver->size);
        return;
    }
    slot->busy = true;
    model->added_since_kick = true;
    model->in_flight++;
}

static void kick(struct model *model)
{
    bool kicked = virtq_driver_kick_prepare(&model->queue->driver);
    /* Lost kick: the device went to sleep asking for one, and new requests are out. */
    if (model->device_sleeping && model->added_since_kick)
        CHECK(kicked);
    model->added_since_kick = false;
    if (kicked && model->device_sleeping) {
        model->device_sleeping = false;
        virtq_disable_kicks(&model->queue->device.queue);
    }
}

static void device_round(struct model *model, uint8_t argument)
{
    if (model->device_sleeping)
        return;
    long served = harness_device_process(&model->queue->device, 1 + argument % 16);
    CHECK(served >= 0);
    if (served > 0 && model->driver_sleeping)
        model->used_while_driver_slept = true;
}

static void device_notify(struct model *model)
{
    bool notified = harness_device_notify(&model->queue->device);
    /* Lost interrupt: the driver sleeps asking for one, and a buffer was used since. */
    if (model->driver_sleeping && model->used_while_driver_slept)
        CHECK(notified);
    if (notified && model->driver_sleeping) {
        model->driver_sleeping = false;
        model->used_while_driver_slept = false;
        virtq_driver_disable_callbacks(&model->queue->driver);
    }
}

static void device_sleep(struct model *model)
{
    if (model->device_sleeping)
        return;
    if (virtq_enable_kicks(&model->queue->device.queue))
        virtq_disable_kicks(&model->queue->device.queue);
    else
        model->device_sleeping = true;
}

static void reap(struct model *model)
{
    struct virtq_driver *driver = &model->queue->driver;
    uint64_t token;
    uint32_t written;
    int result;
    while ((result = virtq_driver_get_used(driver, &token, &written)) == 1) {
        unsigned index = (unsigned)(token & 0xffff);
        CHECK(index < model->slot_count);
        struct slot *slot = &model->slots[index];
        CHECK(slot->busy && (uint16_t)(token >> 16) == slot->generation);
        CHECK(written == slot->writable_bytes);
        struct iovec host[MAX_SEGMENTS];
        harness_buffers_to_iovec(&model->queue->memory, slot->writable, slot->writable_count, host);
        CHECK(echo_pattern_check(host, slot->writable_count,
                                 echo_reply_seed(slot->readable_count > 0, slot->seed, slot->readable_bytes)));
        slot->busy = false;
        slot->generation++;
        model->in_flight--;
    }
    CHECK(result == 0);
}

static void driver_sleep(struct model *model)
{
    if (model->driver_sleeping)
        return;
    if (virtq_driver_enable_callbacks(&model->queue->driver)) {
        model->driver_sleeping = true;
        model->used_while_driver_slept = false;
    } else {
        virtq_driver_disable_callbacks(&model->queue->driver);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool packed = data[0] & 1;
    bool event_idx = data[0] & 2;
    unsigned selector = data[0] >> 2;
    struct virtq_driver_options options = {
        .layout = packed ? VIRTQ_LAYOUT_PACKED : VIRTQ_LAYOUT_SPLIT,
        .size = packed ? (uint16_t)(1 + selector % 32) : (uint16_t)(1u << (selector % 8)),
        .event_idx = event_idx,
        .indirect = true,
    };
    static struct model model;
    memset(&model, 0, sizeof(model));
    model.queue = harness_queue_create(&options, HARNESS_DEVICE_ECHO, 1 << 20);
    CHECK(model.queue);
    model.slot_count = options.size < MAX_SLOTS ? options.size : MAX_SLOTS;
    for (unsigned s = 0; s < model.slot_count; s++)
        for (unsigned i = 0; i < MAX_SEGMENTS; i++) {
            model.slots[s].area[i] =
                guest_allocator_alloc_in_region(&model.queue->allocator, i % 2, SEGMENT_BYTES, 16);
            CHECK(model.slots[s].area[i] != GUEST_ALLOCATION_FAILED);
        }
    /* A fresh device sleeps with kicks enabled; a fresh driver reaps by polling. */
    model.device_sleeping = true;
    virtq_driver_disable_callbacks(&model.queue->driver);

    for (size_t position = 1; position + 1 < size; position += 2) {
        uint8_t argument = data[position + 1];
        switch (data[position] % 8) {
        case 0: add_request(&model, argument); break;
        case 1: kick(&model); break;
        case 2: device_round(&model, argument); break;
        case 3: device_notify(&model); break;
        case 4: device_sleep(&model); break;
        case 5:
            if (!model.driver_sleeping)
                reap(&model);
            break;
        case 6: driver_sleep(&model); break;
        default:
            if (!model.driver_sleeping)
                virtq_driver_disable_callbacks(&model.queue->driver);
            break;
        }
        CHECK(!virtq_is_broken(&model.queue->device.queue));
        CHECK(!model.queue->driver.broken);
    }

    /* Drain: publish, wake the device, serve everything, reap everything. */
    kick(&model);
    if (model.device_sleeping) {
        model.device_sleeping = false;
        virtq_disable_kicks(&model.queue->device.queue);
    }
    while (harness_device_process(&model.queue->device, 64) > 0)
        ;
    device_notify(&model);
    model.driver_sleeping = false;
    reap(&model);
    CHECK(model.in_flight == 0);
    CHECK(model.queue->driver.free_count == options.size);
    CHECK(model.queue->device.stats.readable_mismatches == 0);
    harness_queue_destroy(model.queue);
    return 0;
}
