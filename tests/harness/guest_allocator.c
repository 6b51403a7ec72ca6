#include "harness/guest_allocator.h"

#include <string.h>

#include "util/checked_math.h"

enum { HARNESS_LOW_RAM_START = 0x100000 };

int harness_guest_memory_create(struct guest_memory *memory, uint64_t region_size, struct error *error)
{
    memset(memory, 0, sizeof(*memory));
    if (guest_memory_add_region(memory, HARNESS_LOW_RAM_START, region_size, error) < 0)
        return -1;
    if (guest_memory_add_region(memory, GUEST_HIGH_RAM_START, region_size, error) < 0) {
        guest_memory_destroy(memory);
        return -1;
    }
    return 0;
}

void guest_allocator_init(struct guest_allocator *allocator, const struct guest_memory *memory)
{
    memset(allocator, 0, sizeof(*allocator));
    allocator->memory = memory;
}

uint64_t guest_allocator_alloc_in_region(struct guest_allocator *allocator, unsigned region, uint64_t size,
                                         uint64_t alignment)
{
    if (region >= allocator->memory->region_count || alignment == 0 || (alignment & (alignment - 1)))
        return GUEST_ALLOCATION_FAILED;
    const struct guest_memory_region *target = &allocator->memory->regions[region];
    uint64_t start = align_up_u64(target->gpa + allocator->used[region], alignment);
    if (!range_within(start, size, target->gpa, target->size))
        return GUEST_ALLOCATION_FAILED;
    allocator->used[region] = start + size - target->gpa;
    memset(target->host + (start - target->gpa), 0, size);
    return start;
}

uint64_t guest_allocator_alloc(struct guest_allocator *allocator, uint64_t size, uint64_t alignment)
{
    unsigned count = allocator->memory->region_count;
    for (unsigned tried = 0; tried < count; tried++) {
        unsigned region = (allocator->current_region + tried) % count;
        uint64_t gpa = guest_allocator_alloc_in_region(allocator, region, size, alignment);
        if (gpa != GUEST_ALLOCATION_FAILED) {
            allocator->current_region = region;
            return gpa;
        }
    }
    return GUEST_ALLOCATION_FAILED;
}
