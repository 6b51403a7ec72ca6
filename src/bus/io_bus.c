#include "bus/io_bus.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/checked_math.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    atomic_init(&bus->unclaimed_count, 0);
}

/* Last address of a range; the caller has checked length > 0 and no wrap. */
static uint64_t range_last(uint64_t base, uint64_t length)
{
    return base + (length - 1);
}

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t length, const char *name,
                    const struct io_device_ops *ops, void *device, struct error *error)
{
    if (!name)
        name = "?";
    if (length == 0)
        return error_set(error, EXIT_STATUS_FAILURE, "%s bus: range %s has length 0", bus->name, name);
    uint64_t end;
    if (!checked_add_u64(base, length - 1, &end))
        return error_set(error, EXIT_STATUS_FAILURE, "%s bus: range %s at 0x%" PRIx64 " wraps around",
                         bus->name, name, base);
    if (!ops || !ops->read || !ops->write)
        return error_set(error, EXIT_STATUS_FAILURE, "%s bus: range %s has no read/write handlers", bus->name,
                         name);
    if (bus->range_count >= IO_BUS_MAX_RANGES)
        return error_set(error, EXIT_STATUS_FAILURE, "%s bus: too many ranges (max %d) registering %s",
                         bus->name, IO_BUS_MAX_RANGES, name);
    for (unsigned i = 0; i < bus->range_count; i++) {
        const struct io_bus_range *other = &bus->ranges[i];
        uint64_t other_last = range_last(other->base, other->length);
        if (base <= other_last && other->base <= end)
            return error_set(error, EXIT_STATUS_FAILURE,
                             "%s bus: range %s [0x%" PRIx64 "-0x%" PRIx64 "] overlaps %s [0x%" PRIx64
                             "-0x%" PRIx64 "]",
                             bus->name, name, base, end, other->name, other->base, other_last);
    }
    struct io_bus_range *range = &bus->ranges[bus->range_count];
    range->base = base;
    range->length = length;
    range->name = name;
    range->ops = ops;
    range->device = device;
    atomic_init(&range->exit_count, 0);
    bus->range_count++;
    return 0;
}

/* The range wholly containing [address, address+size), or NULL. */
static struct io_bus_range *io_bus_find(struct io_bus *bus, uint64_t address, uint32_t size)
{
    for (unsigned i = 0; i < bus->range_count; i++) {
        struct io_bus_range *range = &bus->ranges[i];
        if (address - range->base < range->length)
            return range_within(address, size, range->base, range->length) ? range : NULL;
    }
    return NULL;
}

static bool io_bus_size_valid(uint32_t size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

void io_bus_read(struct io_bus *bus, uint64_t address, void *data, uint32_t size)
{
    if (!io_bus_size_valid(size)) {
        atomic_fetch_add_explicit(&bus->unclaimed_count, 1, memory_order_relaxed);
        /* Nothing sane to fill for an impossible size; fill at most 8 bytes. */
        if (size)
            memset(data, 0xff, size < 8 ? size : 8);
        return;
    }
    struct io_bus_range *range = io_bus_find(bus, address, size);
    if (!range) {
        atomic_fetch_add_explicit(&bus->unclaimed_count, 1, memory_order_relaxed);
        memset(data, 0xff, size);
        return;
    }
    atomic_fetch_add_explicit(&range->exit_count, 1, memory_order_relaxed);
    /* Devices that fill fewer bytes still return deterministic data. */
    memset(data, 0xff, size);
    range->ops->read(range->device, address - range->base, data, size);
}

void io_bus_write(struct io_bus *bus, uint64_t address, const void *data, uint32_t size)
{
    struct io_bus_range *range = io_bus_size_valid(size) ? io_bus_find(bus, address, size) : NULL;
    if (!range) {
        atomic_fetch_add_explicit(&bus->unclaimed_count, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&range->exit_count, 1, memory_order_relaxed);
    range->ops->write(range->device, address - range->base, data, size);
}

struct range_count {
    const struct io_bus_range *range;
    uint64_t count;
};

static int range_count_compare(const void *a, const void *b)
{
    const struct range_count *left = a, *right = b;
    if (left->count != right->count)
        return left->count < right->count ? 1 : -1;
    if (left->range->base != right->range->base)
        return left->range->base < right->range->base ? -1 : 1;
    return 0;
}

void io_bus_print_stats(struct io_bus *bus, FILE *out)
{
    struct range_count counts[IO_BUS_MAX_RANGES];
    unsigned n = bus->range_count;
    for (unsigned i = 0; i < n; i++) {
        counts[i].range = &bus->ranges[i];
        counts[i].count = atomic_load_explicit(&bus->ranges[i].exit_count, memory_order_relaxed);
    }
    qsort(counts, n, sizeof(counts[0]), range_count_compare);
    for (unsigned i = 0; i < n; i++) {
        const struct io_bus_range *range = counts[i].range;
        fprintf(out, "%s %-18s 0x%08" PRIx64 "-0x%08" PRIx64 " %12" PRIu64 " exits\n", bus->name, range->name,
                range->base, range_last(range->base, range->length), counts[i].count);
    }
    fprintf(out, "%s %-18s %23s %12" PRIu64 " exits\n", bus->name, "(unclaimed)", "",
            (uint64_t)atomic_load_explicit(&bus->unclaimed_count, memory_order_relaxed));
}
