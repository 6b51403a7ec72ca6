#include "mem/guest_memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "util/checked_math.h"

static bool regions_overlap(const struct guest_memory_region *region, uint64_t gpa, uint64_t size)
{
    uint64_t region_end = region->gpa + region->size;
    uint64_t end = gpa + size;
    return gpa < region_end && region->gpa < end;
}

static void *map_hugetlb(uint64_t size)
{
    return mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
}

/*
 * Ordinary RAM (NORESERVE: only pages the guest uses cost host memory), on a
 * 2 MiB boundary and advised MADV_HUGEPAGE as a whole, so that wherever the
 * host allows transparent huge pages (enabled "always" or "madvise") every
 * fault of guest RAM, the VMM's own loading included, takes a 2 MiB page:
 * 512 times fewer faults, and the guest's nested page tables map it with
 * large entries. Nothing is touched here; pages come when first written.
 * Where THP is off the advice is refused and the mapping is an ordinary one.
 */
static void *map_transparent_huge(uint64_t size)
{
    const uint64_t huge = GUEST_MEMORY_HUGE_PAGE_SIZE;
    uint64_t padded;
    if (!checked_add_u64(size, huge, &padded) || padded > SIZE_MAX)
        return MAP_FAILED;
    uint8_t *start = mmap(NULL, (size_t)padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                          -1, 0);
    if (start == MAP_FAILED)
        return MAP_FAILED;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)start + huge - 1) & ~(uintptr_t)(huge - 1));
    size_t head = (size_t)(aligned - start);
    if (head)
        munmap(start, head);
    munmap(aligned + size, (size_t)(huge - head));
    madvise(aligned, (size_t)size, MADV_HUGEPAGE);
    return aligned;
}

/* `map_flags`: MAP_NORESERVE for ordinary RAM, MAP_HUGETLB for hugetlbfs (whose pages are reserved at mmap). */
static int add_region(struct guest_memory *memory, uint64_t gpa, uint64_t size, int map_flags, struct error *error)
{
    uint64_t end;
    if (size == 0)
        return error_set(error, EXIT_STATUS_USAGE, "guest memory region of size 0");
    if ((gpa | size) & 0xfff)
        return error_set(error, EXIT_STATUS_USAGE, "guest memory region 0x%llx+0x%llx is not page aligned",
                         (unsigned long long)gpa, (unsigned long long)size);
    if (!checked_add_u64(gpa, size, &end))
        return error_set(error, EXIT_STATUS_USAGE, "guest memory region 0x%llx+0x%llx wraps the address space",
                         (unsigned long long)gpa, (unsigned long long)size);
    if (memory->region_count >= GUEST_MEMORY_MAX_REGIONS)
        return error_set(error, EXIT_STATUS_FAILURE, "too many guest memory regions");
    for (unsigned i = 0; i < memory->region_count; i++) {
        if (regions_overlap(&memory->regions[i], gpa, size))
            return error_set(error, EXIT_STATUS_FAILURE, "guest memory regions overlap at 0x%llx",
                             (unsigned long long)gpa);
    }
    if (size > SIZE_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "guest memory size %llu cannot be mapped on this host",
                         (unsigned long long)size);
    void *host = (map_flags & MAP_HUGETLB) ? map_hugetlb(size) : map_transparent_huge(size);
    if (host == MAP_FAILED)
        return error_set(error, EXIT_STATUS_USAGE, "cannot map %llu MiB of guest memory on this host: %s",
                         (unsigned long long)(size >> 20), strerror(errno));
    madvise(host, (size_t)size, MADV_DONTDUMP);
    memory->regions[memory->region_count++] = (struct guest_memory_region){
        .gpa = gpa,
        .size = size,
        .host = host,
    };
    return 0;
}

int guest_memory_add_region(struct guest_memory *memory, uint64_t gpa, uint64_t size, struct error *error)
{
    return add_region(memory, gpa, size, MAP_NORESERVE, error);
}

