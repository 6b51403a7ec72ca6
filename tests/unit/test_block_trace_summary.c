/*
 * trace-plot on a synthetic trace of known content (64 sequential 512 KiB
 * writes on queue 0, then 192 random 4 KiB reads on queue 1): the summary's
 * numbers and text, and the plots gnuplot draws (an SVG that parses, a PNG
 * with its signature and the size asked for), a missing gnuplot and bad
 * output names refused with nothing left on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "block_trace_fixture.h"
#include "trace/block_trace_plot.h"
#include "trace/block_trace_summary.h"
#include "trace_plot_command.h"

enum { SEQUENTIAL = 64, RANDOM = 192, LATENCY = 250000 };

struct fixture {
    char directory[64];
    char trace_path[128];
    struct block_trace trace;
};

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-plot-XXXXXX");
    if (!mkdtemp(fixture->directory))
        return -1;
    snprintf(fixture->trace_path, sizeof(fixture->trace_path), "%s/known.trace", fixture->directory);
    struct block_trace_record *records = trace_known_workload(SEQUENTIAL, RANDOM, LATENCY);
    struct trace_bytes bytes = trace_bytes_build(records, SEQUENTIAL + RANDOM, TRACE_FIXTURE_DISK, 2);
    free(records);
    struct error error = {0};
    if (trace_bytes_save(&bytes, fixture->trace_path) < 0 ||
        block_trace_parse(bytes.data, bytes.size, "known", &fixture->trace, &error) < 0)
        return -1;
    free(bytes.data);
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    block_trace_free(&fixture->trace);
    char command[256];
    snprintf(command, sizeof(command), "rm -rf '%s'", fixture->directory);
    if (system(command) != 0)
        return -1;
    free(fixture);
    return 0;
}

static void test_summary_numbers(void **state)
{
    struct fixture *fixture = *state;
    struct block_trace_summary summary;
    assert_int_equal(block_trace_summarize(&fixture->trace, &summary), 0);
    assert_int_equal(summary.requests[BLOCK_TRACE_WRITE], SEQUENTIAL);
    assert_int_equal(summary.requests[BLOCK_TRACE_READ], RANDOM);
    assert_int_equal(summary.bytes[BLOCK_TRACE_WRITE], SEQUENTIAL * 512 * 1024);
    assert_int_equal(summary.bytes[BLOCK_TRACE_READ], RANDOM * 4096);
    /* Writes: every one after the first follows its predecessor; reads: none does. */
    assert_int_equal(summary.queues[0].followers[BLOCK_TRACE_KIND_WRITE], SEQUENTIAL - 1);
    assert_int_equal(summary.queues[0].sequential[BLOCK_TRACE_KIND_WRITE], SEQUENTIAL - 1);
    assert_int_equal(summary.queues[1].followers[BLOCK_TRACE_KIND_READ], RANDOM - 1);
    assert_int_equal(summary.queues[1].sequential[BLOCK_TRACE_KIND_READ], 0);
    assert_int_equal(summary.size_min, 4096);
    assert_int_equal(summary.size_median, 4096); /* 192 of 256 are 4 KiB */
    assert_int_equal(summary.size_max, 512 * 1024);
    assert_int_equal(summary.top_size_count, 2);
    assert_int_equal(summary.top_sizes[0].size, 4096);
    assert_int_equal(summary.top_sizes[0].count, RANDOM);
    assert_int_equal(summary.top_sizes[1].size, 512 * 1024);
    assert_int_equal(summary.latency[BLOCK_TRACE_READ].p50, LATENCY);
    assert_int_equal(summary.latency[BLOCK_TRACE_WRITE].max, LATENCY);
    assert_int_equal(summary.latency[BLOCK_TRACE_FLUSH].count, 0);
    /* The first write was issued at 1 ms, the last read completed 256 latencies later. */
    assert_int_equal(summary.first_submission_ns, 1000000);
    assert_int_equal(summary.last_completion_ns, 1000000 + (SEQUENTIAL + RANDOM) * (uint64_t)LATENCY);
}

