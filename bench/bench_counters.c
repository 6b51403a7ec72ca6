/*
 * The two ways to count exits per device when several vCPU threads dispatch
 * to the same device (docs/stats.md): one shared counter per device with a
 * relaxed atomic add (a locked instruction; its cache line moves between the
 * CPUs that write it), or one counter per vCPU per device written with a
 * relaxed load and store (util/relaxed_counter.h; no locked instruction, no
 * sharing, but the reader sums vCPUs × devices). ns per count, with 1 and 2
 * writer threads on the same device.
 *
 * Usage: bench_counters [--quick]
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/relaxed_counter.h"

enum { MAX_THREADS = 2, ROUNDS = 5 };

static unsigned iterations = 20000000;
static alignas(64) uint64_t shared_counter;
static struct {
    alignas(64) uint64_t value;
} per_thread[MAX_THREADS];

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void *shared_main(void *opaque)
{
    (void)opaque;
    for (unsigned i = 0; i < iterations; i++)
        __atomic_fetch_add(&shared_counter, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void *own_main(void *opaque)
{
    uint64_t *counter = opaque;
    for (unsigned i = 0; i < iterations; i++)
        relaxed_counter_add(counter, 1);
    return NULL;
}

/* ns per count per thread, `threads` writing at once. */
static double run(unsigned threads, bool shared)
{
    pthread_t ids[MAX_THREADS];
    uint64_t start = now_ns();
    for (unsigned t = 0; t < threads; t++)
        pthread_create(&ids[t], NULL, shared ? shared_main : own_main, shared ? NULL : &per_thread[t].value);
    for (unsigned t = 0; t < threads; t++)
        pthread_join(ids[t], NULL);
    return (double)(now_ns() - start) / iterations;
}

static double median(double *values)
{
    for (unsigned i = 1; i < ROUNDS; i++)
        for (unsigned j = i; j > 0 && values[j] < values[j - 1]; j--) {
            double swap = values[j];
            values[j] = values[j - 1];
            values[j - 1] = swap;
        }
    return values[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--quick") == 0)
        iterations /= 10;
    printf("| writers | shared counter, relaxed atomic add (ns/count) | per-vCPU counter, relaxed load+store (ns/count) |\n"
           "|---:|---:|---:|\n");
    for (unsigned threads = 1; threads <= MAX_THREADS; threads++) {
        double shared[ROUNDS], own[ROUNDS];
        for (unsigned round = 0; round < ROUNDS; round++) {
            shared[round] = run(threads, true);
            own[round] = run(threads, false);
        }
        printf("| %u | %.2f | %.2f |\n", threads, median(shared), median(own));
    }
    return 0;
}
