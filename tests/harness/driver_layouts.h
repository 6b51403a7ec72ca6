#ifndef KESTREL_HARNESS_DRIVER_LAYOUTS_H
#define KESTREL_HARNESS_DRIVER_LAYOUTS_H

/* The layout-specific halves of the harness driver; called through virtq_driver.c only. */

#include "harness/virtq_driver.h"

/*
 * Shared ring fields the device reads or writes concurrently are accessed
 * atomically; descriptors and buffers are plain memory ordered by them.
 */
static inline uint16_t ring_load_acquire(const uint16_t *field)
{
    return __atomic_load_n(field, __ATOMIC_ACQUIRE);
}

static inline uint16_t ring_load_relaxed(const uint16_t *field)
{
    return __atomic_load_n(field, __ATOMIC_RELAXED);
}

static inline void ring_store_release(uint16_t *field, uint16_t value)
{
    __atomic_store_n(field, value, __ATOMIC_RELEASE);
}

static inline void ring_store_relaxed(uint16_t *field, uint16_t value)
{
    __atomic_store_n(field, value, __ATOMIC_RELAXED);
}

#if defined(__SANITIZE_THREAD__)
#define HARNESS_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HARNESS_UNDER_TSAN 1
#endif
#endif

/*
 * Linux's virtio_mb(): orders earlier stores before later loads (the
 * publish-then-check-suppression handshake). GCC refuses standalone fences
 * under TSan, so there a locked read-modify-write of a thread-local word does
 * the same job on x86 without creating a happens-before edge between threads
 * (which would hide real races from TSan).
 */
static inline void ring_full_barrier(void)
{
#ifdef HARNESS_UNDER_TSAN
    static __thread unsigned barrier_word;
    __atomic_fetch_add(&barrier_word, 0, __ATOMIC_SEQ_CST);
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* Address of id's indirect table. */
static inline uint64_t driver_indirect_table(const struct virtq_driver *driver, uint16_t id)
{
    return driver->indirect_gpa + (uint64_t)id * VIRTQ_DRIVER_MAX_SEGMENTS * 16;
}

/* Reports a misbehaving device once; the driver then stops reaping. */
int driver_mark_broken(struct virtq_driver *driver, const char *reason);

int driver_split_init(struct virtq_driver *driver, struct guest_allocator *allocator);
int driver_split_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token);
void driver_split_publish(struct virtq_driver *driver);
bool driver_split_kick_prepare(struct virtq_driver *driver);
int driver_split_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written);
void driver_split_disable_callbacks(struct virtq_driver *driver);
bool driver_split_enable_callbacks(struct virtq_driver *driver);
bool driver_split_enable_callbacks_delayed(struct virtq_driver *driver);

int driver_packed_init(struct virtq_driver *driver, struct guest_allocator *allocator);
int driver_packed_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token);
void driver_packed_publish(struct virtq_driver *driver);
bool driver_packed_kick_prepare(struct virtq_driver *driver);
int driver_packed_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written);
void driver_packed_disable_callbacks(struct virtq_driver *driver);
bool driver_packed_enable_callbacks(struct virtq_driver *driver);
bool driver_packed_enable_callbacks_delayed(struct virtq_driver *driver);

#endif
