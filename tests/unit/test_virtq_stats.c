/*
 * Per-virtqueue counters (virtio/virtq_stats.h): the histogram's buckets and
 * percentiles, and what virtq_pop / virtq_push count on a real split ring.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "unit/split_ring_fixture.h"
#include "virtio/virtq_stats.h"
#include "virtio/virtqueue.h"

static void test_buckets_cover_every_latency_once(void **state)
{
    (void)state;
    /* Each bucket's upper bound lies in that bucket and the next value in the next bucket. */
    for (unsigned bucket = 0; bucket + 1 < VIRTQ_LATENCY_BUCKETS; bucket++) {
        uint64_t upper = virtq_stats_bucket_upper_ns(bucket);
        assert_int_equal(virtq_stats_bucket(upper), bucket);
        assert_int_equal(virtq_stats_bucket(upper + 1), bucket + 1);
    }
    assert_int_equal(virtq_stats_bucket(0), 0);
    assert_int_equal(virtq_stats_bucket(UINT64_MAX), VIRTQ_LATENCY_BUCKETS - 1);
    assert_int_equal(virtq_stats_bucket(1ull << 36), VIRTQ_LATENCY_BUCKETS - 1);
    assert_int_equal(virtq_stats_bucket((1ull << 36) - 1), VIRTQ_LATENCY_BUCKETS - 2);
}

static void test_bucket_width_is_at_most_a_quarter(void **state)
{
    (void)state;
    for (unsigned bucket = 5; bucket + 1 < VIRTQ_LATENCY_BUCKETS; bucket++) {
        uint64_t lower = virtq_stats_bucket_upper_ns(bucket - 1) + 1;
        uint64_t upper = virtq_stats_bucket_upper_ns(bucket);
        assert_true((upper - lower + 1) * 4 <= lower);
    }
}

static void test_percentiles_of_known_samples(void **state)
{
    (void)state;
    struct virtq_stats stats;
    memset(&stats, 0, sizeof(stats));
    /* 98 requests of 10 us, one of 1 ms and one of 50 ms. */
    for (unsigned i = 0; i < 98; i++) {
        virtq_stats_count_completion(&stats, 4096);
        virtq_stats_count_latency(&stats, 10000);
    }
    virtq_stats_count_completion(&stats, 4096);
    virtq_stats_count_latency(&stats, 1000000);
    virtq_stats_count_completion(&stats, 4096);
    virtq_stats_count_latency(&stats, 50000000);
    struct virtq_stats_snapshot snapshot;
    virtq_stats_snapshot(&stats, &snapshot);
    assert_int_equal(snapshot.requests, 100);
    assert_int_equal(snapshot.bytes, 409600);
    assert_int_equal(snapshot.latency_count, 100);
    assert_int_equal(snapshot.latency_max_ns, 50000000);
    assert_int_equal(snapshot.latency_sum_ns, 98u * 10000 + 1000000 + 50000000);
    /* p50 in 10 us's bucket (within a quarter above), p99 the 99th sample: 1 ms's bucket. */
    assert_true(snapshot.latency_p50_ns >= 10000 && snapshot.latency_p50_ns <= 12500);
    assert_true(snapshot.latency_p99_ns >= 1000000 && snapshot.latency_p99_ns <= 1250000);
}

static void test_percentile_is_capped_by_the_max(void **state)
{
    (void)state;
    struct virtq_stats stats;
    memset(&stats, 0, sizeof(stats));
    virtq_stats_count_completion(&stats, 1);
    virtq_stats_count_latency(&stats, 1000);
    struct virtq_stats_snapshot snapshot;
    virtq_stats_snapshot(&stats, &snapshot);
    assert_int_equal(snapshot.latency_p50_ns, 1000);
    assert_int_equal(snapshot.latency_p99_ns, 1000);
    uint64_t empty[VIRTQ_LATENCY_BUCKETS] = {0};
    assert_int_equal(virtq_stats_percentile(empty, 0, 500, 0), 0);
}

