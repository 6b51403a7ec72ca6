#include "trace/block_trace_plot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/block_trace_summary.h"
#include "util/staged_file.h"

extern char **environ;

enum {
    MAX_SCATTER_POINTS = 100000, /* per kind: more only slows gnuplot and swells an SVG */
    MAX_CDF_POINTS = 2000,
    THROUGHPUT_BUCKETS = 100,
    SIZE_BUCKETS = 33, /* powers of two up to 4 GiB */
};

static const char *const kind_colour[2] = {"#1f77b4", "#d62728"}; /* reads blue, writes red */

static bool moved_data(const struct block_trace_record *record, unsigned type)
{
    return record->type == type && record->status == BLOCK_TRACE_STATUS_OK && record->length > 0;
}

static size_t count_kind(const struct block_trace *trace, unsigned type)
{
    size_t count = 0;
    for (size_t i = 0; i < trace->count; i++)
        count += moved_data(&trace->records[i], type);
    return count;
}

static void write_scatter(const struct block_trace *trace, unsigned type, size_t count, FILE *out)
{
    size_t stride = count / MAX_SCATTER_POINTS + 1, seen = 0;
    fprintf(out, "$%s << EOD\n", type == BLOCK_TRACE_READ ? "reads" : "writes");
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[i];
        if (moved_data(record, type) && seen++ % stride == 0)
            fprintf(out, "%.9f %llu\n", (double)record->time_ns / 1e9, (unsigned long long)record->sector);
    }
    fputs("EOD\n", out);
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int write_cdf(const struct block_trace *trace, unsigned type, size_t count, FILE *out)
{
    uint32_t *latencies = malloc((count ? count : 1) * sizeof(*latencies));
    if (!latencies)
        return -1;
    size_t filled = 0;
    for (size_t i = 0; i < trace->count; i++)
        if (moved_data(&trace->records[i], type))
            latencies[filled++] = trace->records[i].latency_ns;
    qsort(latencies, filled, sizeof(*latencies), compare_u32);
    fprintf(out, "$%s_latency << EOD\n", type == BLOCK_TRACE_READ ? "read" : "write");
    size_t stride = filled / MAX_CDF_POINTS + 1;
    for (size_t i = 0; i < filled; i++)
        if (i % stride == 0 || i + 1 == filled)
            /* A log axis cannot show 0: the clock's grain, 1 ns, instead. */
            fprintf(out, "%.4f %.6f\n", (latencies[i] ? latencies[i] : 1) / 1e3, (double)(i + 1) / (double)filled);
    fputs("EOD\n", out);
    free(latencies);
    return 0;
}

static unsigned size_bucket(uint32_t length)
{
    unsigned bucket = 0;
    while (bucket + 1 < SIZE_BUCKETS && (1ull << bucket) < length)
        bucket++;
    return bucket;
}

static void write_sizes(const struct block_trace *trace, FILE *out)
{
    uint64_t counts[SIZE_BUCKETS] = {0};
    unsigned lowest = SIZE_BUCKETS, highest = 0;
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[i];
        if (!moved_data(record, BLOCK_TRACE_READ) && !moved_data(record, BLOCK_TRACE_WRITE))
            continue;
        unsigned bucket = size_bucket(record->length);
        counts[bucket]++;
        lowest = bucket < lowest ? bucket : lowest;
        highest = bucket > highest ? bucket : highest;
    }
    fputs("$sizes << EOD\n", out);
    for (unsigned bucket = lowest; bucket <= highest && lowest < SIZE_BUCKETS; bucket++) {
        char label[32];
        block_trace_format_bytes(1ull << bucket, label, sizeof(label));
        char *space = strchr(label, ' ');
        if (space) /* one column: "4KiB" */
            memmove(space, space + 1, strlen(space));
        fprintf(out, "%s %llu\n", label, (unsigned long long)counts[bucket]);
    }
    fputs("EOD\n", out);
}

