#ifndef KESTREL_UTIL_THREAD_PAUSE_H
#define KESTREL_UTIL_THREAD_PAUSE_H

/*
 * The handshake that parks one worker thread (a virtio-blk I/O thread, a
 * virtio-net queue pair) for a VM pause. The controller requests, wakes the
 * thread its own way and waits until it is parked; the thread looks at the
 * request where it is at a clean point (nothing half done), parks, and goes
 * on when released or when it is being stopped.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "util/error.h"

struct thread_pause {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    atomic_bool requested;
    bool parked;
    bool exited; /* the thread is gone: nothing to wait for */
};

int thread_pause_init(struct thread_pause *pause, struct error *error);
void thread_pause_destroy(struct thread_pause *pause);

/* Controller: ask; then wake the thread; then wait until it parked (or exited). */
void thread_pause_request(struct thread_pause *pause);
void thread_pause_wait_parked(struct thread_pause *pause);
/* All three, for a thread that an eventfd write wakes; `who` names it in the log line of a failed wake. */
void thread_pause_hold(struct thread_pause *pause, int wake_fd, const char *who);
void thread_pause_release(struct thread_pause *pause);
/* Stopping a paused thread: wakes it; it sees its stop flag and returns from thread_pause_park. */
void thread_pause_wake(struct thread_pause *pause);

/* Worker: cheap check, then park until released or `stopping` is set. */
static inline bool thread_pause_requested(struct thread_pause *pause)
{
    return atomic_load_explicit(&pause->requested, memory_order_acquire);
}
void thread_pause_park(struct thread_pause *pause, const atomic_bool *stopping);
/* Worker, on its way out: a pause waiting for it returns. */
void thread_pause_exit(struct thread_pause *pause);

#endif
