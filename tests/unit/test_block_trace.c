/*
 * The block trace writer and reader: a round trip through the real writer
 * (rings, writer thread, header finished at close), drops counted when a ring
 * is full, nothing left on disk by a trace never started or refused, and
 * every kind of truncated or corrupt file refused in one line.
 * KESTREL_TSAN_TEST: the writer thread drains rings the test fills.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>

#include "block_trace_fixture.h"
#include "trace/block_trace_reader.h"
#include "trace/block_trace_writer.h"

struct fixture {
    char directory[64];
    char path[128];
};

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-trace-XXXXXX");
    if (!mkdtemp(fixture->directory))
        return -1;
    snprintf(fixture->path, sizeof(fixture->path), "%s/disk.trace", fixture->directory);
    *state = fixture;
    return 0;
}

/* Removes every file of the directory: a test that left one behind fails in directory_entries first. */
static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    DIR *directory = opendir(fixture->directory);
    for (struct dirent *entry; directory && (entry = readdir(directory));) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", fixture->directory, entry->d_name);
        if (entry->d_name[0] != '.' || (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")))
            unlink(path);
    }
    if (directory)
        closedir(directory);
    block_trace_writer_set_ring_capacity(0);
    block_trace_writer_pause_draining(false);
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

static void test_round_trip_through_the_writer(void **state)
{
    struct fixture *fixture = *state;
    struct error error = {0};
    struct block_trace_writer *writer = block_trace_writer_create(fixture->path, &error);
    assert_non_null(writer);
    /* Nothing at the path before start. */
    assert_int_equal(trace_directory_entries(fixture->directory), 0);
    assert_int_equal(block_trace_writer_start(writer, 64 << 20, 2, &error), 0);
    uint64_t base = block_trace_clock_ns();
    enum { COUNT = 3000 }; /* more than one batch */
    for (unsigned i = 0; i < COUNT; i++) {
        struct block_trace_record record = {.sector = i * 8, .length = 4096, .queue = (uint16_t)(i % 2),
                                            .type = i % 3 == 0 ? BLOCK_TRACE_WRITE : BLOCK_TRACE_READ,
                                            .status = i == 7 ? BLOCK_TRACE_STATUS_IOERR : BLOCK_TRACE_STATUS_OK};
        if (i == 7)
            record.length = 0;
        block_trace_writer_add(writer, &record, base + i * 1000, base + i * 1000 + 500 + i);
    }
    assert_int_equal(block_trace_writer_dropped(writer), 0);
    block_trace_writer_close(writer);

    struct block_trace trace;
    if (block_trace_load(fixture->path, &trace, &error) < 0)
        fail_msg("%s", error.message);
    assert_true(trace.finished);
    assert_int_equal(trace.count, COUNT);
    assert_int_equal(trace.header.record_count, COUNT);
    assert_int_equal(trace.header.dropped_count, 0);
    assert_int_equal(trace.header.disk_size, 64 << 20);
    assert_int_equal(trace.header.queue_count, 2);
    assert_int_equal(trace.header.sector_size, 512);
    /* Every record exactly once, whatever order the queues' rings were drained in. */
    bool seen[COUNT] = {false};
    for (size_t i = 0; i < trace.count; i++) {
        const struct block_trace_record *record = &trace.records[i];
        unsigned index = (unsigned)(record->sector / 8);
        assert_true(index < COUNT);
        assert_false(seen[index]);
        seen[index] = true;
        assert_int_equal(record->queue, index % 2);
        assert_int_equal(record->latency_ns, 500 + index);
        assert_int_equal(record->type, index % 3 == 0 ? BLOCK_TRACE_WRITE : BLOCK_TRACE_READ);
        assert_int_equal(record->status, index == 7 ? BLOCK_TRACE_STATUS_IOERR : BLOCK_TRACE_STATUS_OK);
        assert_int_equal(record->length, index == 7 ? 0 : 4096);
    }
    block_trace_free(&trace);
}

static void test_a_full_ring_drops_and_counts(void **state)
{
    struct fixture *fixture = *state;
    struct error error = {0};
    block_trace_writer_set_ring_capacity(16);
    block_trace_writer_pause_draining(true);
    struct block_trace_writer *writer = block_trace_writer_create(fixture->path, &error);
    assert_non_null(writer);
    assert_int_equal(block_trace_writer_start(writer, 1 << 20, 1, &error), 0);
    uint64_t now = block_trace_clock_ns();
    for (unsigned i = 0; i < 40; i++) {
        struct block_trace_record record = {.sector = i, .length = 512, .type = BLOCK_TRACE_READ};
        block_trace_writer_add(writer, &record, now, now + 1);
    }
    assert_int_equal(block_trace_writer_dropped(writer), 24);
    block_trace_writer_close(writer);
    struct block_trace trace;
    assert_int_equal(block_trace_load(fixture->path, &trace, &error), 0);
    assert_int_equal(trace.count, 16);
    assert_int_equal(trace.header.dropped_count, 24);
    /* The first 16 kept, in order. */
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(trace.records[i].sector, i);
    block_trace_free(&trace);
}

static void test_a_trace_never_started_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    struct error error = {0};
    /* An older trace at the path survives too. */
    FILE *older = fopen(fixture->path, "w");
    assert_non_null(older);
    fputs("older", older);
    fclose(older);
    struct block_trace_writer *writer = block_trace_writer_create(fixture->path, &error);
    assert_non_null(writer);
    block_trace_writer_close(writer);
    assert_int_equal(trace_directory_entries(fixture->directory), 1);
    struct stat status;
    assert_int_equal(stat(fixture->path, &status), 0);
    assert_int_equal(status.st_size, 5);
}

