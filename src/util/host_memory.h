#ifndef KESTREL_UTIL_HOST_MEMORY_H
#define KESTREL_UTIL_HOST_MEMORY_H

/*
 * How much memory the host can still give a new process, from
 * /proc/meminfo: MemAvailable (the kernel's own estimate of what can be
 * allocated without swapping, page cache it can drop included) and
 * SwapFree, and the default huge page pool. kestrel refuses a --memory
 * larger than the first two's sum unless the user asks to overcommit, and a
 * hugepages=on guest larger than the pool's unreserved free pages.
 */

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct host_memory {
    uint64_t available_kib;      /* MemAvailable */
    uint64_t swap_free_kib;      /* SwapFree; 0 when the line is absent */
    uint64_t huge_pages_free;    /* HugePages_Free: the default size's pool, reserved pages included */
    uint64_t huge_pages_reserved; /* HugePages_Rsvd: promised to mappings, not yet faulted in */
    uint64_t huge_page_size_kib; /* Hugepagesize; 0 when the kernel has no hugetlbfs */
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
