/*
 * Virtqueue micro-benchmarks (`make bench-virtq`), over the harness driver
 * and kestrel's device-side virtqueue, natively (no KVM).
 *
 * 1. Device cost, one thread: the driver fills the ring and publishes it
 *    (untimed), the device pops and pushes until the ring is empty (timed,
 *    including the final empty pop), the driver reaps (untimed). Shapes: one
 *    descriptor; a block-shaped chain (16-byte readable header, 4 KiB
 *    writable data, 1-byte writable status); the same three buffers as an
 *    indirect table. Median over several runs of >= 10^6 requests each.
 * 2. Two threads over eventfds: the driver submits in batches (one publish
 *    and one kick decision per batch) keeping at most a ring's worth in
 *    flight and sleeps on the call eventfd only when it can do nothing else;
 *    the device thread runs the harness device loop. Requests per second and
 *    notifications per request in each direction.
 * 3. Two threads, one request in flight: the round-trip time of a synchronous
 *    request through the kick and call eventfds.
 *
 * Prints markdown tables. Options: --quick (fewer requests, for a smoke run).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/harness_queue.h"

enum {
    QUEUE_SIZE = 256,
    REGION_SIZE = 8 << 20,
    RUNS = 5,
};

static uint64_t now_ns(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000ull + (uint64_t)time.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, unsigned count)
{
    qsort(values, count, sizeof(*values), compare_double);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

enum request_shape {
    SHAPE_ONE_DESCRIPTOR,
    SHAPE_BLOCK,
    SHAPE_BLOCK_INDIRECT,
};

static const char *const shape_names[] = {
    [SHAPE_ONE_DESCRIPTOR] = "1 descriptor",
    [SHAPE_BLOCK] = "3 descriptors (block-shaped)",
    [SHAPE_BLOCK_INDIRECT] = "3-entry indirect table",
};

struct request_buffers {
    struct virtq_driver_buffer header;
    struct virtq_driver_buffer writable[2]; /* data, status */
    struct virtq_driver_request request;
};

static void request_buffers_init(struct harness_queue *queue, enum request_shape shape,
                                 struct request_buffers *buffers)
{
    /* One set of buffers for every request: the device only resolves addresses, and data is not the subject. */
    buffers->header = (struct virtq_driver_buffer){guest_allocator_alloc_in_region(&queue->allocator, 0, 16, 16), 16};
    buffers->writable[0] =
        (struct virtq_driver_buffer){guest_allocator_alloc_in_region(&queue->allocator, 1, 4096, 4096), 4096};
    buffers->writable[1] = (struct virtq_driver_buffer){guest_allocator_alloc_in_region(&queue->allocator, 0, 1, 1), 1};
    if (shape == SHAPE_ONE_DESCRIPTOR)
        buffers->request = (struct virtq_driver_request){.writable = buffers->writable, .writable_count = 1};
    else
        buffers->request = (struct virtq_driver_request){
            .readable = &buffers->header,
            .readable_count = 1,
            .writable = buffers->writable,
            .writable_count = 2,
            .indirect = shape == SHAPE_BLOCK_INDIRECT,
        };
}

static struct harness_queue *create_queue(enum virtq_layout layout, bool event_idx)
{
    struct virtq_driver_options options = {
        .layout = layout,
        .size = QUEUE_SIZE,
        .event_idx = event_idx,
        .indirect = true,
    };
    struct harness_queue *queue = harness_queue_create(&options, HARNESS_DEVICE_NULL, REGION_SIZE);
    if (!queue) {
        fprintf(stderr, "bench_virtq: cannot create the queue\n");
        exit(1);
    }
    return queue;
}

static void reap_everything(struct harness_queue *queue)
{
    uint64_t token;
    uint32_t written;
    int result;
    while ((result = virtq_driver_get_used(&queue->driver, &token, &written)) == 1)
        ;
    if (result < 0) {
        fprintf(stderr, "bench_virtq: driver: %s\n", queue->driver.broken_reason);
        exit(1);
    }
}

/* Cost of the timing itself (two clock reads), subtracted from every timed round. */
static double clock_overhead_ns(void)
{
    double samples[101];
    for (unsigned i = 0; i < 101; i++) {
        uint64_t total = 0;
        for (unsigned j = 0; j < 1000; j++) {
            uint64_t a = now_ns();
            total += now_ns() - a;
        }
        samples[i] = (double)total / 1000;
    }
    return median(samples, 101);
}

/*
 * One run: ns per request of the device's pop + push, the median over the
 * run's rounds (one ring's worth each). The median of short rounds keeps a
 * round that lost the CPU to another process (the cores are shared) from
 * skewing the figure, as a run-long average would.
 */