static void assert_refused(const char *path, const char *fragment)
{
    struct error error = {0};
    assert_null(block_trace_writer_create(path, &error));
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, fragment))
        fail_msg("'%s' does not mention '%s'", error.message, fragment);
    assert_null(strchr(error.message, '\n'));
}

static void test_bad_paths_are_usage_errors(void **state)
{
    struct fixture *fixture = *state;
    char path[256];
    snprintf(path, sizeof(path), "%s/missing/disk.trace", fixture->directory);
    assert_refused(path, "directory");
    assert_refused(path, "does not exist");
    assert_refused(fixture->directory, "is a directory");
    snprintf(path, sizeof(path), "%s/", fixture->directory);
    assert_refused(path, "is a directory");
    assert_refused("/dev/null", "is not a regular file");
    /* A directory nobody may write, whoever runs the test: /proc's. */
    assert_refused("/proc/kestrel.trace", "cannot create trace file /proc/kestrel.trace");
    assert_int_equal(trace_directory_entries(fixture->directory), 0);
}

/* A valid two-record trace to corrupt, one field at a time. */
static struct trace_bytes valid_trace(void)
{
    const struct block_trace_record records[2] = {
        {.time_ns = 5000, .sector = 0, .length = 4096, .latency_ns = 1000, .queue = 0, .type = BLOCK_TRACE_READ},
        {.time_ns = 9000, .sector = 8, .length = 0, .latency_ns = 10, .queue = 1, .type = BLOCK_TRACE_FLUSH},
    };
    return trace_bytes_build(records, 2, 1 << 20, 2);
}

static void assert_corrupt(const struct trace_bytes *bytes, size_t size, const char *fragment)
{
    struct block_trace trace;
    struct error error = {0};
    /* A buffer of exactly `size`: a read past it is an ASan report. */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, bytes->data, size);
    assert_int_equal(block_trace_parse(copy, size, "t", &trace, &error), -1);
    free(copy);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, fragment))
        fail_msg("'%s' does not mention '%s'", error.message, fragment);
    assert_null(trace.records);
}

static void put32(uint8_t *at, uint32_t value)
{
    for (unsigned i = 0; i < 4; i++)
        at[i] = (uint8_t)(value >> (8 * i));
}

static void test_the_valid_trace_reads(void **state)
{
    (void)state;
    struct trace_bytes bytes = valid_trace();
    struct block_trace trace;
    struct error error = {0};
    assert_int_equal(block_trace_parse(bytes.data, bytes.size, "t", &trace, &error), 0);
    assert_int_equal(trace.count, 2);
    assert_int_equal(trace.records[1].type, BLOCK_TRACE_FLUSH);
    block_trace_free(&trace);
    free(bytes.data);
}

static void test_truncation_is_refused(void **state)
{
    (void)state;
    struct trace_bytes bytes = valid_trace();
    assert_corrupt(&bytes, 0, "truncated header (0 bytes, 64 needed)");
    assert_corrupt(&bytes, 63, "truncated header");
    assert_corrupt(&bytes, bytes.size - 1, "truncated in record 1 (31 of its 32 bytes)");
    assert_corrupt(&bytes, 64 + 5, "truncated in record 0");
    /* Whole records missing: the finished header's count says so. */
    assert_corrupt(&bytes, 64 + 32, "the header counts 2 records, the file holds 1");
    free(bytes.data);
}

