/*
 * Single-threaded round trips through the harness driver and kestrel's
 * device-side virtqueue: both layouts, direct and indirect chains, EVENT_IDX
 * on and off, notification suppression in both directions, and many laps of
 * the ring (split index wrap at 65536, packed wrap-counter flips).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness/echo_pattern.h"
#include "harness/harness_queue.h"

enum { REGION_SIZE = 4 << 20 };

static struct harness_queue *create_queue(enum virtq_layout layout, uint16_t size, bool event_idx)
{
    struct virtq_driver_options options = {
        .layout = layout,
        .size = size,
        .event_idx = event_idx,
        .indirect = true,
    };
    struct harness_queue *queue = harness_queue_create(&options, HARNESS_DEVICE_ECHO, REGION_SIZE);
    assert_non_null(queue);
    return queue;
}

static uint64_t buffer_in(struct harness_queue *queue, unsigned region, uint32_t len)
{
    uint64_t gpa = guest_allocator_alloc_in_region(&queue->allocator, region, len, 1);
    assert_int_not_equal(gpa, GUEST_ALLOCATION_FAILED);
    return gpa;
}

/* A request whose buffers straddle the hole: readable 10 B (low) + 300 B (high), writable 17 B (high) + 4 KiB (low). */
struct sample_request {
    struct virtq_driver_buffer readable[2];
    struct virtq_driver_buffer writable[2];
    struct virtq_driver_request request;
};

static void sample_request_init(struct harness_queue *queue, struct sample_request *sample, bool indirect,
                                uint8_t seed)
{
    sample->readable[0] = (struct virtq_driver_buffer){buffer_in(queue, 0, 10), 10};
    sample->readable[1] = (struct virtq_driver_buffer){buffer_in(queue, 1, 300), 300};
    sample->writable[0] = (struct virtq_driver_buffer){buffer_in(queue, 1, 17), 17};
    sample->writable[1] = (struct virtq_driver_buffer){buffer_in(queue, 0, 4096), 4096};
    assert_true(sample->readable[0].gpa < GUEST_MMIO_HOLE_START && sample->readable[1].gpa >= GUEST_HIGH_RAM_START);
    sample->request = (struct virtq_driver_request){
        .readable = sample->readable,
        .readable_count = 2,
        .writable = sample->writable,
        .writable_count = 2,
        .indirect = indirect,
    };
    struct iovec segments[2];
    harness_buffers_to_iovec(&queue->memory, sample->readable, 2, segments);
    echo_pattern_fill(segments, 2, seed);
    harness_buffers_to_iovec(&queue->memory, sample->writable, 2, segments);
    memset(segments[0].iov_base, 0xee, segments[0].iov_len);
    memset(segments[1].iov_base, 0xee, segments[1].iov_len);
}

/* Checks every writable byte, spelled out rather than through echo_pattern_check. */
static void assert_reply(struct harness_queue *queue, const struct sample_request *sample, uint8_t seed)
{
    uint8_t reply_seed = echo_reply_seed(true, seed, 310);
    uint64_t position = 0;
    for (unsigned s = 0; s < 2; s++) {
        const uint8_t *bytes = gpa_to_hva(&queue->memory, sample->writable[s].gpa, sample->writable[s].len);
        for (uint32_t i = 0; i < sample->writable[s].len; i++, position++)
            assert_int_equal(bytes[i], echo_pattern_byte(reply_seed, position));
    }
    assert_int_equal(position, 4113);
    /* The readable buffers are the device's to read only. */
    struct iovec segments[2];
    harness_buffers_to_iovec(&queue->memory, sample->readable, 2, segments);
    assert_true(echo_pattern_check(segments, 2, seed));
}

