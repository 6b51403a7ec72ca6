#ifndef KESTREL_UTIL_RELAXED_COUNTER_H
#define KESTREL_UTIL_RELAXED_COUNTER_H

/*
 * Statistics counters with one writer and any number of readers. The writer
 * adds with a relaxed load and a relaxed store rather than an atomic
 * read-modify-write: on x86-64 that is a plain load and store (no locked
 * instruction on the hot path), yet a reader on another thread always sees a
 * whole 64-bit value that only grows. Correct only when one thread at a time
 * writes a given counter (a hand-over between writers must synchronise, as a
 * pthread_join or a thread start does).
 */

#include <stdint.h>

static inline void relaxed_counter_add(uint64_t *counter, uint64_t amount)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + amount, __ATOMIC_RELAXED);
}

static inline void relaxed_counter_set(uint64_t *counter, uint64_t value)
{
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

static inline uint64_t relaxed_counter_read(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
