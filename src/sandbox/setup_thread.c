#include "sandbox/sandbox.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/*
 * The device set-up thread. A vCPU's filter holds KVM_RUN and the few calls of
 * device emulation; starting a device (io_uring rings, eventfds, vhost set-up,
 * its I/O threads) needs far more, and a thread created by a vCPU could never
 * do more than the vCPU's list allows. So a vCPU hands that work here and
 * waits: one request at a time, served in order.
 */
struct setup_request {
    int (*work)(void *argument);
    void *argument;
    int result;
    bool done;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t thread;
    bool running;
    bool stopping;
    struct setup_request *pending; /* the one request waiting to be served; NULL: none */
} setup = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void *setup_thread_main(void *unused)
{
    (void)unused;
    sandbox_thread_enter(THREAD_KIND_VMM);
    pthread_mutex_lock(&setup.lock);
    for (;;) {
        while (!setup.pending && !setup.stopping)
            pthread_cond_wait(&setup.changed, &setup.lock);
        if (!setup.pending)
            break;
        struct setup_request *request = setup.pending;
        pthread_mutex_unlock(&setup.lock);
        int result = request->work(request->argument);
        pthread_mutex_lock(&setup.lock);
        request->result = result;
        request->done = true;
        setup.pending = NULL;
        pthread_cond_broadcast(&setup.changed);
    }
    pthread_mutex_unlock(&setup.lock);
    return NULL;
}

int sandbox_setup_thread_start(struct error *error)
{
    pthread_mutex_lock(&setup.lock);
    setup.stopping = false;
    setup.pending = NULL;
    int result = pthread_create(&setup.thread, NULL, setup_thread_main, NULL);
    setup.running = result == 0;
    pthread_mutex_unlock(&setup.lock);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot start the device set-up thread: %s", strerror(result));
    return 0;
}

void sandbox_setup_thread_stop(void)
{
    pthread_mutex_lock(&setup.lock);
    if (!setup.running) {
        pthread_mutex_unlock(&setup.lock);
        return;
    }
    setup.stopping = true;
    pthread_cond_broadcast(&setup.changed);
    pthread_mutex_unlock(&setup.lock);
    pthread_join(setup.thread, NULL);
    pthread_mutex_lock(&setup.lock);
    setup.running = false;
    pthread_mutex_unlock(&setup.lock);
}

int sandbox_run_for_vcpu(int (*work)(void *argument), void *argument)
{
    if (sandbox_thread_kind() != THREAD_KIND_VCPU)
        return work(argument);
    struct setup_request request = {.work = work, .argument = argument};
    pthread_mutex_lock(&setup.lock);
    /* Another vCPU's request first; a stop (or no set-up thread) fails this one rather than wait. */
    while (setup.pending && !setup.stopping)
        pthread_cond_wait(&setup.changed, &setup.lock);
    if (setup.stopping || !setup.running) {
        pthread_mutex_unlock(&setup.lock);
        return -1;
    }
    setup.pending = &request;
    pthread_cond_broadcast(&setup.changed);
    while (!request.done)
        pthread_cond_wait(&setup.changed, &setup.lock);
    pthread_mutex_unlock(&setup.lock);
    return request.result;
}

int sandbox_main_thread_enter(struct error *error)
{
    /* Only the main thread calls this, once per boot; a second filter would only stack the same list. */
    static bool main_thread_filtered;
    if (sandbox_setup_thread_start(error) < 0)
        return -1;
    if (!main_thread_filtered)
        sandbox_thread_enter(THREAD_KIND_VMM);
    main_thread_filtered = true;
    return 0;
}
