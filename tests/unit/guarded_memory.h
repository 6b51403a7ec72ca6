#ifndef KESTREL_TESTS_GUARDED_MEMORY_H
#define KESTREL_TESTS_GUARDED_MEMORY_H

/*
 * Guarded guest memory for virtqueue tests and fuzzers: each region sits
 * between PROT_NONE pages, so a device access one byte outside RAM faults
 * instead of silently landing in a neighbouring host mapping.
 */

#include <assert.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mem/guest_memory.h"

enum { GUARDED_PAGE = 4096 };

/* Adds a region at `gpa` with a guard page on each side; aborts on failure (tests only). */
static inline void guarded_memory_add(struct guest_memory *memory, uint64_t gpa, uint64_t size)
{
    assert(memory->region_count < GUEST_MEMORY_MAX_REGIONS);
    uint8_t *reservation = mmap(NULL, size + 2 * GUARDED_PAGE, PROT_NONE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert(reservation != MAP_FAILED);
    int status = mprotect(reservation + GUARDED_PAGE, size, PROT_READ | PROT_WRITE);
    assert(status == 0);
    (void)status;
    memory->regions[memory->region_count++] = (struct guest_memory_region){
        .gpa = gpa,
        .size = size,
        .host = reservation + GUARDED_PAGE,
    };
}

static inline void guarded_memory_destroy(struct guest_memory *memory)
{
    for (unsigned i = 0; i < memory->region_count; i++)
        munmap(memory->regions[i].host - GUARDED_PAGE, memory->regions[i].size + 2 * GUARDED_PAGE);
    memory->region_count = 0;
}

#endif
