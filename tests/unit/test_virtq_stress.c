/*
 * KESTREL_TSAN_TEST: also built with ThreadSanitizer (build/tests-tsan/).
 *
 * Two threads, one queue: the harness driver on the test thread, kestrel's
 * device side on the harness device thread, talking only through guest
 * memory and the kick/call eventfds, as a guest and an I/O thread do.
 * Random chain shapes (1..8 segments, any readable/writable mix, sometimes
 * indirect, random lengths and offsets, buffers on both sides of the memory
 * hole), random batch sizes, never more requests in flight than fit. Every
 * request must complete exactly once, with the right length and bytes; a lost
 * kick or interrupt shows up as a wait that times out.
 *
 * KESTREL_STRESS_SCALE=tsan runs 1/20 of the requests (TSan is ~10x slower);
 * KESTREL_STRESS_REQUESTS=N overrides the count per configuration.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/echo_pattern.h"
#include "harness/harness_queue.h"

enum {
    MAX_SEGMENTS = 8,
    SEGMENT_AREA = 4096,
    /* Native count per configuration: four configurations stay well under a minute under ASan on 2 shared cores. */
    DEFAULT_REQUESTS = 300000,
    TSAN_DIVISOR = 20,
    WAIT_TIMEOUT_MS = 5000,
};

struct stress_slot {
    struct virtq_driver_buffer readable[MAX_SEGMENTS];
    struct virtq_driver_buffer writable[MAX_SEGMENTS];
    uint64_t area_gpa[MAX_SEGMENTS]; /* this slot's SEGMENT_AREA bytes per segment position */
    unsigned readable_count;
    unsigned writable_count;
    uint64_t readable_bytes;
    uint64_t writable_bytes;
    uint8_t seed;
};

struct stress_run {
    struct harness_queue *queue;
    struct stress_slot *slots;
    uint16_t *free_slots;
    unsigned free_slot_count;
    uint8_t *completed_bitmap;
    uint64_t requests;
    uint64_t rng;
};