static int create(struct guest_memory *memory, uint64_t ram_size, int map_flags, struct error *error)
{
    memset(memory, 0, sizeof(*memory));
    if (ram_size == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--memory must be greater than 0");
    if (ram_size & 0xfff)
        return error_set(error, EXIT_STATUS_USAGE, "--memory must be a multiple of 4 KiB");
    uint64_t low = ram_size < GUEST_MMIO_HOLE_START ? ram_size : GUEST_MMIO_HOLE_START;
    if (add_region(memory, 0, low, map_flags, error) < 0)
        return -1;
    if (ram_size > low) {
        uint64_t high = ram_size - low;
        uint64_t end;
        if (!checked_add_u64(GUEST_HIGH_RAM_START, high, &end)) {
            guest_memory_destroy(memory);
            return error_set(error, EXIT_STATUS_USAGE, "--memory %llu is too large",
                             (unsigned long long)ram_size);
        }
        if (add_region(memory, GUEST_HIGH_RAM_START, high, map_flags, error) < 0) {
            guest_memory_destroy(memory);
            return -1;
        }
    }
    return 0;
}

int guest_memory_create(struct guest_memory *memory, uint64_t ram_size, struct error *error)
{
    return create(memory, ram_size, MAP_NORESERVE, error);
}

int guest_memory_create_huge(struct guest_memory *memory, uint64_t ram_size, struct error *error)
{
    return create(memory, ram_size, MAP_HUGETLB, error);
}

bool guest_memory_advise_huge_pages(const struct guest_memory *memory, uint64_t gpa, uint64_t len)
{
    const uint64_t page = 4096;
    uint64_t start = gpa & ~(page - 1);
    uint64_t end;
    if (len == 0 || !checked_add_u64(gpa, len, &end) || !checked_add_u64(end, page - 1, &end))
        return false;
    end &= ~(page - 1);
    uint8_t *host = gpa_to_hva(memory, start, end - start);
    return host && madvise(host, (size_t)(end - start), MADV_HUGEPAGE) == 0;
}

int guest_memory_zero(const struct guest_memory *memory, uint64_t gpa, uint64_t len)
{
    const uint64_t page = 4096;
    uint8_t *host = gpa_to_hva(memory, gpa, len);
    if (!host)
        return -1;
    if (len == 0)
        return 0;
    /* Regions start on page boundaries, so the guest's page boundaries are the host's. */
    uint64_t head = (page - (gpa & (page - 1))) & (page - 1);
    if (head >= len) {
        memset(host, 0, (size_t)len);
        return 0;
    }
    uint64_t middle = (len - head) & ~(page - 1);
    memset(host, 0, (size_t)head);
    if (middle && madvise(host + head, (size_t)middle, MADV_DONTNEED) < 0)
        memset(host + head, 0, (size_t)middle);
    memset(host + head + middle, 0, (size_t)(len - head - middle));
    return 0;
}

void guest_memory_destroy(struct guest_memory *memory)
{
    for (unsigned i = 0; i < memory->region_count; i++)
        munmap(memory->regions[i].host, (size_t)memory->regions[i].size);
    memory->region_count = 0;
}

uint64_t guest_memory_total_size(const struct guest_memory *memory)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < memory->region_count; i++)
        total += memory->regions[i].size;
    return total;
}

int guest_memory_read(const struct guest_memory *memory, uint64_t gpa, void *destination, uint64_t len)
{
    const void *source = gpa_to_hva(memory, gpa, len);
    if (!source)
        return -1;
    memcpy(destination, source, (size_t)len);
    return 0;
}

int guest_memory_write(const struct guest_memory *memory, uint64_t gpa, const void *source, uint64_t len)
{
    void *destination = gpa_to_hva(memory, gpa, len);
    if (!destination)
        return -1;
    memcpy(destination, source, (size_t)len);
    return 0;
}
