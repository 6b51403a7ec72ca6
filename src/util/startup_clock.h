#ifndef KESTREL_UTIL_STARTUP_CLOCK_H
#define KESTREL_UTIL_STARTUP_CLOCK_H

/*
 * Where kestrel's startup time is measured from, for --stats. A launcher
 * that wants exec-to-first-KVM_RUN sets KESTREL_EXEC_TIME_NS to
 * CLOCK_MONOTONIC nanoseconds taken just before execve; without it the
 * origin is the earliest moment main() can take.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define STARTUP_EXEC_TIME_VARIABLE "KESTREL_EXEC_TIME_NS"

struct startup_origin {
    uint64_t ns;    /* CLOCK_MONOTONIC */
    bool from_exec; /* true: the launcher's exec time; false: main()'s entry */
};

uint64_t startup_clock_now_ns(void);

/*
 * `exec_time` is the variable's value or NULL. A value that is not a
 * decimal number, or lies after `main_ns`, is a usage error (status 2).
 */
int startup_origin_resolve(uint64_t main_ns, const char *exec_time, struct startup_origin *origin,
                           struct error *error);

#endif
