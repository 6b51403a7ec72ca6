#include "boot/initrd.h"

#include "arch/x86/e820.h"

#define INITRD_ALIGNMENT 0x1000ull

bool initrd_place(const struct guest_memory *memory, uint64_t size, uint64_t lowest, uint64_t limit,
                  uint64_t *gpa)
{
    uint64_t top = e820_low_ram_end(memory);
    if (limit < top)
        top = limit;
    if (size == 0 || size > top)
        return false;
    uint64_t start = (top - size) & ~(INITRD_ALIGNMENT - 1);
    if (start < lowest)
        return false;
    *gpa = start;
    return true;
}
