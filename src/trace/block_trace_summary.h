#ifndef KESTREL_TRACE_BLOCK_TRACE_SUMMARY_H
#define KESTREL_TRACE_BLOCK_TRACE_SUMMARY_H

/*
 * `kestrel trace-plot --summary`: what a validated trace says about the
 * workload, as numbers (for tests) and as text.
 */

#include <stdint.h>
#include <stdio.h>

#include "trace/block_trace_reader.h"

enum {
    BLOCK_TRACE_TOP_SIZES = 5,
    BLOCK_TRACE_KIND_READ = 0, /* the sequential counts are kept for reads and writes */
    BLOCK_TRACE_KIND_WRITE = 1,
};

struct block_trace_latency {
    uint64_t count;
    uint32_t p50, p99, max; /* ns, nearest rank */
};

struct block_trace_queue_order {
    uint64_t followers[2];  /* per kind: requests with an earlier one of the same kind on the queue */
    uint64_t sequential[2]; /* of those, the ones starting at the sector where the previous one ended */
};

struct block_trace_summary {
    uint64_t requests[BLOCK_TRACE_TYPE_COUNT];
    uint64_t bytes[BLOCK_TRACE_TYPE_COUNT];
    uint64_t failed[BLOCK_TRACE_STATUS_COUNT]; /* by status; [OK] unused */
    uint64_t first_submission_ns, last_completion_ns;
    struct block_trace_queue_order queues[BLOCK_TRACE_MAX_QUEUES];
    uint64_t sized_requests; /* reads and writes that moved data: the size figures are over these */
    uint32_t size_min, size_median, size_max;
    struct {
        uint32_t size;
        uint64_t count;
    } top_sizes[BLOCK_TRACE_TOP_SIZES];
    unsigned top_size_count;
    struct block_trace_latency latency[BLOCK_TRACE_TYPE_COUNT];
};

/* -1 only when memory runs out. */
int block_trace_summarize(const struct block_trace *trace, struct block_trace_summary *summary);

void block_trace_summary_print(const struct block_trace *trace, const struct block_trace_summary *summary,
                               const char *name, FILE *out);

/* "4 KiB", "1.5 MiB", "512 B"; "12.3 us", "1.20 ms": shared with the plot's labels. */
void block_trace_format_bytes(uint64_t bytes, char *text, size_t size);
void block_trace_format_ns(uint64_t ns, char *text, size_t size);

#endif
