#include "devices/virtio_net_thread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "sandbox/sandbox.h"

/* The sooner of two poll(2) timeouts, -1 meaning none. */
static int sooner(int first, int second)
{
    if (first < 0)
        return second;
    if (second < 0)
        return first;
    return first < second ? first : second;
}

static void *thread_main(void *opaque)
{
    sandbox_thread_enter(THREAD_KIND_NET);
    struct virtio_net_thread *thread = opaque;
    struct pollfd *fds = thread->fds;
    uint64_t pass = 0;
    while (!atomic_load_explicit(&thread->stopping, memory_order_acquire)) {
        pthread_mutex_lock(&thread->pass_lock);
        uint64_t requested = thread->pass_requested;
        pthread_mutex_unlock(&thread->pass_lock);
        unsigned count = 0;
        fds[count++] = (struct pollfd){.fd = thread->wake_fd, .events = POLLIN};
        int timeout = -1;
        for (unsigned i = 0; i < thread->pair_count; i++) {
            struct virtio_net_pair *pair = thread->pairs[i];
            virtio_net_pair_serve(pair);
            int pair_timeout;
            thread->first_fd[i] = count;
            count += virtio_net_pair_poll_fill(pair, fds + count, &pair_timeout);
            timeout = sooner(timeout, pair_timeout);
        }
        if (requested != pass) {
            pass = requested;
            pthread_mutex_lock(&thread->pass_lock);
            thread->pass_done = pass;
            pthread_cond_broadcast(&thread->pass_done_changed);
            pthread_mutex_unlock(&thread->pass_lock);
        }
        if (thread_pause_requested(&thread->pause)) {
            thread_pause_park(&thread->pause, &thread->stopping);
            continue; /* the pairs may have more to do, and the fds above are from before the pause */
        }
        if (poll(fds, count, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("virtio-net: an I/O thread stops: poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents) {
            eventfd_t value;
            (void)eventfd_read(thread->wake_fd, &value);
        }
        for (unsigned i = 0; i < thread->pair_count; i++)
            virtio_net_pair_poll_dispatch(thread->pairs[i], fds + thread->first_fd[i]);
    }
    thread_pause_exit(&thread->pause);
    pthread_mutex_lock(&thread->pass_lock);
    thread->exited = true;
    pthread_cond_broadcast(&thread->pass_done_changed);
    pthread_mutex_unlock(&thread->pass_lock);
    return NULL;
}

static void release(struct virtio_net_thread *thread)
{
    thread_pause_destroy(&thread->pause);
    pthread_cond_destroy(&thread->pass_done_changed);
    pthread_mutex_destroy(&thread->pass_lock);
    free(thread->fds);
    thread->fds = NULL;
    if (thread->wake_fd >= 0)
        close(thread->wake_fd);
    thread->wake_fd = -1;
}

int virtio_net_thread_start(struct virtio_net_thread *thread, struct virtio_net_pair *const *pairs, unsigned count,
                            struct error *error)
{
    memset(thread, 0, sizeof(*thread));
    thread->wake_fd = -1;
    if (count == 0 || count > VIRTIO_NET_THREAD_MAX_PAIRS)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: an I/O thread for %u queue pairs", count);
    memcpy(thread->pairs, pairs, count * sizeof(*pairs));
    thread->pair_count = count;
    atomic_init(&thread->stopping, false);
    pthread_mutex_init(&thread->pass_lock, NULL);
    pthread_cond_init(&thread->pass_done_changed, NULL);
    if (thread_pause_init(&thread->pause, error) < 0) {
        pthread_cond_destroy(&thread->pass_done_changed);
        pthread_mutex_destroy(&thread->pass_lock);
        return -1;
    }
    thread->fds = calloc(1 + (size_t)count * VIRTIO_NET_PAIR_MAX_POLL_FDS, sizeof(*thread->fds));
    if (!thread->fds) {
        release(thread);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: out of memory for an I/O thread");
    }
    thread->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (thread->wake_fd < 0) {
        int saved = errno;
        release(thread);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: eventfd: %s", strerror(saved));
    }
    int result = pthread_create(&thread->thread, NULL, thread_main, thread);
    if (result != 0) {
        release(thread);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: cannot start an I/O thread: %s",
                         strerror(result));
    }
    thread->running = true;
    return 0;
}

static void wake(struct virtio_net_thread *thread)
{
    if (eventfd_write(thread->wake_fd, 1) < 0)
        log_error("virtio-net: cannot wake an I/O thread: %s", strerror(errno));
}

void virtio_net_thread_settle(struct virtio_net_thread *thread)
{
    if (!thread->running)
        return;
    pthread_mutex_lock(&thread->pass_lock);
    uint64_t target = ++thread->pass_requested;
    pthread_mutex_unlock(&thread->pass_lock);
    wake(thread);
    pthread_mutex_lock(&thread->pass_lock);
    while (thread->pass_done < target && !thread->exited)
        pthread_cond_wait(&thread->pass_done_changed, &thread->pass_lock);
    pthread_mutex_unlock(&thread->pass_lock);
}

void virtio_net_thread_stop(struct virtio_net_thread *thread)
{
    if (!thread->running)
        return;
    atomic_store_explicit(&thread->stopping, true, memory_order_release);
    wake(thread);
    thread_pause_wake(&thread->pause);
    pthread_join(thread->thread, NULL);
    thread->running = false;
    release(thread);
}

void virtio_net_thread_pause(struct virtio_net_thread *thread)
{
    if (thread->running)
        thread_pause_hold(&thread->pause, thread->wake_fd, "virtio-net");
}

void virtio_net_thread_resume(struct virtio_net_thread *thread)
{
    if (thread->running)
        thread_pause_release(&thread->pause);
}
