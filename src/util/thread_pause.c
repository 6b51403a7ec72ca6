#include "util/thread_pause.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "util/log.h"

int thread_pause_init(struct thread_pause *pause, struct error *error)
{
    memset(pause, 0, sizeof(*pause));
    atomic_init(&pause->requested, false);
    int result = pthread_mutex_init(&pause->lock, NULL);
    if (result == 0) {
        result = pthread_cond_init(&pause->changed, NULL);
        if (result != 0)
            pthread_mutex_destroy(&pause->lock);
    }
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "pause handshake: %s", strerror(result));
    return 0;
}

void thread_pause_destroy(struct thread_pause *pause)
{
    pthread_cond_destroy(&pause->changed);
    pthread_mutex_destroy(&pause->lock);
}

void thread_pause_request(struct thread_pause *pause)
{
    atomic_store_explicit(&pause->requested, true, memory_order_release);
}

void thread_pause_wait_parked(struct thread_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    while (!pause->parked && !pause->exited)
        pthread_cond_wait(&pause->changed, &pause->lock);
    pthread_mutex_unlock(&pause->lock);
}

void thread_pause_release(struct thread_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    atomic_store_explicit(&pause->requested, false, memory_order_release);
    pthread_cond_broadcast(&pause->changed);
    pthread_mutex_unlock(&pause->lock);
}

void thread_pause_wake(struct thread_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    pthread_cond_broadcast(&pause->changed);
    pthread_mutex_unlock(&pause->lock);
}

void thread_pause_park(struct thread_pause *pause, const atomic_bool *stopping)
{
    pthread_mutex_lock(&pause->lock);
    pause->parked = true;
    pthread_cond_broadcast(&pause->changed);
    while (atomic_load_explicit(&pause->requested, memory_order_acquire) &&
           !atomic_load_explicit(stopping, memory_order_acquire))
        pthread_cond_wait(&pause->changed, &pause->lock);
    pause->parked = false;
    pthread_mutex_unlock(&pause->lock);
}

void thread_pause_exit(struct thread_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    pause->exited = true;
    pthread_cond_broadcast(&pause->changed);
    pthread_mutex_unlock(&pause->lock);
}

void thread_pause_hold(struct thread_pause *pause, int wake_fd, const char *who)
{
    thread_pause_request(pause);
    if (eventfd_write(wake_fd, 1) < 0)
        log_error("%s: cannot wake a thread to pause it: %s", who, strerror(errno));
    thread_pause_wait_parked(pause);
}