static void write_throughput(const struct block_trace *trace, uint64_t end_ns, FILE *out)
{
    uint64_t bucket_ns = end_ns / THROUGHPUT_BUCKETS + 1;
    if (bucket_ns < 1000000)
        bucket_ns = 1000000;
    uint64_t bytes[THROUGHPUT_BUCKETS + 1][2] = {{0}};
    for (size_t i = 0; i < trace->count; i++) {
        const struct block_trace_record *record = &trace->records[i];
        uint64_t bucket = record->time_ns / bucket_ns;
        if (bucket > THROUGHPUT_BUCKETS)
            bucket = THROUGHPUT_BUCKETS;
        if (moved_data(record, BLOCK_TRACE_READ))
            bytes[bucket][0] += record->length;
        else if (moved_data(record, BLOCK_TRACE_WRITE))
            bytes[bucket][1] += record->length;
    }
    fputs("$throughput << EOD\n", out);
    uint64_t last = end_ns / bucket_ns;
    for (uint64_t bucket = 0; bucket <= last && bucket <= THROUGHPUT_BUCKETS; bucket++) {
        double seconds = (double)bucket_ns / 1e9;
        fprintf(out, "%.6f %.3f %.3f\n", (double)(bucket * bucket_ns + bucket_ns / 2) / 1e9,
                (double)bytes[bucket][0] / seconds / (1 << 20), (double)bytes[bucket][1] / seconds / (1 << 20));
    }
    fputs("EOD\n", out);
}

/* "plot" with one clause per kind that has data, or a "no data" label. */
static void plot_kinds(FILE *out, const size_t counts[2], const char *read_clause, const char *write_clause,
                       const char *style)
{
    if (counts[0] + counts[1] == 0) {
        fputs("set label 1 'no reads or writes' at graph 0.5, graph 0.5 center\n"
              "plot [0:1] [0:1] NaN notitle\nunset label 1\n", out);
        return;
    }
    fputs("plot ", out);
    if (counts[0])
        fprintf(out, "%s %s lc rgb '%s' title 'read'", read_clause, style, kind_colour[0]);
    if (counts[1])
        fprintf(out, "%s%s %s lc rgb '%s' title 'write'", counts[0] ? ", " : "", write_clause, style,
                kind_colour[1]);
    fputc('\n', out);
}

int block_trace_plot_script(const struct block_trace *trace, bool png, FILE *out)
{
    const size_t counts[2] = {count_kind(trace, BLOCK_TRACE_READ), count_kind(trace, BLOCK_TRACE_WRITE)};
    uint64_t end_ns = 0;
    for (size_t i = 0; i < trace->count; i++)
        end_ns = trace->records[i].time_ns > end_ns ? trace->records[i].time_ns : end_ns;
    if (png)
        fputs("set terminal pngcairo size 1400,1000 font 'sans,10' background rgb 'white'\n", out);
    else
        fputs("set terminal svg size 1400,1000 font 'sans,10' background rgb 'white'\n", out);
    write_scatter(trace, BLOCK_TRACE_READ, counts[0], out);
    write_scatter(trace, BLOCK_TRACE_WRITE, counts[1], out);
    write_sizes(trace, out);
    if (write_cdf(trace, BLOCK_TRACE_READ, counts[0], out) < 0 || write_cdf(trace, BLOCK_TRACE_WRITE, counts[1], out) < 0)
        return -1;
    write_throughput(trace, end_ns, out);
    char disk[32];
    block_trace_format_bytes(trace->header.disk_size, disk, sizeof(disk));
    fprintf(out, "set multiplot layout 2,2 title 'kestrel block trace: %zu requests, %.3f s, disk %s'\n",
            trace->count, (double)end_ns / 1e9, disk);
    fputs("set grid\nset key top left\n", out);
    fprintf(out, "set title 'Sector against time'\nset xlabel 'time (s)'\nset ylabel 'sector'\n"
                 "set yrange [0:%llu]\nset format y '%%.0f'\n",
            (unsigned long long)(trace->header.disk_size / trace->header.sector_size));
    plot_kinds(out, counts, "$reads using 1:2", "$writes using 1:2", "with points pt 7 ps 0.4");
    fputs("set yrange [*:*]\nset format y '%g'\nset title 'Request sizes (reads and writes)'\nset xlabel 'size (up to)'\n"
          "set ylabel 'requests'\nset style fill solid 0.8\nset boxwidth 0.7\nset xtics rotate by -45\n", out);
    if (counts[0] + counts[1])
        fputs("plot $sizes using 0:2:xtic(1) with boxes lc rgb '#2ca02c' notitle\n", out);
    else
        plot_kinds(out, counts, "", "", "");
    fputs("set xtics norotate\nset title 'Latency CDF'\nset xlabel 'latency (us)'\nset ylabel 'fraction of requests'\n"
          "set logscale x\nset yrange [0:1]\nset key bottom right\n", out);
    plot_kinds(out, counts, "$read_latency using 1:2", "$write_latency using 1:2", "with steps lw 2");
    fputs("unset logscale x\nset yrange [0:*]\nset key top left\nset title 'Throughput'\nset xlabel 'time (s)'\n"
          "set ylabel 'MiB/s'\n", out);
    plot_kinds(out, counts, "$throughput using 1:2", "$throughput using 1:3", "with lines lw 2");
    fputs("unset multiplot\n", out);
    return ferror(out) ? -1 : 0;
}