static void round_trip(enum virtq_layout layout, bool event_idx, bool indirect)
{
    struct harness_queue *queue = create_queue(layout, 8, event_idx);
    struct sample_request sample;
    for (unsigned trip = 0; trip < 3; trip++) {
        uint8_t seed = (uint8_t)(0x42 + trip);
        sample_request_init(queue, &sample, indirect, seed);
        assert_int_equal(virtq_driver_add(&queue->driver, &sample.request, 1000 + trip), 0);
        assert_int_equal(queue->driver.free_count, indirect ? 7 : 4);
        /* The device has not suppressed kicks, so the first publish must kick. */
        assert_true(virtq_driver_kick(&queue->driver));
        assert_int_equal(harness_device_process(&queue->device, 100), 1);
        assert_true(harness_device_notify(&queue->device));
        uint64_t token = 0;
        uint32_t written = 0;
        assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 1);
        assert_int_equal(token, 1000 + trip);
        assert_int_equal(written, 4113);
        assert_reply(queue, &sample, seed);
        assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 0);
        assert_int_equal(queue->driver.free_count, 8);
    }
    assert_int_equal(queue->device.stats.readable_mismatches, 0);
    assert_int_equal(queue->device.stats.requests, 3);
    assert_null(queue->device.failure);
    harness_queue_destroy(queue);
}

static void test_split_direct(void **state)
{
    (void)state;
    round_trip(VIRTQ_LAYOUT_SPLIT, false, false);
    round_trip(VIRTQ_LAYOUT_SPLIT, true, false);
}

static void test_split_indirect(void **state)
{
    (void)state;
    round_trip(VIRTQ_LAYOUT_SPLIT, false, true);
    round_trip(VIRTQ_LAYOUT_SPLIT, true, true);
}

static void test_packed_direct(void **state)
{
    (void)state;
    round_trip(VIRTQ_LAYOUT_PACKED, false, false);
    round_trip(VIRTQ_LAYOUT_PACKED, true, false);
}

static void test_packed_indirect(void **state)
{
    (void)state;
    round_trip(VIRTQ_LAYOUT_PACKED, false, true);
    round_trip(VIRTQ_LAYOUT_PACKED, true, true);
}

/* One writable byte: the smallest request, used where only the notification logic matters. */
static void add_status_request(struct harness_queue *queue, uint64_t gpa, uint64_t token)
{
    struct virtq_driver_buffer status = {gpa, 1};
    struct virtq_driver_request request = {.writable = &status, .writable_count = 1};
    assert_int_equal(virtq_driver_add(&queue->driver, &request, token), 0);
}

static void reap_all(struct harness_queue *queue, unsigned expected)
{
    uint64_t token;
    uint32_t written;
    for (unsigned i = 0; i < expected; i++) {
        assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 1);
        assert_int_equal(written, 1);
    }
    assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 0);
}

static void kick_suppression(enum virtq_layout layout, bool event_idx)
{
    struct harness_queue *queue = create_queue(layout, 16, event_idx);
    uint64_t status = buffer_in(queue, 0, 1);

    /* A polling device does not want kicks. */
    virtq_disable_kicks(&queue->device.queue);
    add_status_request(queue, status, 1);
    assert_false(virtq_driver_kick(&queue->driver));
    add_status_request(queue, status, 2);
    assert_false(virtq_driver_kick(&queue->driver));
    /* Re-enabling finds the requests that arrived meanwhile. */
    assert_true(virtq_enable_kicks(&queue->device.queue));
    virtq_disable_kicks(&queue->device.queue);
    assert_int_equal(harness_device_process(&queue->device, 100), 2);
    assert_false(virtq_enable_kicks(&queue->device.queue));
    reap_all(queue, 2);

    /* A sleeping device wants exactly one kick per publish. */
    add_status_request(queue, status, 3);
    add_status_request(queue, status, 4);
    assert_true(virtq_driver_kick(&queue->driver));
    assert_int_equal(queue->driver.stats.kicks, 1);
    /* Publishing nothing new is never a reason to kick. */
    assert_false(virtq_driver_kick(&queue->driver));
    assert_int_equal(harness_device_process(&queue->device, 100), 2);
    reap_all(queue, 2);
    harness_queue_destroy(queue);
}

