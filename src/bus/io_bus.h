#ifndef KESTREL_BUS_IO_BUS_H
#define KESTREL_BUS_IO_BUS_H

/*
 * Dispatch of port I/O and MMIO exits to device models by address range.
 * One io_bus for PIO and one for MMIO. Ranges are registered before the vCPUs
 * start and never change afterwards, so lookups need no lock; each device
 * locks its own state. Each range counts its exits for --stats.
 * Reads of an address no device claims return all ones; writes are dropped.
 */

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

struct io_device_ops {
    /* `offset` is relative to the range's base; `size` is 1, 2, 4 or 8. */
    void (*read)(void *device, uint64_t offset, void *data, uint32_t size);
    void (*write)(void *device, uint64_t offset, const void *data, uint32_t size);
};

struct io_bus_range {
    uint64_t base;
    uint64_t length;
    const char *name;
    const struct io_device_ops *ops;
    void *device;
    atomic_uint_fast64_t exit_count;
};

enum { IO_BUS_MAX_RANGES = 64 };

struct io_bus {
    const char *name; /* "pio" or "mmio", for --stats */
    struct io_bus_range ranges[IO_BUS_MAX_RANGES];
    unsigned range_count;
    atomic_uint_fast64_t unclaimed_count;
};

void io_bus_init(struct io_bus *bus, const char *name);
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t length, const char *name,
                    const struct io_device_ops *ops, void *device, struct error *error);
void io_bus_read(struct io_bus *bus, uint64_t address, void *data, uint32_t size);
void io_bus_write(struct io_bus *bus, uint64_t address, const void *data, uint32_t size);

/* For --stats: one line per range (name, range, exit count), busiest first,
 * then the unclaimed count. */
void io_bus_print_stats(struct io_bus *bus, FILE *out);

#endif
