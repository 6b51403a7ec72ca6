#ifndef KESTREL_DEVICES_VIRTIO_NET_THREAD_H
#define KESTREL_DEVICES_VIRTIO_NET_THREAD_H

/*
 * One virtio-net I/O thread (--net ...,iothreads=N): it serves one or more
 * queue pairs (virtio_net_pair.h) from a single poll(2) set holding every
 * pair's kicks and backend fds and its own wake eventfd. Each pass gives
 * every pair one bounded turn, in order, so that a busy pair cannot starve
 * the others on the thread. The wake eventfd stops the thread, or makes it
 * look again at which pairs the driver uses (VQ_PAIRS_SET): the control
 * queue's thread waits for that pass before it acks the command, since the
 * device may not use a receive queue the driver turned off once the ack is
 * out (virtio 1.2, 5.1.6.5.5).
 */

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "devices/virtio_net_pair.h"
#include "util/error.h"
#include "util/thread_pause.h"

enum { VIRTIO_NET_THREAD_MAX_PAIRS = 16 };

struct virtio_net_thread {
    struct virtio_net_pair *pairs[VIRTIO_NET_THREAD_MAX_PAIRS];
    unsigned pair_count;
    unsigned first_fd[VIRTIO_NET_THREAD_MAX_PAIRS]; /* each pair's stretch of fds */
    struct pollfd *fds;
    int wake_fd;
    atomic_bool stopping;
    pthread_mutex_t pass_lock;
    pthread_cond_t pass_done_changed;
    uint64_t pass_requested, pass_done; /* guarded by pass_lock */
    bool exited;                        /* guarded by pass_lock */
    struct thread_pause pause;
    pthread_t thread;
    bool running;
};

/* Starts a thread serving `count` prepared pairs (1 .. VIRTIO_NET_THREAD_MAX_PAIRS). */
int virtio_net_thread_start(struct virtio_net_thread *thread, struct virtio_net_pair *const *pairs, unsigned count,
                            struct error *error);
/*
 * Wakes the thread and waits until it has begun a new pass, so that it has
 * re-read which pairs are in use. Called from another I/O thread (the control
 * queue's) only; a no-op when the thread is not running.
 */
void virtio_net_thread_settle(struct virtio_net_thread *thread);
/*
 * A VM pause: the thread ends its pass (frames it took are passed on, the
 * interrupts it owes are raised) and parks before it polls again, so it takes
 * nothing more from the guest's queues or the backend until the resume. Pause
 * the thread serving the control queue first: it may be waiting in
 * virtio_net_thread_settle for another one. No-ops when not running.
 */
void virtio_net_thread_pause(struct virtio_net_thread *thread);
void virtio_net_thread_resume(struct virtio_net_thread *thread);
/* Stops and joins the thread; a no-op when not running. The pairs stay prepared. */
void virtio_net_thread_stop(struct virtio_net_thread *thread);

#endif