static void test_kick_suppression(void **state)
{
    (void)state;
    kick_suppression(VIRTQ_LAYOUT_SPLIT, false);
    kick_suppression(VIRTQ_LAYOUT_SPLIT, true);
    kick_suppression(VIRTQ_LAYOUT_PACKED, false);
    kick_suppression(VIRTQ_LAYOUT_PACKED, true);
}

static void interrupt_suppression(enum virtq_layout layout, bool event_idx)
{
    struct harness_queue *queue = create_queue(layout, 16, event_idx);
    uint64_t status = buffer_in(queue, 0, 1);
    /* Move the used index off 0: with EVENT_IDX, Linux's "disabled" event index is 0. */
    for (uint64_t token = 0; token < 3; token++) {
        add_status_request(queue, status, token);
        virtq_driver_kick(&queue->driver);
        assert_int_equal(harness_device_process(&queue->device, 100), 1);
        assert_true(harness_device_notify(&queue->device));
        reap_all(queue, 1);
    }
    virtq_driver_disable_callbacks(&queue->driver);
    add_status_request(queue, status, 10);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 100), 1);
    assert_false(harness_device_notify(&queue->device));
    /* Enabling with a completion pending says so instead of letting the driver sleep. */
    assert_false(virtq_driver_enable_callbacks(&queue->driver));
    reap_all(queue, 1);
    assert_true(virtq_driver_enable_callbacks(&queue->driver));
    add_status_request(queue, status, 11);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 100), 1);
    assert_true(harness_device_notify(&queue->device));
    reap_all(queue, 1);
    harness_queue_destroy(queue);
}

static void test_interrupt_suppression(void **state)
{
    (void)state;
    interrupt_suppression(VIRTQ_LAYOUT_SPLIT, false);
    interrupt_suppression(VIRTQ_LAYOUT_SPLIT, true);
    interrupt_suppression(VIRTQ_LAYOUT_PACKED, false);
    interrupt_suppression(VIRTQ_LAYOUT_PACKED, true);
}

/* virtqueue_enable_cb_delayed: with 8 outstanding, the interrupt comes with the 7th completion (event = last + 6). */
static void delayed_callbacks(enum virtq_layout layout)
{
    struct harness_queue *queue = create_queue(layout, 16, true);
    uint64_t status = buffer_in(queue, 0, 1);
    /* A device may interrupt unconditionally the first time (vhost does); get that out of the way. */
    add_status_request(queue, status, 100);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 1), 1);
    harness_device_notify(&queue->device);
    reap_all(queue, 1);
    for (uint64_t token = 0; token < 8; token++)
        add_status_request(queue, status, token);
    virtq_driver_kick(&queue->driver);
    virtq_driver_disable_callbacks(&queue->driver);
    assert_true(virtq_driver_enable_callbacks_delayed(&queue->driver));
    for (unsigned completed = 1; completed <= 8; completed++) {
        assert_int_equal(harness_device_process(&queue->device, 1), 1);
        bool notified = harness_device_notify(&queue->device);
        if (completed == 7)
            assert_true(notified);
        else
            assert_false(notified);
    }
    reap_all(queue, 8);
    harness_queue_destroy(queue);
}

static void test_delayed_callbacks(void **state)
{
    (void)state;
    delayed_callbacks(VIRTQ_LAYOUT_SPLIT);
    delayed_callbacks(VIRTQ_LAYOUT_PACKED);
}

/*
 * A device may push a lot between two virtq_should_notify calls: here more
 * than two laps of a packed ring, during which the driver reaped with
 * interrupts off and then asked for one at its next completion. Packed
 * positions only repeat every 2 * size slots, so the device must not judge
 * "was the driver's event passed?" from positions alone once it lapped.
 */
