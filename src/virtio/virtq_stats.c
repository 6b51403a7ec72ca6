#include "virtio/virtq_stats.h"

#include <time.h>

#include "util/relaxed_counter.h"

unsigned virtq_stats_bucket(uint64_t latency_ns)
{
    if (latency_ns < VIRTQ_LATENCY_SUB_BUCKETS)
        return (unsigned)latency_ns;
    unsigned exponent = 63u - (unsigned)__builtin_clzll(latency_ns);
    if (exponent >= VIRTQ_LATENCY_MAX_EXPONENT)
        return VIRTQ_LATENCY_BUCKETS - 1;
    /* The two bits below the leading one pick the quarter of [2^e, 2^(e+1)). */
    unsigned quarter = (unsigned)(latency_ns >> (exponent - 2)) & 3u;
    return VIRTQ_LATENCY_SUB_BUCKETS * (exponent - 1) + quarter;
}

uint64_t virtq_stats_bucket_upper_ns(unsigned bucket)
{
    if (bucket < VIRTQ_LATENCY_SUB_BUCKETS)
        return bucket;
    if (bucket >= VIRTQ_LATENCY_BUCKETS - 1)
        return UINT64_MAX;
    unsigned exponent = bucket / VIRTQ_LATENCY_SUB_BUCKETS + 1;
    uint64_t quarter = bucket % VIRTQ_LATENCY_SUB_BUCKETS;
    return ((4u + quarter + 1u) << (exponent - 2)) - 1u;
}

#ifdef KESTREL_NO_QUEUE_STATS
void virtq_stats_count_completion(struct virtq_stats *stats, uint64_t bytes)
{
    (void)stats, (void)bytes;
}
void virtq_stats_count_latency(struct virtq_stats *stats, uint64_t latency_ns)
{
    (void)stats, (void)latency_ns;
}
void virtq_stats_set_in_flight(struct virtq_stats *stats, uint64_t in_flight)
{
    (void)stats, (void)in_flight;
}
void virtq_stats_count_kicks(struct virtq_stats *stats, uint64_t kicks)
{
    (void)stats, (void)kicks;
}
void virtq_stats_count_interrupt(struct virtq_stats *stats)
{
    (void)stats;
}
uint64_t virtq_stats_now_ns(void)
{
    return 0;
}
#else
void virtq_stats_count_completion(struct virtq_stats *stats, uint64_t bytes)
{
    relaxed_counter_add(&stats->requests, 1);
    relaxed_counter_add(&stats->bytes, bytes);
}

void virtq_stats_count_latency(struct virtq_stats *stats, uint64_t latency_ns)
{
    relaxed_counter_add(&stats->latency_sum_ns, latency_ns);
    relaxed_counter_add(&stats->latency_buckets[virtq_stats_bucket(latency_ns)], 1);
    if (latency_ns > relaxed_counter_read(&stats->latency_max_ns))
        relaxed_counter_set(&stats->latency_max_ns, latency_ns);
}

void virtq_stats_set_in_flight(struct virtq_stats *stats, uint64_t in_flight)
{
    relaxed_counter_set(&stats->in_flight, in_flight);
}

void virtq_stats_count_kicks(struct virtq_stats *stats, uint64_t kicks)
{
    relaxed_counter_add(&stats->kicks, kicks);
}

void virtq_stats_count_interrupt(struct virtq_stats *stats)
{
    relaxed_counter_add(&stats->interrupts, 1);
}

uint64_t virtq_stats_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
#endif

uint64_t virtq_stats_percentile(const uint64_t *buckets, uint64_t count, unsigned permille, uint64_t max_ns)
{
    if (count == 0)
        return 0;
    /* The rank of the sample, 1-based, rounded up: p99 of 100 samples is the 99th. */
    uint64_t rank = count / 1000u * permille + ((count % 1000u) * permille + 999u) / 1000u;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < VIRTQ_LATENCY_BUCKETS; i++) {
        seen += buckets[i];
        if (seen >= rank) {
            uint64_t upper = virtq_stats_bucket_upper_ns(i);
            return upper < max_ns ? upper : max_ns;
        }
    }
    return max_ns;
}

void virtq_stats_snapshot(const struct virtq_stats *stats, struct virtq_stats_snapshot *out)
{
    uint64_t count = 0;
    for (unsigned i = 0; i < VIRTQ_LATENCY_BUCKETS; i++) {
        out->latency_buckets[i] = relaxed_counter_read(&stats->latency_buckets[i]);
        count += out->latency_buckets[i];
    }
    out->kicks = relaxed_counter_read(&stats->kicks);
    out->interrupts = relaxed_counter_read(&stats->interrupts);
    out->requests = relaxed_counter_read(&stats->requests);
    out->bytes = relaxed_counter_read(&stats->bytes);
    out->in_flight = relaxed_counter_read(&stats->in_flight);
    out->latency_count = count;
    out->latency_sum_ns = relaxed_counter_read(&stats->latency_sum_ns);
    out->latency_max_ns = relaxed_counter_read(&stats->latency_max_ns);
    out->latency_p50_ns = virtq_stats_percentile(out->latency_buckets, count, 500, out->latency_max_ns);
    out->latency_p99_ns = virtq_stats_percentile(out->latency_buckets, count, 990, out->latency_max_ns);
}
