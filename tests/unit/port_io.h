#ifndef KESTREL_TESTS_UNIT_PORT_IO_H
#define KESTREL_TESTS_UNIT_PORT_IO_H

/* The guest's IN/OUT instructions, as the device tests issue them through an io_bus. */

#include <stdint.h>

#include "bus/io_bus.h"

static inline uint8_t port_in8(struct io_bus *bus, uint16_t port)
{
    uint8_t value = 0;
    io_bus_read(bus, port, &value, 1);
    return value;
}

static inline void port_out8(struct io_bus *bus, uint16_t port, uint8_t value)
{
    io_bus_write(bus, port, &value, 1);
}

static inline uint16_t port_in16(struct io_bus *bus, uint16_t port)
{
    uint16_t value = 0;
    io_bus_read(bus, port, &value, 2);
    return value;
}

static inline void port_out16(struct io_bus *bus, uint16_t port, uint16_t value)
{
    io_bus_write(bus, port, &value, 2);
}

#endif
