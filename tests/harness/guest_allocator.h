#ifndef KESTREL_HARNESS_GUEST_ALLOCATOR_H
#define KESTREL_HARNESS_GUEST_ALLOCATOR_H

/*
 * Guest-address allocation for the test harness: the simulated guest's
 * "kernel" hands out ring and buffer memory from here. A bump allocator per
 * region is enough, because tests allocate everything up front and throw the
 * whole memory away at the end.
 */

#include <stdint.h>

#include "mem/guest_memory.h"

#define GUEST_ALLOCATION_FAILED UINT64_MAX

struct guest_allocator {
    const struct guest_memory *memory;
    uint64_t used[GUEST_MEMORY_MAX_REGIONS]; /* bytes handed out from the start of each region */
    unsigned current_region;                 /* where guest_allocator_alloc looks first */
};

/*
 * Creates a guest memory of two regions of `region_size` bytes each with a
 * hole between them (low RAM at 1 MiB, high RAM at 4 GiB), so one chain can
 * have buffers on both sides of the hole the way a real guest's can.
 */
int harness_guest_memory_create(struct guest_memory *memory, uint64_t region_size, struct error *error);

void guest_allocator_init(struct guest_allocator *allocator, const struct guest_memory *memory);

/* `size` bytes aligned to `alignment` (a power of two), zeroed; GUEST_ALLOCATION_FAILED when no region has room. */
uint64_t guest_allocator_alloc(struct guest_allocator *allocator, uint64_t size, uint64_t alignment);

/* The same, but only from region `region` (index into memory->regions). */
uint64_t guest_allocator_alloc_in_region(struct guest_allocator *allocator, unsigned region, uint64_t size,
                                         uint64_t alignment);

#endif
