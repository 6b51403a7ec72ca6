/*
 * Feeds arbitrary bytes to the block trace reader (src/trace/block_trace_reader.c)
 * and, when it accepts them, to the summary and the plot script: no input may
 * crash or read past the buffer. What the reader accepts must hold what it
 * promises (the record count, queues below the header's count, data records
 * on the disk); a refusal is one usage-error line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/block_trace_plot.h"
#include "trace/block_trace_reader.h"
#include "trace/block_trace_summary.h"

static void check_trace(const struct block_trace *trace, size_t size)
{
    if (BLOCK_TRACE_HEADER_SIZE + trace->count * BLOCK_TRACE_RECORD_SIZE != size)
        abort();
    uint64_t sectors = trace->header.disk_size / trace->header.sector_size;
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[i];
        if (record->queue >= trace->header.queue_count || record->type >= BLOCK_TRACE_TYPE_COUNT ||
            record->latency_ns > record->time_ns)
            abort();
        if (record->status == BLOCK_TRACE_STATUS_OK && record->type == BLOCK_TRACE_READ &&
            (record->sector > sectors || record->length / trace->header.sector_size > sectors - record->sector))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: a read past the end is an ASan report. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct block_trace trace;
    struct error error = {0};
    if (block_trace_parse(copy, size, "fuzz", &trace, &error) < 0) {
        if (error.exit_status != EXIT_STATUS_USAGE || strchr(error.message, '\n'))
            abort();
        free(copy);
        return 0;
    }
    check_trace(&trace, size);
    struct block_trace_summary summary;
    FILE *sink = fopen("/dev/null", "w");
    if (sink && block_trace_summarize(&trace, &summary) == 0) {
        if (summary.sized_requests && (summary.size_min > summary.size_median || summary.size_median > summary.size_max))
            abort();
        block_trace_summary_print(&trace, &summary, "fuzz", sink);
        block_trace_plot_script(&trace, size & 1, sink);
    }
    if (sink)
        fclose(sink);
    block_trace_free(&trace);
    free(copy);
    return 0;
}