/* gnuplot's first line of complaint, for the error. */
static void first_line(FILE *log, char *text, size_t size)
{
    text[0] = '\0';
    rewind(log);
    if (fgets(text, (int)size, log))
        text[strcspn(text, "\n")] = '\0';
}

static int run_gnuplot(const struct block_trace *trace, bool png, int output_fd, struct error *error)
{
    FILE *log = tmpfile();
    int script_pipe[2];
    if (!log)
        return error_set(error, EXIT_STATUS_FAILURE, "trace-plot: tmpfile: %s", strerror(errno));
    if (pipe2(script_pipe, O_CLOEXEC) < 0) {
        fclose(log);
        return error_set(error, EXIT_STATUS_FAILURE, "trace-plot: pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, script_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fileno(log), STDERR_FILENO);
    char *const argv[] = {"gnuplot", NULL};
    pid_t child;
    int spawned = posix_spawnp(&child, "gnuplot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(script_pipe[0]);
    if (spawned != 0) {
        close(script_pipe[1]);
        fclose(log);
        if (spawned == ENOENT)
            return error_set(error, EXIT_STATUS_USAGE,
                             "trace-plot needs gnuplot, which is not installed (Debian: apt-get install gnuplot-nox)");
        return error_set(error, EXIT_STATUS_FAILURE, "trace-plot: cannot run gnuplot: %s", strerror(spawned));
    }
    /* gnuplot may die early; its stdin closing must then be an error here, not a SIGPIPE. */
    void (*previous)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *script = fdopen(script_pipe[1], "w");
    int written = script ? block_trace_plot_script(trace, png, script) : -1;
    if (script && fclose(script) != 0)
        written = -1;
    else if (!script)
        close(script_pipe[1]);
    signal(SIGPIPE, previous);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    char complaint[256];
    first_line(log, complaint, sizeof(complaint));
    fclose(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || written < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "trace-plot: gnuplot failed%s%s", complaint[0] ? ": " : "",
                         complaint);
    return 0;
}

static bool has_suffix(const char *path, const char *suffix)
{
    size_t length = strlen(path), suffix_length = strlen(suffix);
    return length > suffix_length && strcasecmp(path + length - suffix_length, suffix) == 0;
}

int block_trace_plot(const struct block_trace *trace, const char *output_path, struct error *error)
{
    bool png = has_suffix(output_path, ".png");
    if (!png && !has_suffix(output_path, ".svg"))
        return error_set(error, EXIT_STATUS_USAGE, "trace-plot: -o %s: the name must end in .svg or .png",
                         output_path);
    struct staged_file output;
    if (staged_file_create(&output, output_path, "trace-plot: output", error) < 0)
        return -1;
    int result = run_gnuplot(trace, png, output.fd, error);
    if (result == 0)
        result = staged_file_publish(&output, error);
    staged_file_close(&output);
    return result;
}
