#ifndef KESTREL_UTIL_SHARED_LIBRARY_H
#define KESTREL_UTIL_SHARED_LIBRARY_H

/*
 * Loading an optional library with dlopen when a feature first needs it,
 * instead of linking it: a linked library costs every exec its mapping,
 * relocations and constructors, which for libcurl, libmicrohttpd (GnuTLS),
 * libslirp (GLib) and the four decompressors was most of kestrel's startup
 * and a third of its resident memory (docs/benchmarks.md, "Start time").
 *
 * A user keeps, per library, a table of function pointers, a static list of
 * its symbols pointing into that table, and a struct shared_library made with
 * SHARED_LIBRARY_INIT; shared_library_get() loads it once (thread-safe) and
 * says whether the table is usable. A library that failed stays failed.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct shared_library_symbol {
    const char *name;
    void **slot; /* where the address goes */
};

struct shared_library {
    const char *soname;
    const struct shared_library_symbol *symbols;
    size_t count;
    pthread_mutex_t lock;
    bool tried;
    char problem[160]; /* why it did not load; empty when it did */
};

#define SHARED_LIBRARY_INIT(soname_, symbols_)                                                                  \
    {                                                                                                           \
        .soname = (soname_), .symbols = (symbols_), .count = sizeof(symbols_) / sizeof((symbols_)[0]),         \
        .lock = PTHREAD_MUTEX_INITIALIZER,                                                                      \
    }

/*
 * 0 when every symbol is in its slot (loading the library the first time), or
 * -1 with `error` set to "PURPOSE: why" (EXIT_STATUS_FAILURE). `error` may be NULL.
 */
int shared_library_get(struct shared_library *library, const char *purpose, struct error *error);

/*
 * From now on shared_library_get() loads nothing new (libraries already loaded
 * stay usable): called before the sandbox goes on, since under seccomp a
 * thread's executable mmap would be killed, not refused, and under Landlock the
 * library files are out of reach. A feature first needed later fails with one
 * line instead.
 */
void shared_library_seal(void);

/*
 * dlopen(soname, RTLD_NOW) and every symbol into its slot: 0, or -1 with
 * `problem` saying why and no slot filled (a half-filled table is never
 * used). The library stays loaded.
 */
int shared_library_load(const char *soname, const struct shared_library_symbol *symbols, size_t count,
                        char *problem, size_t problem_size);

#endif
