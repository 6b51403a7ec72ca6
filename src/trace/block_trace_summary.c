#include "trace/block_trace_summary.h"

#include <stdlib.h>
#include <string.h>

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint64_t submission_ns(const struct block_trace_record *record)
{
    return record->time_ns - record->latency_ns; /* the reader checked latency <= time */
}

/* Nearest rank: the smallest value with at least `percent` of the values at or below it. */
static uint32_t percentile(const uint32_t *sorted, uint64_t count, unsigned percent)
{
    uint64_t rank = (count * percent + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

static int summarize_latency(const struct block_trace *trace, struct block_trace_summary *summary, uint32_t *scratch)
{
    for (unsigned type = 0; type < BLOCK_TRACE_TYPE_COUNT; type++) {
        uint64_t count = 0;
        for (size_t i = 0; i < trace->count; i++)
            if (trace->records[i].type == type)
                scratch[count++] = trace->records[i].latency_ns;
        struct block_trace_latency *latency = &summary->latency[type];
        latency->count = count;
        if (count == 0)
            continue;
        qsort(scratch, count, sizeof(*scratch), compare_u32);
        latency->p50 = percentile(scratch, count, 50);
        latency->p99 = percentile(scratch, count, 99);
        latency->max = scratch[count - 1];
    }
    return 0;
}

static bool moved_data(const struct block_trace_record *record)
{
    return record->status == BLOCK_TRACE_STATUS_OK && record->length > 0 &&
           (record->type == BLOCK_TRACE_READ || record->type == BLOCK_TRACE_WRITE);
}

static void summarize_sizes(const struct block_trace *trace, struct block_trace_summary *summary, uint32_t *scratch)
{
    uint64_t count = 0;
    for (size_t i = 0; i < trace->count; i++)
        if (moved_data(&trace->records[i]))
            scratch[count++] = trace->records[i].length;
    summary->sized_requests = count;
    if (count == 0)
        return;
    qsort(scratch, count, sizeof(*scratch), compare_u32);
    summary->size_min = scratch[0];
    summary->size_median = scratch[(count - 1) / 2];
    summary->size_max = scratch[count - 1];
    /* Runs of one size in the sorted list; the top list keeps the longest, smaller sizes first on ties. */
    for (uint64_t start = 0; start < count;) {
        uint64_t end = start;
        while (end < count && scratch[end] == scratch[start])
            end++;
        uint64_t run = end - start;
        unsigned slot = summary->top_size_count;
        while (slot > 0 && summary->top_sizes[slot - 1].count < run)
            slot--;
        if (slot < BLOCK_TRACE_TOP_SIZES) {
            unsigned last = summary->top_size_count < BLOCK_TRACE_TOP_SIZES ? summary->top_size_count
                                                                             : BLOCK_TRACE_TOP_SIZES - 1;
            memmove(&summary->top_sizes[slot + 1], &summary->top_sizes[slot],
                    (last - slot) * sizeof(summary->top_sizes[0]));
            summary->top_sizes[slot].size = scratch[start];
            summary->top_sizes[slot].count = run;
            if (summary->top_size_count < BLOCK_TRACE_TOP_SIZES)
                summary->top_size_count++;
        }
        start = end;
    }
}

static const struct block_trace *sort_trace;

/* By queue, then submission, then file order: each queue's requests in the order the guest issued them. */
static int compare_issue_order(const void *a, const void *b)
{
    const struct block_trace_record *x = &sort_trace->records[*(const size_t *)a];
    const struct block_trace_record *y = &sort_trace->records[*(const size_t *)b];
    if (x->queue != y->queue)
        return x->queue < y->queue ? -1 : 1;
    uint64_t sx = submission_ns(x), sy = submission_ns(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    size_t ix = *(const size_t *)a, iy = *(const size_t *)b;
    return (ix > iy) - (ix < iy);
}

static int summarize_order(const struct block_trace *trace, struct block_trace_summary *summary)
{
    size_t *order = malloc((trace->count ? trace->count : 1) * sizeof(*order));
    if (!order)
        return -1;
    for (size_t i = 0; i < trace->count; i++)
        order[i] = i;
    sort_trace = trace;
    qsort(order, trace->count, sizeof(*order), compare_issue_order);
    sort_trace = NULL;
    uint64_t next_sector[BLOCK_TRACE_MAX_QUEUES][2];
    bool seen[BLOCK_TRACE_MAX_QUEUES][2] = {{false}};
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[order[i]];
        if (!moved_data(record))
            continue;
        unsigned kind = record->type == BLOCK_TRACE_READ ? BLOCK_TRACE_KIND_READ : BLOCK_TRACE_KIND_WRITE;
        struct block_trace_queue_order *queue = &summary->queues[record->queue];
        if (seen[record->queue][kind]) {
            queue->followers[kind]++;
            if (record->sector == next_sector[record->queue][kind])
                queue->sequential[kind]++;
        }
        seen[record->queue][kind] = true;
        /* The reader checked the range lies on the disk: no overflow. */
        next_sector[record->queue][kind] = record->sector + record->length / trace->header.sector_size;
    }
    free(order);
    return 0;
}

int block_trace_summarize(const struct block_trace *trace, struct block_trace_summary *summary)
{
    memset(summary, 0, sizeof(*summary));
    summary->first_submission_ns = UINT64_MAX;
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[i];
        summary->requests[record->type]++;
        summary->bytes[record->type] += record->length;
        summary->failed[record->status] += record->status != BLOCK_TRACE_STATUS_OK;
        if (submission_ns(record) < summary->first_submission_ns)
            summary->first_submission_ns = submission_ns(record);
        if (record->time_ns > summary->last_completion_ns)
            summary->last_completion_ns = record->time_ns;
    }
    if (trace->count == 0)
        summary->first_submission_ns = 0;
    uint32_t *scratch = malloc((trace->count ? trace->count : 1) * sizeof(*scratch));
    if (!scratch)
        return -1;
    summarize_latency(trace, summary, scratch);
    summarize_sizes(trace, summary, scratch);
    free(scratch);
    return summarize_order(trace, summary);
}

void block_trace_format_bytes(uint64_t bytes, char *text, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = (double)bytes;
    unsigned unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        unit++;
    }
    if (unit == 0 || value == (double)(uint64_t)value)
        snprintf(text, size, "%.0f %s", value, units[unit]);
    else
        snprintf(text, size, "%.1f %s", value, units[unit]);
}