static void test_packed_event_after_two_laps(void **state)
{
    (void)state;
    struct harness_queue *queue = create_queue(VIRTQ_LAYOUT_PACKED, 4, true);
    uint64_t status = buffer_in(queue, 0, 1);
    add_status_request(queue, status, 0);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 1), 1);
    harness_device_notify(&queue->device);
    reap_all(queue, 1);

    virtq_driver_disable_callbacks(&queue->driver);
    for (uint64_t token = 1; token <= 7; token++) {
        add_status_request(queue, status, token);
        virtq_driver_kick(&queue->driver);
        assert_int_equal(harness_device_process(&queue->device, 1), 1);
        reap_all(queue, 1);
    }
    /* Nothing pending: the driver will sleep until the device uses its next buffer. */
    assert_true(virtq_driver_enable_callbacks(&queue->driver));
    add_status_request(queue, status, 8);
    add_status_request(queue, status, 9);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 2), 2);
    assert_true(harness_device_notify(&queue->device));
    reap_all(queue, 2);
    harness_queue_destroy(queue);
}

static void no_space(enum virtq_layout layout)
{
    struct harness_queue *queue = create_queue(layout, layout == VIRTQ_LAYOUT_SPLIT ? 4 : 5, false);
    uint16_t size = queue->driver.size;
    struct virtq_driver_buffer buffers[6];
    for (unsigned i = 0; i < 6; i++)
        buffers[i] = (struct virtq_driver_buffer){buffer_in(queue, i % 2, 8), 8};
    struct virtq_driver_request three = {.readable = buffers, .readable_count = 1, .writable = buffers + 1,
                                         .writable_count = 2};
    struct virtq_driver_request four_indirect = {.readable = buffers, .readable_count = 2, .writable = buffers + 2,
                                                 .writable_count = 2, .indirect = true};
    /* A chain longer than the queue is forbidden even through an indirect table (virtio 1.2, 2.7.4.2). */
    struct virtq_driver_request six_indirect = {.readable = buffers, .readable_count = 3, .writable = buffers + 3,
                                                .writable_count = 3, .indirect = true};
    struct virtq_driver_request empty = {0};
    assert_int_equal(virtq_driver_add(&queue->driver, &three, 1), 0);
    assert_int_equal(virtq_driver_add(&queue->driver, &three, 2), -ENOSPC);
    assert_int_equal(virtq_driver_add(&queue->driver, &six_indirect, 3), -EINVAL);
    assert_int_equal(virtq_driver_add(&queue->driver, &four_indirect, 3), 0);
    assert_int_equal(virtq_driver_add(&queue->driver, &empty, 4), -EINVAL);
    assert_int_equal(queue->driver.free_count, size - 4);
    virtq_driver_kick(&queue->driver);
    assert_int_equal(harness_device_process(&queue->device, 100), 2);
    uint64_t token;
    uint32_t written;
    assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 1);
    assert_int_equal(token, 1);
    assert_int_equal(written, 16);
    assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 1);
    assert_int_equal(token, 3);
    assert_int_equal(written, 16);
    assert_int_equal(queue->driver.free_count, size);
    harness_queue_destroy(queue);
}

static void test_no_space(void **state)
{
    (void)state;
    no_space(VIRTQ_LAYOUT_SPLIT);
    no_space(VIRTQ_LAYOUT_PACKED);
}

/*
 * Many laps with chains of 1..3 descriptors (direct) or indirect tables, in
 * batches, so chains wrap mid-way around a packed ring of odd size and the
 * split indices wrap at 65536. Returns how many requests were completed.
 */
