#ifndef KESTREL_TRACE_BLOCK_TRACE_READER_H
#define KESTREL_TRACE_BLOCK_TRACE_READER_H

/*
 * Reads and validates a block I/O trace (docs/trace-format.md). The file is
 * untrusted: every field of the header and of every record is checked, and a
 * bad file is one line in `error` with EXIT_STATUS_USAGE, never a crash.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/block_trace_format.h"
#include "util/error.h"

struct block_trace {
    struct block_trace_header header;
    struct block_trace_record *records; /* in file order: per queue, in completion order */
    size_t count;
    bool finished; /* the writer closed it; else kestrel died and the counts in the header are not final */
};

/* Validates `size` bytes of a trace; `name` labels the errors. On success `trace` owns an array. */
int block_trace_parse(const uint8_t *data, size_t size, const char *name, struct block_trace *trace,
                      struct error *error);

int block_trace_load(const char *path, struct block_trace *trace, struct error *error);

void block_trace_free(struct block_trace *trace);

#endif
