#ifndef KESTREL_VIRTIO_VIRTQ_STATS_H
#define KESTREL_VIRTIO_VIRTQ_STATS_H

/*
 * Per-virtqueue counters for the live statistics (docs/stats.md). Each queue
 * is served by one thread at a time, and only that thread writes its
 * counters (relaxed stores, util/relaxed_counter.h): no lock, no locked
 * instruction, no allocation. Any thread may take a snapshot while the queue
 * runs. The counters are monotonic totals and survive queue resets, except
 * `in_flight`, a gauge.
 *
 * Request latency (pop to push) goes into a fixed log-scale histogram: four
 * buckets per power of two of nanoseconds (a bucket's width is at most a
 * quarter of its lower bound), up to 2^36 ns (about 69 s); longer requests
 * land in the last bucket. Timing is sampled: the first request popped after
 * the device found the ring empty is always timed (so a slow queue loses no
 * sample), then one in VIRTQ_STATS_TIMING_PERIOD (two clock reads per request,
 * 60-190 ns each in this VM, would cost percents of a fast device path). The
 * maximum is that of the timed requests.
 *
 * Built with -DKESTREL_NO_QUEUE_STATS the hooks compile to nothing (for
 * measuring their cost); the snapshot then reads zeros.
 */

#include <stdint.h>

enum {
    VIRTQ_LATENCY_SUB_BUCKETS = 4,
    VIRTQ_LATENCY_MAX_EXPONENT = 36,
    /* below 4 ns one bucket per value, then 4 per power of two, then one for 2^36 ns and above */
    VIRTQ_LATENCY_BUCKETS = VIRTQ_LATENCY_SUB_BUCKETS * (VIRTQ_LATENCY_MAX_EXPONENT - 1) + 1,
    /* A busy queue times one request in this many (the first after an empty ring always). */
    VIRTQ_STATS_TIMING_PERIOD = 8,
};

struct virtq_stats {
    uint64_t kicks;          /* guest notifications the serving thread received (eventfd counts) */
    uint64_t interrupts;     /* used-buffer interrupts the device raised for this queue */
    uint64_t requests;       /* requests completed (pushed back to the driver) */
    uint64_t bytes;          /* readable bytes consumed plus bytes written, of completed requests */
    uint64_t in_flight;      /* gauge: popped and not yet pushed */
    uint64_t latency_sum_ns; /* pop to push, summed over the timed requests */
    uint64_t latency_max_ns; /* of the timed requests */
    uint64_t latency_buckets[VIRTQ_LATENCY_BUCKETS];
};

/* A consistent-enough copy for rendering: each field read once, whole. */
struct virtq_stats_snapshot {
    uint64_t kicks, interrupts, requests, bytes, in_flight;
    uint64_t latency_count; /* requests timed */
    uint64_t latency_sum_ns, latency_max_ns;
    uint64_t latency_p50_ns, latency_p99_ns;
    uint64_t latency_buckets[VIRTQ_LATENCY_BUCKETS];
};

/* The bucket a latency falls in, and the largest latency a bucket holds. */
unsigned virtq_stats_bucket(uint64_t latency_ns);
uint64_t virtq_stats_bucket_upper_ns(unsigned bucket);

/* Writer side (the thread serving the queue). */
void virtq_stats_count_completion(struct virtq_stats *stats, uint64_t bytes);
void virtq_stats_count_latency(struct virtq_stats *stats, uint64_t latency_ns);
void virtq_stats_set_in_flight(struct virtq_stats *stats, uint64_t in_flight);
void virtq_stats_count_kicks(struct virtq_stats *stats, uint64_t kicks);
void virtq_stats_count_interrupt(struct virtq_stats *stats);

/*
 * The latency at `permille`/1000 of `count` samples in `buckets`: the upper
 * bound of the bucket holding that sample, capped by `max_ns`; 0 without samples.
 */
uint64_t virtq_stats_percentile(const uint64_t *buckets, uint64_t count, unsigned permille, uint64_t max_ns);

/* Reader side, from any thread. Percentiles are the upper bound of the bucket holding them, capped by the max. */
void virtq_stats_snapshot(const struct virtq_stats *stats, struct virtq_stats_snapshot *out);

/* CLOCK_MONOTONIC in ns, for the pop and push timestamps (0 when stats are compiled out). */
uint64_t virtq_stats_now_ns(void);

#endif