void block_trace_format_ns(uint64_t ns, char *text, size_t size)
{
    if (ns < 1000)
        snprintf(text, size, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(text, size, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(text, size, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(text, size, "%.3f s", (double)ns / 1e9);
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_mix(const struct block_trace *trace, const struct block_trace_summary *summary, FILE *out)
{
    uint64_t data_bytes = summary->bytes[BLOCK_TRACE_READ] + summary->bytes[BLOCK_TRACE_WRITE];
    fprintf(out, "mix:");
    for (unsigned type = 0; type < BLOCK_TRACE_TYPE_COUNT; type++) {
        if (summary->requests[type] == 0 && type != BLOCK_TRACE_READ && type != BLOCK_TRACE_WRITE)
            continue;
        char bytes[32];
        block_trace_format_bytes(summary->bytes[type], bytes, sizeof(bytes));
        fprintf(out, "%s %s %llu requests (%.1f%%)", type ? ";" : "", block_trace_type_name(type),
                (unsigned long long)summary->requests[type], share(summary->requests[type], trace->count));
        if (type == BLOCK_TRACE_READ || type == BLOCK_TRACE_WRITE)
            fprintf(out, ", %s (%.1f%% of the data)", bytes, share(summary->bytes[type], data_bytes));
        else if (summary->bytes[type])
            fprintf(out, ", %s", bytes);
    }
    fprintf(out, "\nerrors: %llu IOERR, %llu UNSUPP\n", (unsigned long long)summary->failed[BLOCK_TRACE_STATUS_IOERR],
            (unsigned long long)summary->failed[BLOCK_TRACE_STATUS_UNSUPP]);
}

static void print_order(const struct block_trace *trace, const struct block_trace_summary *summary, FILE *out)
{
    fprintf(out, "sequential (per queue, in issue order: requests starting where the previous one of their kind "
                 "ended):\n");
    for (unsigned queue = 0; queue < trace->header.queue_count; queue++) {
        const struct block_trace_queue_order *order = &summary->queues[queue];
        if (order->followers[0] + order->followers[1] == 0)
            continue;
        fprintf(out, "  queue %u: reads %.1f%% (%llu of %llu), writes %.1f%% (%llu of %llu)\n", queue,
                share(order->sequential[0], order->followers[0]), (unsigned long long)order->sequential[0],
                (unsigned long long)order->followers[0], share(order->sequential[1], order->followers[1]),
                (unsigned long long)order->sequential[1], (unsigned long long)order->followers[1]);
    }
}

static void print_sizes(const struct block_trace_summary *summary, FILE *out)
{
    if (summary->sized_requests == 0) {
        fprintf(out, "sizes: no read or write moved data\n");
        return;
    }
    char min[32], median[32], max[32];
    block_trace_format_bytes(summary->size_min, min, sizeof(min));
    block_trace_format_bytes(summary->size_median, median, sizeof(median));
    block_trace_format_bytes(summary->size_max, max, sizeof(max));
    fprintf(out, "sizes (reads and writes): min %s, median %s, max %s; top:", min, median, max);
    for (unsigned i = 0; i < summary->top_size_count; i++) {
        char size[32];
        block_trace_format_bytes(summary->top_sizes[i].size, size, sizeof(size));
        fprintf(out, "%s %s x%llu", i ? "," : "", size, (unsigned long long)summary->top_sizes[i].count);
    }
    fputc('\n', out);
}

static void print_latency(const struct block_trace_summary *summary, FILE *out)
{
    fprintf(out, "latency (p50 / p99 / max):\n");
    for (unsigned type = 0; type < BLOCK_TRACE_TYPE_COUNT; type++) {
        const struct block_trace_latency *latency = &summary->latency[type];
        if (latency->count == 0)
            continue;
        char p50[32], p99[32], max[32];
        block_trace_format_ns(latency->p50, p50, sizeof(p50));
        block_trace_format_ns(latency->p99, p99, sizeof(p99));
        block_trace_format_ns(latency->max, max, sizeof(max));
        fprintf(out, "  %s: %s / %s / %s\n", block_trace_type_name(type), p50, p99, max);
    }
}

void block_trace_summary_print(const struct block_trace *trace, const struct block_trace_summary *summary,
                               const char *name, FILE *out)
{
    char disk[32];
    block_trace_format_bytes(trace->header.disk_size, disk, sizeof(disk));
    fprintf(out, "trace: %s (version %u, disk %s, %u-byte sectors, %u queue%s, %s, %llu records dropped)\n", name,
            trace->header.version, disk, trace->header.sector_size, trace->header.queue_count,
            trace->header.queue_count == 1 ? "" : "s",
            trace->finished ? "finished" : "unfinished: kestrel did not close it",
            (unsigned long long)trace->header.dropped_count);
    uint64_t duration = summary->last_completion_ns - summary->first_submission_ns;
    uint64_t data_bytes = summary->bytes[BLOCK_TRACE_READ] + summary->bytes[BLOCK_TRACE_WRITE];
    char duration_text[32], throughput[32];
    block_trace_format_ns(duration, duration_text, sizeof(duration_text));
    double seconds = (double)duration / 1e9;
    block_trace_format_bytes(seconds > 0 ? (uint64_t)((double)data_bytes / seconds) : 0, throughput,
                             sizeof(throughput));
    fprintf(out, "duration: %s, %zu requests, %.0f requests/s, %s/s read and written\n", duration_text, trace->count,
            seconds > 0 ? (double)trace->count / seconds : 0.0, throughput);
    print_mix(trace, summary, out);
    print_order(trace, summary, out);
    print_sizes(summary, out);
    print_latency(summary, out);
}