static double device_cost_run(enum virtq_layout layout, enum request_shape shape, uint64_t requests,
                              double clock_overhead)
{
    struct harness_queue *queue = create_queue(layout, true);
    struct request_buffers buffers;
    request_buffers_init(queue, shape, &buffers);
    struct virtq *device = &queue->device.queue;
    struct iovec segments[8];
    struct virtq_request request = {.segments = segments, .segment_capacity = 8};
    uint64_t done = 0;
    size_t round_capacity = requests + 1, rounds = 0;
    double *round_ns = calloc(round_capacity, sizeof(*round_ns));
    if (!round_ns) {
        fprintf(stderr, "bench_virtq: out of memory\n");
        exit(1);
    }
    while (done < requests) {
        unsigned filled = 0;
        while (virtq_driver_add(&queue->driver, &buffers.request, filled) == 0)
            filled++;
        virtq_driver_kick_prepare(&queue->driver);

        uint64_t start = now_ns();
        unsigned served = 0;
        while (virtq_pop(device, &request) == VIRTQ_POP_OK) {
            virtq_push(device, &request, 0);
            served++;
        }
        uint64_t end = now_ns();

        if (served != filled || virtq_is_broken(device)) {
            fprintf(stderr, "bench_virtq: device served %u of %u (%s)\n", served, filled,
                    virtq_broken_reason(device));
            exit(1);
        }
        if (rounds < round_capacity)
            round_ns[rounds++] = ((double)(end - start) - clock_overhead) / served;
        done += served;
        reap_everything(queue);
    }
    double result = median(round_ns, (unsigned)rounds);
    free(round_ns);
    harness_queue_destroy(queue);
    return result;
}

static void bench_device_cost(uint64_t requests)
{
    double overhead = clock_overhead_ns();
    printf("### Device side, one thread: pop + push (ns per request; median of %d runs of %llu requests, each run\n"
           "### the median of its rounds of one ring's worth)\n\n",
           RUNS, (unsigned long long)requests);
    printf("| request | split | packed |\n| --- | ---: | ---: |\n");
    for (enum request_shape shape = SHAPE_ONE_DESCRIPTOR; shape <= SHAPE_BLOCK_INDIRECT; shape++) {
        double results[2];
        for (int layout = 0; layout < 2; layout++) {
            double runs[RUNS];
            for (unsigned run = 0; run < RUNS; run++)
                runs[run] = device_cost_run((enum virtq_layout)layout, shape, requests, overhead);
            results[layout] = median(runs, RUNS);
        }
        printf("| %s | %.1f | %.1f |\n", shape_names[shape], results[0], results[1]);
    }
    printf("\n(clock read overhead %.1f ns per round of up to %d requests, subtracted)\n\n", overhead, QUEUE_SIZE);
}

struct throughput_result {
    double requests_per_second;
    double kicks_per_request;
    double interrupts_per_request;
    double driver_sleeps_per_request;
};

static struct throughput_result throughput_run(enum virtq_layout layout, bool event_idx, unsigned batch,
                                               uint64_t requests)
{
    struct harness_queue *queue = create_queue(layout, event_idx);
    struct request_buffers buffers;
    request_buffers_init(queue, SHAPE_BLOCK, &buffers);
    struct virtq_driver *driver = &queue->driver;
    if (harness_device_start(&queue->device) < 0) {
        fprintf(stderr, "bench_virtq: cannot start the device thread\n");
        exit(1);
    }
    virtq_driver_disable_callbacks(driver);
    uint64_t submitted = 0, completed = 0, sleeps = 0;
    uint64_t start = now_ns();
    while (completed < requests) {
        unsigned added = 0;
        /* Whole batches only (a block-shaped request takes 3 descriptors), unless the run's end leaves less. */
        if (driver->free_count >= batch * 3) {
            while (added < batch && submitted < requests) {
                if (virtq_driver_add(driver, &buffers.request, submitted) != 0) {
                    fprintf(stderr, "bench_virtq: no room for a counted batch\n");
                    exit(1);
                }
                added++;
                submitted++;
            }
        }
        if (added)
            virtq_driver_kick(driver);
        uint64_t token;
        uint32_t written;
        unsigned reaped = 0;
        int result;
        while ((result = virtq_driver_get_used(driver, &token, &written)) == 1)
            reaped++;
        if (result < 0) {
            fprintf(stderr, "bench_virtq: driver: %s\n", driver->broken_reason);
            exit(1);
        }
        completed += reaped;
        if (reaped || added || completed == requests)
            continue;
        if (virtq_driver_enable_callbacks(driver)) {
            sleeps++;
            if (virtq_driver_wait_interrupt(driver, 10000) != 1) {
                fprintf(stderr, "bench_virtq: no interrupt for 10 s (lost notification)\n");
                exit(1);
            }
        }
        virtq_driver_disable_callbacks(driver);
    }
    uint64_t elapsed = now_ns() - start;
    if (harness_device_stop(&queue->device) < 0) {
        fprintf(stderr, "bench_virtq: device: %s\n", queue->device.failure);
        exit(1);
    }
    struct throughput_result result = {
        .requests_per_second = (double)requests * 1e9 / (double)elapsed,
        .kicks_per_request = (double)driver->stats.kicks / (double)requests,
        .interrupts_per_request = (double)queue->device.stats.interrupts_sent / (double)requests,
        .driver_sleeps_per_request = (double)sleeps / (double)requests,
    };
    harness_queue_destroy(queue);
    return result;
}

