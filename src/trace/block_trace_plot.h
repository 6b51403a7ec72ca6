#ifndef KESTREL_TRACE_BLOCK_TRACE_PLOT_H
#define KESTREL_TRACE_BLOCK_TRACE_PLOT_H

/*
 * `kestrel trace-plot PATH -o OUT.svg|OUT.png`: four panels drawn by gnuplot
 * (Debian's gnuplot-nox; svg and pngcairo terminals): the sector against
 * time for reads and writes, a histogram of request sizes, the latency CDF
 * per kind, and the throughput over time.
 *
 * gnuplot reads one script on its stdin, with the data inline as datablocks,
 * and writes the image on its stdout, which is the output file: no file name
 * and no other user string is ever part of the script or of a command line.
 * The image appears at OUT only when gnuplot succeeded (util/staged_file.h).
 */

#include <stdio.h>

#include "trace/block_trace_reader.h"
#include "util/error.h"

/* The script gnuplot is given for `trace` (exposed for the tests). `png` selects pngcairo, else svg. */
int block_trace_plot_script(const struct block_trace *trace, bool png, FILE *out);

/* EXIT_STATUS_USAGE: OUT's suffix is neither .svg nor .png, OUT cannot be created, gnuplot is not installed. */
int block_trace_plot(const struct block_trace *trace, const char *output_path, struct error *error);

#endif