/* A chain of 16 readable and 100 writable bytes at `head`. */
static void offer_request(struct fixture *f, uint16_t head)
{
    ring_write_descriptor(&f->writer, head, BUFFER_GPA + head * 0x200u, 16, VRING_DESC_F_NEXT, (uint16_t)(head + 1));
    ring_write_descriptor(&f->writer, (uint16_t)(head + 1), BUFFER_GPA + head * 0x200u + 0x100, 100,
                          VRING_DESC_F_WRITE, 0);
    ring_offer(&f->writer, head);
}

static void test_pop_and_push_count_requests_bytes_depth_latency(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    offer_request(f, 0);
    offer_request(f, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    struct virtq_request first = f->request;
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    struct virtq_stats_snapshot snapshot;
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.in_flight, 2);
    assert_int_equal(snapshot.requests, 0);

    struct timespec pause = {.tv_nsec = 2000000};
    nanosleep(&pause, NULL);
    /* 40 written: 16 + 40 bytes; a claim past the writable bytes counts as the 100 the ring clamps it to. */
    assert_int_equal(virtq_push(&f->queue, &first, 40), 0);
    assert_int_equal(virtq_push(&f->queue, &f->request, 1000), 0);
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.in_flight, 0);
    assert_int_equal(snapshot.requests, 2);
    assert_int_equal(snapshot.bytes, 16 + 40 + 16 + 100);
    /* The first request was timed; the second, popped with no empty ring between, was not (sampled). */
    assert_int_equal(snapshot.latency_count, 1);
    assert_true(snapshot.latency_max_ns >= 2000000);
    /* A refused push (already returned) counts nothing. */
    assert_int_equal(virtq_push(&f->queue, &first, 40), -1);
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.requests, 2);
}

/* Timing is sampled while the ring has work; the first request after an empty ring is always timed. */
static void test_busy_queue_times_one_request_in_the_period(void **state)
{
    struct fixture *f = *state;
    enum { REQUESTS = 30 };
    fixture_enable(f, 64, false, false);
    struct virtq_request popped[REQUESTS];
    for (unsigned i = 0; i < REQUESTS; i++)
        offer_request(f, (uint16_t)(2 * i));
    unsigned timed = 0;
    for (unsigned i = 0; i < REQUESTS; i++) {
        assert_int_equal(pop(f), VIRTQ_POP_OK);
        popped[i] = f->request;
        timed += popped[i].popped_ns != 0;
        /* Timed: the first (the ring was never found empty) and then one in the period. */
        assert_int_equal(popped[i].popped_ns != 0, i % VIRTQ_STATS_TIMING_PERIOD == 0);
    }
    for (unsigned i = 0; i < REQUESTS; i++)
        assert_int_equal(virtq_push(&f->queue, &popped[i], 1), 0);
    struct virtq_stats_snapshot snapshot;
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.requests, REQUESTS);
    assert_int_equal(snapshot.latency_count, timed);
    /* The device finds the ring empty: the next request is timed, though the period is not over. */
    assert_int_equal(pop(f), VIRTQ_POP_EMPTY);
    offer_request(f, 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_true(f->request.popped_ns != 0);
}

static void test_totals_survive_a_reset_depth_does_not(void **state)
{
    struct fixture *f = *state;
    fixture_enable(f, 8, false, false);
    offer_request(f, 0);
    offer_request(f, 2);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(&f->queue, &f->request, 1), 0);
    assert_int_equal(pop(f), VIRTQ_POP_OK);
    virtq_reset(&f->queue);
    struct virtq_stats_snapshot snapshot;
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.requests, 1);
    assert_int_equal(snapshot.in_flight, 0);
    /* The request popped before the reset is refused and not counted. */
    assert_int_equal(virtq_push(&f->queue, &f->request, 1), -1);
    virtq_stats_snapshot(virtq_stats_of(&f->queue), &snapshot);
    assert_int_equal(snapshot.requests, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_cover_every_latency_once),
        cmocka_unit_test(test_bucket_width_is_at_most_a_quarter),
        cmocka_unit_test(test_percentiles_of_known_samples),
        cmocka_unit_test(test_percentile_is_capped_by_the_max),
        cmocka_unit_test_setup_teardown(test_pop_and_push_count_requests_bytes_depth_latency, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_busy_queue_times_one_request_in_the_period, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_totals_survive_a_reset_depth_does_not, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
