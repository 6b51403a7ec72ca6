#ifndef KESTREL_UTIL_LITTLE_ENDIAN_H
#define KESTREL_UTIL_LITTLE_ENDIAN_H

/*
 * Little-endian fields of 1 to 8 bytes in a byte buffer (ACPI tables, trace
 * files), written and read byte by byte so that neither the host's byte
 * order nor the buffer's alignment matters.
 */

#include <stdint.h>

static inline void little_endian_put(uint8_t *out, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

static inline uint64_t little_endian_get(const uint8_t *in, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return value;
}

#endif