static void test_percentiles_by_nearest_rank(void **state)
{
    (void)state;
    struct block_trace_record records[100];
    for (unsigned i = 0; i < 100; i++)
        records[i] = (struct block_trace_record){.time_ns = 1000000 + i, .sector = 0, .length = 512,
                                                 .latency_ns = 100 - i, .type = BLOCK_TRACE_READ};
    struct trace_bytes bytes = trace_bytes_build(records, 100, 1 << 20, 1);
    struct block_trace trace;
    struct error error = {0};
    assert_int_equal(block_trace_parse(bytes.data, bytes.size, "t", &trace, &error), 0);
    struct block_trace_summary summary;
    assert_int_equal(block_trace_summarize(&trace, &summary), 0);
    assert_int_equal(summary.latency[BLOCK_TRACE_READ].p50, 50);
    assert_int_equal(summary.latency[BLOCK_TRACE_READ].p99, 99);
    assert_int_equal(summary.latency[BLOCK_TRACE_READ].max, 100);
    /* The same sector again and again is not sequential. */
    assert_int_equal(summary.queues[0].sequential[BLOCK_TRACE_KIND_READ], 0);
    block_trace_free(&trace);
    free(bytes.data);
}

static void test_summary_text(void **state)
{
    struct fixture *fixture = *state;
    struct block_trace_summary summary;
    assert_int_equal(block_trace_summarize(&fixture->trace, &summary), 0);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    block_trace_summary_print(&fixture->trace, &summary, "known", out);
    fclose(out);
    const char *expected[] = {
        "trace: known (version 1, disk 1 GiB, 512-byte sectors, 2 queues, finished, 0 records dropped)",
        "duration: 64.00 ms, 256 requests, 4000 requests/s, 511.7 MiB/s read and written",
        "mix: read 192 requests (75.0%), 768 KiB (2.3% of the data); write 64 requests (25.0%), 32 MiB (97.7% of the "
        "data)",
        "errors: 0 IOERR, 0 UNSUPP",
        "  queue 0: reads 0.0% (0 of 0), writes 100.0% (63 of 63)",
        "  queue 1: reads 0.0% (0 of 191), writes 0.0% (0 of 0)",
        "sizes (reads and writes): min 4 KiB, median 4 KiB, max 512 KiB; top: 4 KiB x192, 512 KiB x64",
        "  read: 250.0 us / 250.0 us / 250.0 us",
        "  write: 250.0 us / 250.0 us / 250.0 us",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (!strstr(text, expected[i]))
            fail_msg("the summary lacks '%s':\n%s", expected[i], text);
    free(text);
}

/* Runs `kestrel trace-plot ARGS` in a child with PATH set to `path_variable`; returns its exit status. */
static int run_command(char *const argv[], const char *path_variable, char *stderr_text, size_t size)
{
    int errors[2];
    if (pipe(errors) < 0)
        return -1;
    pid_t child = fork();
    if (child == 0) {
        dup2(errors[1], STDERR_FILENO);
        if (path_variable)
            setenv("PATH", path_variable, 1);
        int argc = 0;
        while (argv[argc])
            argc++;
        _exit(trace_plot_command(argc, argv));
    }
    close(errors[1]);
    ssize_t got = read(errors[0], stderr_text, size - 1);
    stderr_text[got > 0 ? got : 0] = '\0';
    close(errors[0]);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_svg_parses(void **state)
{
    struct fixture *fixture = *state;
    char output[160], errors[512], command[1200];
    snprintf(output, sizeof(output), "%s/plot.svg", fixture->directory);
    char *argv[] = {"trace-plot", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(argv, NULL, errors, sizeof(errors)), 0);
    snprintf(command, sizeof(command), "xmllint --noout '%s'", output);
    assert_int_equal(system(command), 0);
    /* The root element, and the four panels' titles. */
    snprintf(command, sizeof(command),
             "grep -q '<svg' '%s' && grep -q 'Sector against time' '%s' && grep -q 'Latency CDF' '%s' && "
             "grep -q 'Throughput' '%s' && grep -q 'Request sizes' '%s'",
             output, output, output, output, output);
    assert_int_equal(system(command), 0);
}

static uint32_t big_endian(const uint8_t *at)
{
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static void test_png_has_its_signature_and_size(void **state)
{
    struct fixture *fixture = *state;
    char output[160], errors[512];
    snprintf(output, sizeof(output), "%s/plot.png", fixture->directory);
    char *argv[] = {"trace-plot", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(argv, NULL, errors, sizeof(errors)), 0);
    uint8_t head[33];
    FILE *png = fopen(output, "rb");
    assert_non_null(png);
    assert_int_equal(fread(head, 1, sizeof(head), png), sizeof(head));
    fseek(png, 0, SEEK_END);
    long size = ftell(png);
    fclose(png);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(head + 12, "IHDR", 4);
    assert_int_equal(big_endian(head + 16), 1400);
    assert_int_equal(big_endian(head + 20), 1000);
    assert_true(size > 20000); /* four panels of points and lines, not an empty canvas */
}

static unsigned files_in(const char *directory)
{
    char command[256];
    snprintf(command, sizeof(command), "test $(ls -A '%s' | wc -l) -eq 1", directory);
    return system(command) == 0 ? 1 : 0;
}

static void test_missing_gnuplot_is_one_line(void **state)
{
    struct fixture *fixture = *state;
    char output[160], errors[512];
    snprintf(output, sizeof(output), "%s/plot.svg", fixture->directory);
    char *argv[] = {"trace-plot", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(argv, "/nonexistent", errors, sizeof(errors)), 2);
    assert_non_null(strstr(errors, "kestrel: trace-plot needs gnuplot, which is not installed"));
    assert_int_equal(strchr(errors, '\n') - errors, strlen(errors) - 1);
    assert_int_equal(files_in(fixture->directory), 1); /* the trace alone: no plot, no temporary */
}

static void test_bad_arguments_are_usage_errors(void **state)
{
    struct fixture *fixture = *state;
    char errors[512], output[160];
    snprintf(output, sizeof(output), "%s/plot.jpg", fixture->directory);
    char *bad_suffix[] = {"trace-plot", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(bad_suffix, NULL, errors, sizeof(errors)), 2);
    assert_non_null(strstr(errors, "must end in .svg or .png"));
    snprintf(output, sizeof(output), "%s/missing/plot.svg", fixture->directory);
    char *missing_directory[] = {"trace-plot", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(missing_directory, NULL, errors, sizeof(errors)), 2);
    assert_non_null(strstr(errors, "does not exist"));
    char *both[] = {"trace-plot", "--summary", fixture->trace_path, "-o", output, NULL};
    assert_int_equal(run_command(both, NULL, errors, sizeof(errors)), 2);
    char *neither[] = {"trace-plot", fixture->trace_path, NULL};
    assert_int_equal(run_command(neither, NULL, errors, sizeof(errors)), 2);
    char *no_trace[] = {"trace-plot", "--summary", NULL};
    assert_int_equal(run_command(no_trace, NULL, errors, sizeof(errors)), 2);
    char *unknown[] = {"trace-plot", "--bogus", fixture->trace_path, NULL};
    assert_int_equal(run_command(unknown, NULL, errors, sizeof(errors)), 2);
    assert_non_null(strstr(errors, "unknown option '--bogus'"));
    assert_int_equal(files_in(fixture->directory), 1);
}

static void test_a_corrupt_trace_is_one_line(void **state)
{
    struct fixture *fixture = *state;
    char errors[512];
    assert_int_equal(truncate(fixture->trace_path, 64 + 32 * 10 + 7), 0);
    char *argv[] = {"trace-plot", "--summary", fixture->trace_path, NULL};
    assert_int_equal(run_command(argv, NULL, errors, sizeof(errors)), 2);
    assert_non_null(strstr(errors, "truncated in record 10 (7 of its 32 bytes)"));
    assert_int_equal(strchr(errors, '\n') - errors, strlen(errors) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_summary_numbers, set_up, tear_down),
        cmocka_unit_test(test_percentiles_by_nearest_rank),
        cmocka_unit_test_setup_teardown(test_summary_text, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_svg_parses, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_png_has_its_signature_and_size, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_missing_gnuplot_is_one_line, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_bad_arguments_are_usage_errors, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_corrupt_trace_is_one_line, set_up, tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
