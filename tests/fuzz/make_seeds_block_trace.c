/*
 * Writes the seed corpus of fuzz_block_trace_reader (tests/fuzz/corpus/...):
 * valid traces of every record type and status, an unfinished one, one with
 * drops, and the known workload, encoded by the format's own encoders.
 * Build and run: cc -Isrc -Itests tests/fuzz/make_seeds_block_trace.c src/trace/block_trace_format.c -o seeds && ./seeds DIR
 */
#include <stdio.h>

#include "unit/block_trace_fixture.h"

static void save(const char *directory, const char *name, struct trace_bytes bytes)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", directory, name);
    if (trace_bytes_save(&bytes, path) < 0)
        perror(path);
    free(bytes.data);
}

int main(int argc, char **argv)
{
    const char *directory = argc > 1 ? argv[1] : "tests/fuzz/corpus/fuzz_block_trace_reader";
    save(directory, "empty-finished", trace_bytes_build(NULL, 0, 1 << 20, 1));
    const struct block_trace_record every_type[] = {
        {.time_ns = 100, .sector = 0, .length = 4096, .latency_ns = 50, .queue = 0, .type = BLOCK_TRACE_READ},
        {.time_ns = 200, .sector = 8, .length = 8192, .latency_ns = 90, .queue = 1, .type = BLOCK_TRACE_WRITE},
        {.time_ns = 300, .length = 0, .latency_ns = 200, .queue = 0, .type = BLOCK_TRACE_FLUSH},
        {.time_ns = 400, .sector = 64, .length = 1 << 20, .latency_ns = 10, .queue = 2, .type = BLOCK_TRACE_DISCARD},
        {.time_ns = 500, .sector = 4096, .length = 512, .latency_ns = 1, .queue = 3, .type = BLOCK_TRACE_WRITE_ZEROES},
        {.time_ns = 600, .queue = 1, .type = BLOCK_TRACE_GET_ID},
        {.time_ns = 700, .queue = 1, .type = BLOCK_TRACE_OTHER, .status = BLOCK_TRACE_STATUS_UNSUPP},
        {.time_ns = 800, .sector = 1ull << 40, .queue = 0, .type = BLOCK_TRACE_READ, .status = BLOCK_TRACE_STATUS_IOERR},
    };
    save(directory, "every-type", trace_bytes_build(every_type, 8, 4 << 20, 4));
    struct trace_bytes unfinished = trace_bytes_build(every_type, 3, 4 << 20, 4);
    unfinished.data[20] = 0;                /* flags: not finished */
    memset(unfinished.data + 48, 0, 16);    /* no counts */
    save(directory, "unfinished", unfinished);
    struct trace_bytes dropped = trace_bytes_build(every_type, 2, 4 << 20, 4);
    dropped.data[56] = 17;
    save(directory, "dropped", dropped);
    struct block_trace_record *known = trace_known_workload(16, 48, 100000);
    save(directory, "known-workload", trace_bytes_build(known, 64, TRACE_FIXTURE_DISK, 2));
    free(known);
    return 0;
}
