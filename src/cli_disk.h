#ifndef KESTREL_CLI_DISK_H
#define KESTREL_CLI_DISK_H

/*
 * The value of one --disk option, PATH[,key=value...] (the keys are listed in
 * cli.h). Parsed in place, as getsubopt(3) does: `text` must be writable, and
 * the commas between keys become NULs so that spec->path and spec->serial can
 * point into it. ",," stands for one comma (in PATH; a serial cannot hold one).
 */

#include "cli.h"

/* Syntax and per-disk ranges. Every error is one line with EXIT_STATUS_USAGE. */
int cli_disk_parse(char *text, struct disk_spec *spec, struct error *error);

/* What needs the whole command line: the queues against the vCPUs, the I/O threads against the queues. */
int cli_disk_check_against_cpus(const struct disk_spec *spec, unsigned cpu_count, struct error *error);

#endif
