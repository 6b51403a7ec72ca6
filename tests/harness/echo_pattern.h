#ifndef KESTREL_HARNESS_ECHO_PATTERN_H
#define KESTREL_HARNESS_ECHO_PATTERN_H

/*
 * The data contract between the harness driver and its echo device.
 *
 * A request's readable bytes, taken in chain order as one stream, are
 * echo_pattern_byte(seed, i) with the seed stored as byte 0, so the device can
 * check them without knowing the request. The device answers by filling every
 * writable byte j with echo_pattern_byte(echo_reply_seed(...), j) and reports
 * all of them written. A segment read or written at the wrong address, in the
 * wrong order, or with the wrong length breaks the pattern.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Byte i of the stream started by `seed` (byte 0 is the seed itself). */
static inline uint8_t echo_pattern_byte(uint8_t seed, uint64_t index)
{
    if (index == 0)
        return seed;
    uint32_t mixed = (uint32_t)index * 0x9E3779B1u + (uint32_t)(index >> 32) * 0x85EBCA77u + seed * 0xC2B2AE3Du;
    return (uint8_t)(mixed >> 24);
}

/* Seed of the reply: depends on the request's readable seed and its readable length. */
static inline uint8_t echo_reply_seed(bool has_readable, uint8_t readable_seed, uint64_t readable_bytes)
{
    return (uint8_t)((has_readable ? readable_seed : 0x3c) ^ 0xa5 ^ (uint8_t)(readable_bytes * 7));
}

/* Fills segments with the stream of `seed`, continuing the byte count across segments. */
void echo_pattern_fill(const struct iovec *segments, unsigned count, uint8_t seed);

/* True when segments hold the stream of `seed`. */
bool echo_pattern_check(const struct iovec *segments, unsigned count, uint8_t seed);

#endif
