#ifndef KESTREL_BOOT_INITRD_H
#define KESTREL_BOOT_INITRD_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_memory.h"

/*
 * Where the initrd goes: as high as possible in the RAM below the 32-bit
 * hole (kernels look for it there and it stays clear of the kernel's own
 * decompression and bss), page aligned, ending at or below `limit`, and
 * starting at or above `lowest` (the end of the kernel). False when it does
 * not fit; the caller words the error for its boot protocol.
 */
bool initrd_place(const struct guest_memory *memory, uint64_t size, uint64_t lowest, uint64_t limit,
                  uint64_t *gpa);

#endif
