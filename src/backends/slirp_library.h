#ifndef KESTREL_BACKENDS_SLIRP_LIBRARY_H
#define KESTREL_BACKENDS_SLIRP_LIBRARY_H

/*
 * libslirp (--net user), loaded with dlopen when a user-mode NIC is opened
 * instead of being linked: linked, it and GLib, PCRE2 and libm cost every
 * exec of kestrel about 1 ms and 1.1 MiB of resident memory
 * (docs/benchmarks.md), VMs without --net user included. It is loaded with
 * the input, before Landlock, and stays. The header gives the types only.
 */

#include <slirp/libslirp.h>

#include "util/error.h"

struct slirp_library {
    __typeof__(slirp_new) *create;
    __typeof__(slirp_cleanup) *cleanup;
    __typeof__(slirp_input) *input;
    __typeof__(slirp_add_hostfwd) *add_hostfwd;
    __typeof__(slirp_pollfds_fill) *pollfds_fill;
    __typeof__(slirp_pollfds_poll) *pollfds_poll;
};

/* The loaded table (thread-safe, loaded once), or NULL with `error` set (EXIT_STATUS_FAILURE). */
const struct slirp_library *slirp_library_get(struct error *error);

#endif
