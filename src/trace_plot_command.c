#include "trace_plot_command.h"

#include <stdio.h>
#include <string.h>

#include "trace/block_trace_plot.h"
#include "trace/block_trace_reader.h"
#include "trace/block_trace_summary.h"
#include "util/error.h"
#include "util/log.h"

const char *trace_plot_usage(void)
{
    return "usage: kestrel trace-plot PATH -o OUT.svg|OUT.png\n"
           "       kestrel trace-plot --summary PATH\n"
           "\n"
           "  PATH is a block I/O trace written by --disk ...,trace=PATH (docs/trace-format.md).\n"
           "  -o OUT      draw the sector against time (reads and writes), a histogram of request sizes,\n"
           "              the latency CDF and the throughput over time with gnuplot, as SVG or PNG\n"
           "  --summary   print the read/write mix, how sequential the requests are, their sizes,\n"
           "              the latency percentiles per type, the duration and the throughput\n";
}

struct plot_arguments {
    const char *trace_path;
    const char *output_path;
    bool summary;
    bool help;
};

static int parse(int argc, char *const argv[], struct plot_arguments *arguments, struct error *error)
{
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            arguments->help = true;
            return 0;
        }
        if (strcmp(argument, "--summary") == 0) {
            arguments->summary = true;
        } else if (strcmp(argument, "-o") == 0 || strcmp(argument, "--output") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return error_set(error, EXIT_STATUS_USAGE, "trace-plot: %s needs a file name", argument);
            if (arguments->output_path)
                return error_set(error, EXIT_STATUS_USAGE, "trace-plot: -o is given twice");
            arguments->output_path = argv[++i];
        } else if (argument[0] == '-' && argument[1] != '\0') {
            return error_set(error, EXIT_STATUS_USAGE, "trace-plot: unknown option '%s' (see kestrel trace-plot --help)",
                             argument);
        } else if (arguments->trace_path) {
            return error_set(error, EXIT_STATUS_USAGE, "trace-plot: one trace at a time ('%s' and '%s')",
                             arguments->trace_path, argument);
        } else {
            arguments->trace_path = argument;
        }
    }
    if (!arguments->trace_path)
        return error_set(error, EXIT_STATUS_USAGE, "trace-plot needs a trace file (see kestrel trace-plot --help)");
    if (arguments->summary == (arguments->output_path != NULL))
        return error_set(error, EXIT_STATUS_USAGE, "trace-plot: give either -o OUT.svg|OUT.png or --summary");
    return 0;
}

int trace_plot_command(int argc, char *const argv[])
{
    struct plot_arguments arguments = {0};
    struct error error = {0};
    if (parse(argc, argv, &arguments, &error) < 0) {
        log_error("%s", error.message);
        return error.exit_status;
    }
    if (arguments.help) {
        fputs(trace_plot_usage(), stdout);
        return EXIT_STATUS_OK;
    }
    struct block_trace trace;
    if (block_trace_load(arguments.trace_path, &trace, &error) < 0) {
        log_error("%s", error.message);
        return error.exit_status;
    }
    int result = 0;
    if (arguments.summary) {
        struct block_trace_summary summary;
        if (block_trace_summarize(&trace, &summary) < 0)
            result = error_set(&error, EXIT_STATUS_FAILURE, "trace-plot: out of memory");
        else
            block_trace_summary_print(&trace, &summary, arguments.trace_path, stdout);
    } else {
        result = block_trace_plot(&trace, arguments.output_path, &error);
    }
    block_trace_free(&trace);
    if (result < 0) {
        log_error("%s", error.message);
        return error.exit_status;
    }
    return EXIT_STATUS_OK;
}