static uint64_t next_random(struct stress_run *run)
{
    /* xorshift64*: deterministic per configuration, so a failure reproduces. */
    run->rng ^= run->rng >> 12;
    run->rng ^= run->rng << 25;
    run->rng ^= run->rng >> 27;
    return run->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t requests_per_configuration(void)
{
    const char *explicit_count = getenv("KESTREL_STRESS_REQUESTS");
    if (explicit_count && *explicit_count)
        return strtoull(explicit_count, NULL, 10);
    const char *scale = getenv("KESTREL_STRESS_SCALE");
    if (scale && strcmp(scale, "tsan") == 0)
        return DEFAULT_REQUESTS / TSAN_DIVISOR;
    return DEFAULT_REQUESTS;
}

static uint32_t random_length(struct stress_run *run)
{
    uint64_t r = next_random(run);
    /* Mostly small (the ring, not memcpy, is under test), sometimes up to a page. */
    if ((r & 7) == 0)
        return 1 + (uint32_t)((r >> 8) % SEGMENT_AREA);
    return 1 + (uint32_t)((r >> 8) % 64);
}

static void build_request(struct stress_run *run, struct stress_slot *slot, struct virtq_driver_request *request,
                          uint64_t request_number)
{
    uint64_t r = next_random(run);
    unsigned segments = 1 + (unsigned)(r % MAX_SEGMENTS);
    unsigned readable_count = (unsigned)((r >> 8) % (segments + 1));
    slot->readable_count = readable_count;
    slot->writable_count = segments - readable_count;
    slot->readable_bytes = slot->writable_bytes = 0;
    slot->seed = (uint8_t)(request_number * 131 + 7);
    for (unsigned i = 0; i < segments; i++) {
        uint32_t len = random_length(run);
        uint64_t offset = next_random(run) % (SEGMENT_AREA - len + 1);
        struct virtq_driver_buffer buffer = {.gpa = slot->area_gpa[i] + offset, .len = len};
        if (i < readable_count) {
            slot->readable[i] = buffer;
            slot->readable_bytes += len;
        } else {
            slot->writable[i - readable_count] = buffer;
            slot->writable_bytes += len;
        }
    }
    struct iovec host[MAX_SEGMENTS];
    harness_buffers_to_iovec(&run->queue->memory, slot->readable, slot->readable_count, host);
    echo_pattern_fill(host, slot->readable_count, slot->seed);
    /* Stale bytes from an earlier request must not pass for the reply. */
    harness_buffers_to_iovec(&run->queue->memory, slot->writable, slot->writable_count, host);
    for (unsigned i = 0; i < slot->writable_count; i++)
        memset(host[i].iov_base, 0xee, host[i].iov_len);
    *request = (struct virtq_driver_request){
        .readable = slot->readable,
        .readable_count = slot->readable_count,
        .writable = slot->writable,
        .writable_count = slot->writable_count,
        .indirect = (next_random(run) & 3) == 0,
    };
}

static void complete_request(struct stress_run *run, uint64_t token, uint32_t written)
{
    uint64_t request_number = token >> 16;
    unsigned slot_index = (unsigned)(token & 0xffff);
    if (request_number >= run->requests || slot_index >= run->queue->driver.size)
        fail_msg("completion with an unknown token 0x%llx", (unsigned long long)token);
    uint8_t bit = (uint8_t)(1u << (request_number % 8));
    if (run->completed_bitmap[request_number / 8] & bit)
        fail_msg("request %llu completed twice", (unsigned long long)request_number);
    run->completed_bitmap[request_number / 8] |= bit;

    struct stress_slot *slot = &run->slots[slot_index];
    if (written != slot->writable_bytes)
        fail_msg("request %llu: %u bytes written, expected %llu", (unsigned long long)request_number, written,
                 (unsigned long long)slot->writable_bytes);
    struct iovec host[MAX_SEGMENTS];
    harness_buffers_to_iovec(&run->queue->memory, slot->writable, slot->writable_count, host);
    uint8_t reply_seed = echo_reply_seed(slot->readable_count > 0, slot->seed, slot->readable_bytes);
    if (!echo_pattern_check(host, slot->writable_count, reply_seed))
        fail_msg("request %llu: reply bytes differ from the expected pattern", (unsigned long long)request_number);
    harness_buffers_to_iovec(&run->queue->memory, slot->readable, slot->readable_count, host);
    if (!echo_pattern_check(host, slot->readable_count, slot->seed))
        fail_msg("request %llu: the device wrote into a readable buffer", (unsigned long long)request_number);
    run->free_slots[run->free_slot_count++] = (uint16_t)slot_index;
}

/* After a timeout: both sides' view of the ring, to tell a lost kick from a lost interrupt. */
static void dump_state(struct stress_run *run)
{
    struct virtq_driver *driver = &run->queue->driver;
    harness_device_stop(&run->queue->device);
    const struct virtq *device = &run->queue->device.queue;
    if (driver->config.layout == VIRTQ_LAYOUT_PACKED) {
        const struct virtq_driver_packed *packed = &driver->packed;
        print_message("# driver: next_avail %u wrap %d, last_used %u wrap %d, free %u, event shadow %u, "
                      "driver_event off_wrap 0x%x flags %u, device_event off_wrap 0x%x flags %u, "
                      "flags at last_used 0x%x\n",
                      packed->next_avail, packed->avail_wrap_counter, driver->last_used, packed->used_wrap_counter,
                      driver->free_count, packed->event_flags_shadow, packed->driver_event->off_wrap,
                      packed->driver_event->flags, packed->device_event->off_wrap, packed->device_event->flags,
                      packed->descriptors[driver->last_used].flags);
        print_message("# device: next_avail %u wrap %d, next_used %u wrap %d, signalled %u wrap %d valid %d\n",
                      device->packed.next_avail, device->packed.avail_wrap_counter, device->packed.next_used,
                      device->packed.used_wrap_counter, device->packed.signalled_used,
                      device->packed.signalled_used_wrap, device->packed.signalled_used_valid);
    } else {
        const struct virtq_driver_split *split = &driver->split;
        print_message("# driver: avail idx %u, last_used %u, used idx %u, avail flags %u, used_event %u, "
                      "used flags %u, avail_event %u\n",
                      split->avail->idx, driver->last_used, split->used->idx, split->avail->flags,
                      split->avail->ring[driver->size], split->used->flags,
                      *(uint16_t *)&split->used->ring[driver->size]);
    }
    print_message("# driver interrupts seen %llu, pending now %d\n", (unsigned long long)driver->stats.interrupts_seen, virtq_driver_wait_interrupt(driver, 0));
    print_message("# device: %llu requests, %llu kicks received, %llu interrupts sent, broken %d\n",
                  (unsigned long long)run->queue->device.stats.requests,
                  (unsigned long long)run->queue->device.stats.kicks_received,
                  (unsigned long long)run->queue->device.stats.interrupts_sent, virtq_is_broken(device));
}

static void stress(enum virtq_layout layout, uint16_t size, bool event_idx, uint64_t seed)
{
    struct virtq_driver_options options = {.layout = layout, .size = size, .event_idx = event_idx, .indirect = true};
    struct stress_run run = {.requests = requests_per_configuration(), .rng = seed};
    /* Each slot owns MAX_SEGMENTS page-sized areas, alternating between the regions below and above the hole. */
    uint64_t region_size = ((uint64_t)size * MAX_SEGMENTS / 2 + 64) * SEGMENT_AREA + (1 << 20);
    run.queue = harness_queue_create(&options, HARNESS_DEVICE_ECHO, region_size);
    assert_non_null(run.queue);
    run.slots = calloc(size, sizeof(*run.slots));
    run.free_slots = calloc(size, sizeof(*run.free_slots));
    run.completed_bitmap = calloc(run.requests / 8 + 1, 1);
    assert_true(run.slots && run.free_slots && run.completed_bitmap);
    for (unsigned s = 0; s < size; s++) {
        for (unsigned i = 0; i < MAX_SEGMENTS; i++) {
            run.slots[s].area_gpa[i] =
                guest_allocator_alloc_in_region(&run.queue->allocator, i % 2, SEGMENT_AREA, SEGMENT_AREA);
            assert_int_not_equal(run.slots[s].area_gpa[i], GUEST_ALLOCATION_FAILED);
        }
        run.free_slots[run.free_slot_count++] = (uint16_t)(size - 1 - s);
    }

    struct virtq_driver *driver = &run.queue->driver;
    assert_int_equal(harness_device_start(&run.queue->device), 0);
    /* Like a NAPI poll loop: no interrupts while the driver is busy anyway. */
    virtq_driver_disable_callbacks(driver);
    uint64_t submitted = 0, completed = 0, waits = 0;
    while (completed < run.requests) {
        unsigned batch = 1 + (unsigned)(next_random(&run) % 16);
        unsigned added = 0;
        while (added < batch && submitted < run.requests && run.free_slot_count > 0) {
            uint16_t slot_index = run.free_slots[run.free_slot_count - 1];
            struct virtq_driver_request request;
            build_request(&run, &run.slots[slot_index], &request, submitted);
            int result = virtq_driver_add(driver, &request, submitted << 16 | slot_index);
            if (result == -ENOSPC)
                break;
            assert_int_equal(result, 0);
            run.free_slot_count--;
            submitted++;
            added++;
        }
        if (added)
            virtq_driver_kick(driver);

        unsigned reaped = 0;
        uint64_t token;
        uint32_t written;
        int result;
        while ((result = virtq_driver_get_used(driver, &token, &written)) == 1) {
            complete_request(&run, token, written);
            reaped++;
        }
        if (result < 0)
            fail_msg("driver: %s", driver->broken_reason);
        completed += reaped;
        if (reaped || added || completed == run.requests)
            continue;
        /* Nothing to add and nothing done: sleep until the device interrupts. */
        bool idle = (next_random(&run) & 1) ? virtq_driver_enable_callbacks(driver)
                                            : virtq_driver_enable_callbacks_delayed(driver);
        if (idle) {
            waits++;
            if (virtq_driver_wait_interrupt(driver, WAIT_TIMEOUT_MS) != 1) {
                dump_state(&run);
                fail_msg("no interrupt within %d ms with %llu requests in flight (lost notification?)",
                         WAIT_TIMEOUT_MS, (unsigned long long)(submitted - completed));
            }
        }
        virtq_driver_disable_callbacks(driver);
    }
    assert_int_equal(harness_device_stop(&run.queue->device), 0);

    for (uint64_t n = 0; n < run.requests; n++)
        if (!(run.completed_bitmap[n / 8] & (1u << (n % 8))))
            fail_msg("request %llu never completed", (unsigned long long)n);
    assert_int_equal(driver->free_count, size);
    const struct harness_device_stats *device = &run.queue->device.stats;
    assert_int_equal(device->requests, run.requests);
    assert_int_equal(device->readable_mismatches, 0);
    assert_false(virtq_is_broken(&run.queue->device.queue));
    print_message("# %s size %u event_idx %s: %llu requests, %llu kicks, %llu interrupts, %llu driver sleeps\n",
                  layout == VIRTQ_LAYOUT_SPLIT ? "split" : "packed", size, event_idx ? "on" : "off",
                  (unsigned long long)run.requests, (unsigned long long)driver->stats.kicks,
                  (unsigned long long)device->interrupts_sent, (unsigned long long)waits);
    free(run.slots);
    free(run.free_slots);
    free(run.completed_bitmap);
    harness_queue_destroy(run.queue);
}

static void test_split_event_idx(void **state)
{
    (void)state;
    stress(VIRTQ_LAYOUT_SPLIT, 128, true, 0x9e3779b97f4a7c15ull);
}

static void test_split_flags(void **state)
{
    (void)state;
    stress(VIRTQ_LAYOUT_SPLIT, 64, false, 0xd1b54a32d192ed03ull);
}

static void test_packed_event_idx(void **state)
{
    (void)state;
    /* Not a power of two: packed rings need not be, and the wrap then falls mid-chain at varying places. */
    stress(VIRTQ_LAYOUT_PACKED, 100, true, 0x8cb92ba72f3d8dd7ull);
}

static void test_packed_flags(void **state)
{
    (void)state;
    stress(VIRTQ_LAYOUT_PACKED, 64, false, 0xaef17502108ef2d9ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_event_idx),
        cmocka_unit_test(test_split_flags),
        cmocka_unit_test(test_packed_event_idx),
        cmocka_unit_test(test_packed_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