/* Applies `edit` to a fresh valid trace and expects `fragment`. */
#define CORRUPT(fragment, edit)                                                                                      \
    do {                                                                                                             \
        struct trace_bytes bytes = valid_trace();                                                                    \
        uint8_t *header = bytes.data, *first = bytes.data + 64, *second = bytes.data + 96;                           \
        (void)header, (void)first, (void)second;                                                                     \
        edit;                                                                                                        \
        assert_corrupt(&bytes, bytes.size, fragment);                                                                \
        free(bytes.data);                                                                                            \
    } while (0)

static void test_corrupt_headers_are_refused(void **state)
{
    (void)state;
    CORRUPT("bad magic", header[0] = 'X');
    CORRUPT("version 2 (this kestrel reads version 1)", put32(header + 8, 2));
    CORRUPT("header of 65 bytes", put32(header + 12, 65));
    CORRUPT("records of 33", put32(header + 16, 33));
    CORRUPT("unknown flags 0x3", put32(header + 20, 3));
    CORRUPT("sector size 1000", put32(header + 24, 1000));
    CORRUPT("sector size 256", put32(header + 24, 256));
    CORRUPT("0 queues", put32(header + 28, 0));
    CORRUPT("65 queues", put32(header + 28, 65));
    CORRUPT("less than one sector", memset(header + 32, 0, 8));
    /* Unfinished, yet with counts: not what a writer leaves. */
    CORRUPT("counts in the header of an unfinished trace", put32(header + 20, 0));
}

static void test_corrupt_records_are_refused(void **state)
{
    (void)state;
    CORRUPT("record 0: unknown type 7", first[26] = 7);
    CORRUPT("record 1: unknown status 3", second[27] = 3);
    CORRUPT("record 1: queue 2 of 2", second[24] = 2);
    CORRUPT("record 0: reserved bytes are not zero", first[30] = 1);
    CORRUPT("record 0: length 4000 is not whole sectors", put32(first + 16, 4000));
    CORRUPT("record 0: sectors 2047+8 are past the disk's end", put32(first + 8, 2047));
    CORRUPT("record 0: sectors 18446744073709551615+8 are past the disk's end", memset(first + 8, 0xff, 8));
    CORRUPT("record 0: latency 6000 ns is longer than the trace", put32(first + 20, 6000));
    CORRUPT("record 1: a flush with a length", put32(second + 16, 512));
    /* Same queue, earlier time. */
    CORRUPT("record 1: time goes backwards on queue 0", (second[24] = 0, put32(second, 4000), put32(second + 20, 0)));
}

static void test_an_unfinished_trace_reads_its_whole_records(void **state)
{
    (void)state;
    struct trace_bytes bytes = valid_trace();
    put32(bytes.data + 20, 0);
    memset(bytes.data + 48, 0, 16);
    struct block_trace trace;
    struct error error = {0};
    assert_int_equal(block_trace_parse(bytes.data, bytes.size, "t", &trace, &error), 0);
    assert_false(trace.finished);
    assert_int_equal(trace.count, 2);
    block_trace_free(&trace);
    /* But not half a record. */
    assert_corrupt(&bytes, bytes.size - 4, "truncated in record 1");
    free(bytes.data);
}

static void test_errors_for_failed_requests_skip_the_range_check(void **state)
{
    (void)state;
    /* The guest asked past the end and got IOERR: a legitimate record. */
    const struct block_trace_record record = {.time_ns = 10, .sector = 1ull << 40, .length = 0,
                                              .type = BLOCK_TRACE_READ, .status = BLOCK_TRACE_STATUS_IOERR};
    struct trace_bytes bytes = trace_bytes_build(&record, 1, 1 << 20, 1);
    struct block_trace trace;
    struct error error = {0};
    assert_int_equal(block_trace_parse(bytes.data, bytes.size, "t", &trace, &error), 0);
    block_trace_free(&trace);
    free(bytes.data);
}

static void test_load_reports_a_missing_file(void **state)
{
    struct fixture *fixture = *state;
    struct block_trace trace;
    struct error error = {0};
    assert_int_equal(block_trace_load(fixture->path, &trace, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "does not exist"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_through_the_writer, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_full_ring_drops_and_counts, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_trace_never_started_leaves_nothing, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_bad_paths_are_usage_errors, set_up, tear_down),
        cmocka_unit_test(test_the_valid_trace_reads),
        cmocka_unit_test(test_truncation_is_refused),
        cmocka_unit_test(test_corrupt_headers_are_refused),
        cmocka_unit_test(test_corrupt_records_are_refused),
        cmocka_unit_test(test_an_unfinished_trace_reads_its_whole_records),
        cmocka_unit_test(test_errors_for_failed_requests_skip_the_range_check),
        cmocka_unit_test_setup_teardown(test_load_reports_a_missing_file, set_up, tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