static void many_laps(enum virtq_layout layout, uint16_t size, bool event_idx, unsigned requests)
{
    struct harness_queue *queue = create_queue(layout, size, event_idx);
    struct virtq_driver_buffer readable[3], writable[3];
    for (unsigned i = 0; i < 3; i++) {
        readable[i] = (struct virtq_driver_buffer){buffer_in(queue, i % 2, 64), 0};
        writable[i] = (struct virtq_driver_buffer){buffer_in(queue, (i + 1) % 2, 64), 0};
    }
    uint64_t next_token = 0, expected_token = 0;
    unsigned wrap_flips = 0;
    bool last_wrap = layout == VIRTQ_LAYOUT_PACKED ? queue->driver.packed.used_wrap_counter : false;
    uint32_t shape = 1;
    while (expected_token < requests) {
        /* One request at a time keeps the data check simple; batches come from the kick pattern. */
        shape = shape * 1103515245u + 12345u;
        unsigned segments = 1 + (shape >> 16) % 3;
        unsigned readable_count = (shape >> 20) % (segments + 1);
        bool indirect = ((shape >> 24) & 7) == 0;
        uint32_t len = 1 + (shape >> 8) % 64;
        for (unsigned i = 0; i < 3; i++)
            readable[i].len = writable[i].len = len;
        struct virtq_driver_request request = {.readable = readable, .readable_count = readable_count,
                                               .writable = writable, .writable_count = segments - readable_count,
                                               .indirect = indirect};
        struct iovec host[3];
        uint8_t seed = (uint8_t)next_token;
        harness_buffers_to_iovec(&queue->memory, readable, readable_count, host);
        echo_pattern_fill(host, readable_count, seed);
        assert_int_equal(virtq_driver_add(&queue->driver, &request, next_token), 0);
        next_token++;
        virtq_driver_kick(&queue->driver);
        assert_int_equal(harness_device_process(&queue->device, 100), 1);
        harness_device_notify(&queue->device);
        uint64_t token;
        uint32_t written;
        assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), 1);
        assert_int_equal(token, expected_token);
        assert_int_equal(written, (segments - readable_count) * len);
        harness_buffers_to_iovec(&queue->memory, writable, segments - readable_count, host);
        assert_true(echo_pattern_check(host, segments - readable_count,
                                       echo_reply_seed(readable_count > 0, seed, (uint64_t)readable_count * len)));
        expected_token++;
        if (layout == VIRTQ_LAYOUT_PACKED && queue->driver.packed.used_wrap_counter != last_wrap) {
            last_wrap = queue->driver.packed.used_wrap_counter;
            wrap_flips++;
        }
    }
    assert_int_equal(queue->driver.free_count, size);
    assert_int_equal(queue->device.stats.readable_mismatches, 0);
    if (layout == VIRTQ_LAYOUT_SPLIT) {
        /* The 16-bit indices went past 65535 and wrapped. */
        assert_true(requests > 65536);
        assert_int_equal(queue->driver.split.avail_idx_shadow, (uint16_t)requests);
    } else {
        assert_true(wrap_flips > 1000);
    }
    harness_queue_destroy(queue);
}

static void test_split_index_wrap(void **state)
{
    (void)state;
    many_laps(VIRTQ_LAYOUT_SPLIT, 4, false, 70000);
    many_laps(VIRTQ_LAYOUT_SPLIT, 8, true, 70000);
}

static void test_packed_wrap_counter(void **state)
{
    (void)state;
    many_laps(VIRTQ_LAYOUT_PACKED, 5, false, 20000);
    many_laps(VIRTQ_LAYOUT_PACKED, 7, true, 20000);
}

/* A used id that was never made available is the device's bug; the driver must refuse it, not free garbage. */
static void test_driver_rejects_bogus_used_id(void **state)
{
    (void)state;
    struct harness_queue *queue = create_queue(VIRTQ_LAYOUT_SPLIT, 8, false);
    queue->driver.split.used->ring[0].id = 5;
    queue->driver.split.used->ring[0].len = 1;
    __atomic_store_n(&queue->driver.split.used->idx, 1, __ATOMIC_RELEASE);
    uint64_t token;
    uint32_t written;
    assert_int_equal(virtq_driver_get_used(&queue->driver, &token, &written), -1);
    assert_true(queue->driver.broken);
    harness_queue_destroy(queue);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_direct),
        cmocka_unit_test(test_split_indirect),
        cmocka_unit_test(test_packed_direct),
        cmocka_unit_test(test_packed_indirect),
        cmocka_unit_test(test_kick_suppression),
        cmocka_unit_test(test_interrupt_suppression),
        cmocka_unit_test(test_delayed_callbacks),
        cmocka_unit_test(test_packed_event_after_two_laps),
        cmocka_unit_test(test_no_space),
        cmocka_unit_test(test_split_index_wrap),
        cmocka_unit_test(test_packed_wrap_counter),
        cmocka_unit_test(test_driver_rejects_bogus_used_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
