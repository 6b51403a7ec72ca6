#include "arch/x86/e820.h"

#include "arch/x86/layout.h"

/* Low RAM must reach past 1 MiB: the kernel loads above it and the map splits there. */
#define E820_HIGH_MEMORY_START 0x100000ull

static void e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0 || map->count >= E820_MAP_MAX_ENTRIES)
        return;
    map->entries[map->count++] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
}

/* Insertion sort by address: at most a dozen entries. */
static void e820_sort(struct e820_map *map)
{
    for (unsigned i = 1; i < map->count; i++) {
        struct e820_entry entry = map->entries[i];
        unsigned j = i;
        for (; j > 0 && map->entries[j - 1].addr > entry.addr; j--)
            map->entries[j] = map->entries[j - 1];
        map->entries[j] = entry;
    }
}

uint64_t e820_low_ram_end(const struct guest_memory *memory)
{
    for (unsigned i = 0; i < memory->region_count; i++) {
        if (memory->regions[i].gpa == 0)
            return memory->regions[i].size;
    }
    return 0;
}

int e820_build(const struct guest_memory *memory, struct e820_map *map, struct error *error)
{
    map->count = 0;
    uint64_t low_end = e820_low_ram_end(memory);
    if (low_end <= E820_HIGH_MEMORY_START)
        return error_set(error, EXIT_STATUS_USAGE,
                         "guest memory must include RAM from 0 to above 1 MiB (low RAM ends at 0x%llx)",
                         (unsigned long long)low_end);

    e820_add(map, 0, LAYOUT_EBDA_START, E820_TYPE_RAM);
    /* EBDA, VGA hole, option ROMs and BIOS: never RAM to a PC guest; kestrel's ACPI tables live at the top. */
    e820_add(map, LAYOUT_EBDA_START, E820_HIGH_MEMORY_START - LAYOUT_EBDA_START, E820_TYPE_RESERVED);
    e820_add(map, E820_HIGH_MEMORY_START, low_end - E820_HIGH_MEMORY_START, E820_TYPE_RAM);

    /* The remaining regions in address order, so the map is sorted as firmware maps are. */
    uint64_t previous = 0;
    for (;;) {
        const struct guest_memory_region *next = NULL;
        for (unsigned i = 0; i < memory->region_count; i++) {
            const struct guest_memory_region *region = &memory->regions[i];
            if (region->gpa > previous && (!next || region->gpa < next->gpa))
                next = region;
        }
        if (!next)
            break;
        e820_add(map, next->gpa, next->size, E820_TYPE_RAM);
        previous = next->gpa;
    }
    /* Linux ignores an MCFG area that the firmware's map does not reserve. */
    e820_add(map, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
    e820_sort(map);
    return 0;
}

uint64_t e820_ram_end(const struct guest_memory *memory)
{
    uint64_t end = 0;
    for (unsigned i = 0; i < memory->region_count; i++) {
        uint64_t region_end = memory->regions[i].gpa + memory->regions[i].size;
        if (region_end > end)
            end = region_end;
    }
    return end;
}
