#ifndef KESTREL_TRACE_PLOT_COMMAND_H
#define KESTREL_TRACE_PLOT_COMMAND_H

/*
 * kestrel trace-plot PATH -o OUT.svg|OUT.png
 * kestrel trace-plot --summary PATH
 * kestrel trace-plot --help
 *
 * argv[0] is "trace-plot". Returns the exit status: 0, 2 for bad usage or a
 * bad trace file (one line "kestrel: <problem>"), 1 when gnuplot fails.
 */
int trace_plot_command(int argc, char *const argv[]);

const char *trace_plot_usage(void);

#endif
