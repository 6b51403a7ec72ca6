#include "harness/echo_pattern.h"

void echo_pattern_fill(const struct iovec *segments, unsigned count, uint8_t seed)
{
    uint64_t position = 0;
    for (unsigned s = 0; s < count; s++) {
        uint8_t *bytes = segments[s].iov_base;
        for (size_t i = 0; i < segments[s].iov_len; i++)
            bytes[i] = echo_pattern_byte(seed, position++);
    }
}

bool echo_pattern_check(const struct iovec *segments, unsigned count, uint8_t seed)
{
    uint64_t position = 0;
    for (unsigned s = 0; s < count; s++) {
        const uint8_t *bytes = segments[s].iov_base;
        for (size_t i = 0; i < segments[s].iov_len; i++) {
            if (bytes[i] != echo_pattern_byte(seed, position++))
                return false;
        }
    }
    return true;
}