static void bench_throughput(uint64_t requests)
{
    printf("### Two threads over eventfds (block-shaped requests, queue size %d, median of %d runs of %llu)\n\n",
           QUEUE_SIZE, RUNS, (unsigned long long)requests);
    printf("| layout | EVENT_IDX | batch | requests/s | kicks/request | interrupts/request | driver sleeps/request |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int layout = 0; layout < 2; layout++) {
        for (int event_idx = 1; event_idx >= 0; event_idx--) {
            const unsigned batches[] = {1, 32};
            for (unsigned b = 0; b < 2; b++) {
                double rate[RUNS], kicks[RUNS], interrupts[RUNS], sleeps[RUNS];
                for (unsigned run = 0; run < RUNS; run++) {
                    struct throughput_result result =
                        throughput_run((enum virtq_layout)layout, event_idx, batches[b], requests);
                    rate[run] = result.requests_per_second;
                    kicks[run] = result.kicks_per_request;
                    interrupts[run] = result.interrupts_per_request;
                    sleeps[run] = result.driver_sleeps_per_request;
                }
                printf("| %s | %s | %u | %.0f | %.4f | %.4f | %.4f |\n", layout ? "packed" : "split",
                       event_idx ? "on" : "off", batches[b], median(rate, RUNS), median(kicks, RUNS),
                       median(interrupts, RUNS), median(sleeps, RUNS));
                fflush(stdout);
            }
        }
    }
    printf("\n");
}

/* One request in flight (synchronous I/O): every request costs a kick, an interrupt and two wake-ups. */
static double round_trip_us(enum virtq_layout layout, bool event_idx, uint64_t requests)
{
    struct harness_queue *queue = create_queue(layout, event_idx);
    struct request_buffers buffers;
    request_buffers_init(queue, SHAPE_BLOCK, &buffers);
    struct virtq_driver *driver = &queue->driver;
    if (harness_device_start(&queue->device) < 0) {
        fprintf(stderr, "bench_virtq: cannot start the device thread\n");
        exit(1);
    }
    virtq_driver_disable_callbacks(driver);
    uint64_t start = now_ns();
    for (uint64_t n = 0; n < requests; n++) {
        if (virtq_driver_add(driver, &buffers.request, n) != 0) {
            fprintf(stderr, "bench_virtq: add failed with nothing in flight\n");
            exit(1);
        }
        virtq_driver_kick(driver);
        uint64_t token;
        uint32_t written;
        int result;
        while ((result = virtq_driver_get_used(driver, &token, &written)) == 0) {
            if (virtq_driver_enable_callbacks(driver) && virtq_driver_wait_interrupt(driver, 10000) != 1) {
                fprintf(stderr, "bench_virtq: no interrupt for 10 s (lost notification)\n");
                exit(1);
            }
            virtq_driver_disable_callbacks(driver);
        }
        if (result < 0) {
            fprintf(stderr, "bench_virtq: driver: %s\n", driver->broken_reason);
            exit(1);
        }
    }
    double elapsed = (double)(now_ns() - start);
    if (harness_device_stop(&queue->device) < 0) {
        fprintf(stderr, "bench_virtq: device: %s\n", queue->device.failure);
        exit(1);
    }
    harness_queue_destroy(queue);
    return elapsed / 1000.0 / (double)requests;
}

static void bench_round_trip(uint64_t requests)
{
    printf("### One request in flight: round trip through both eventfds (us per request, median of %d runs of %llu)\n\n",
           RUNS, (unsigned long long)requests);
    printf("| layout | EVENT_IDX on | EVENT_IDX off |\n| --- | ---: | ---: |\n");
    for (int layout = 0; layout < 2; layout++) {
        double results[2];
        for (int event_idx = 1; event_idx >= 0; event_idx--) {
            double runs[RUNS];
            for (unsigned run = 0; run < RUNS; run++)
                runs[run] = round_trip_us((enum virtq_layout)layout, event_idx, requests);
            results[!event_idx] = median(runs, RUNS);
        }
        printf("| %s | %.2f | %.2f |\n", layout ? "packed" : "split", results[0], results[1]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            fprintf(stderr, "bench_virtq: unknown option '%s' (usage: bench_virtq [--quick])\n", argv[i]);
            return 2;
        }
    }
    bench_device_cost(quick ? 100000 : 1000000);
    bench_throughput(quick ? 20000 : 200000);
    bench_round_trip(quick ? 2000 : 20000);
    return 0;
}
