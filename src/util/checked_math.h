#ifndef KESTREL_UTIL_CHECKED_MATH_H
#define KESTREL_UTIL_CHECKED_MATH_H

#include <stdbool.h>
#include <stdint.h>

/* Every sum or product of guest- or file-controlled values goes through these. */

static inline bool checked_add_u64(uint64_t a, uint64_t b, uint64_t *result)
{
    return !__builtin_add_overflow(a, b, result);
}

static inline bool checked_mul_u64(uint64_t a, uint64_t b, uint64_t *result)
{
    return !__builtin_mul_overflow(a, b, result);
}

/* True when [start, start+len) lies inside [base, base+size), without overflow. */
static inline bool range_within(uint64_t start, uint64_t len, uint64_t base, uint64_t size)
{
    if (start < base)
        return false;
    uint64_t offset = start - base;
    return offset <= size && len <= size - offset;
}

static inline uint64_t align_up_u64(uint64_t value, uint64_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

#endif
