#ifndef KESTREL_UTIL_HOST_MEMORY_H
#define KESTREL_UTIL_HOST_MEMORY_H

/*
 * How much memory the host can still give a new process, from
 * /proc/meminfo: MemAvailable (the kernel's own estimate of what can be
 * allocated without swapping, page cache it can drop included) and
 * SwapFree. kestrel refuses a --memory larger than their sum unless the
 * user asks to overcommit.
 */

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct host_memory {
    uint64_t available_kib; /* MemAvailable */
    uint64_t swap_free_kib; /* SwapFree; 0 when the line is absent */
};

/*
 * Parses meminfo text (not NUL-terminated; `length` bytes). Lines it does
 * not need are skipped. Fails with -1 when MemAvailable is missing (kernels
 * before 3.14), when a needed line is malformed or its value overflows, or
 * when a needed line appears twice.
 */
int host_memory_parse_meminfo(const char *text, size_t length, struct host_memory *memory);

/* Reads /proc/meminfo once and parses it; status 1 on failure. */
int host_memory_read(struct host_memory *memory, struct error *error);

#endif
