#ifndef KESTREL_MEM_GUEST_MEMORY_H
#define KESTREL_MEM_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Guest RAM: a few regions of anonymous memory, each mapped at a guest
 * physical address, with holes between them (the 32-bit MMIO hole).
 *
 * This is the only module that turns a guest address into a host pointer.
 * gpa_to_hva() succeeds only when the whole range [gpa, gpa+len) lies in one
 * region, and its arithmetic cannot wrap.
 */

enum { GUEST_MEMORY_MAX_REGIONS = 8 };

/* Start of the 32-bit MMIO hole (devices, LAPIC, IOAPIC) and of high RAM. */
#define GUEST_MMIO_HOLE_START 0xC0000000ull
#define GUEST_HIGH_RAM_START  0x100000000ull
/* Guest RAM's host mappings start on this boundary (a transparent huge page; guest_memory.c). */
#define GUEST_MEMORY_HUGE_PAGE_SIZE 0x200000ull

struct guest_memory_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
};

struct guest_memory {
    struct guest_memory_region regions[GUEST_MEMORY_MAX_REGIONS];
    unsigned region_count;
};

/*
 * Lays out `ram_size` bytes of RAM for a PC: [0, min(ram_size, hole)) and the
 * remainder from 4 GiB up. Each region is mapped on a 2 MiB boundary and
 * advised MADV_HUGEPAGE whole (transparent huge pages where the host allows),
 * without touching it. Fails with EXIT_STATUS_USAGE when ram_size is 0 or
 * the host cannot map it.
 */
int guest_memory_create(struct guest_memory *memory, uint64_t ram_size, struct error *error);

/*
 * The same layout from the host's default hugetlbfs pool (MAP_HUGETLB):
 * every page is reserved when mapped, so a pool that cannot hold the RAM
 * fails here (status 2) rather than with SIGBUS when the guest touches it.
 * `ram_size` and the 3 GiB boundary must be whole huge pages.
 */
int guest_memory_create_huge(struct guest_memory *memory, uint64_t ram_size, struct error *error);

/* Adds one region at an arbitrary page-aligned gpa (tests and the harness). */
int guest_memory_add_region(struct guest_memory *memory, uint64_t gpa, uint64_t size, struct error *error);

void guest_memory_destroy(struct guest_memory *memory);

uint64_t guest_memory_total_size(const struct guest_memory *memory);

/* Host pointer for [gpa, gpa+len), or NULL unless the range lies inside one region. */
static inline void *gpa_to_hva(const struct guest_memory *memory, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < memory->region_count; i++) {
        const struct guest_memory_region *region = &memory->regions[i];
        if (gpa >= region->gpa) {
            uint64_t offset = gpa - region->gpa;
            if (offset <= region->size && len <= region->size - offset)
                return region->host + offset;
        }
    }
    return NULL;
}

/*
 * Asks for transparent huge pages behind [gpa, gpa+len) (rounded out to whole
 * 4 KiB pages) before the VMM fills a large range itself, such as a vmlinux's
 * segments: a 2 MiB fault instead of 512 small ones (docs/benchmarks.md). Only
 * advice: false when the range is not in RAM or the host refused.
 */
bool guest_memory_advise_huge_pages(const struct guest_memory *memory, uint64_t gpa, uint64_t len);

/*
 * Makes [gpa, gpa+len) read as zero: whole pages are dropped (guest RAM is
 * private anonymous memory, so they read back as zero and cost no host memory
 * until written; on RAM never touched this is almost free), partial pages at
 * the ends are cleared. -1 when the range is not in RAM.
 */
int guest_memory_zero(const struct guest_memory *memory, uint64_t gpa, uint64_t len);

/* Copy between guest memory and a host buffer; -1 when the range is not in RAM. */
int guest_memory_read(const struct guest_memory *memory, uint64_t gpa, void *destination, uint64_t len);
int guest_memory_write(const struct guest_memory *memory, uint64_t gpa, const void *source, uint64_t len);

#endif
