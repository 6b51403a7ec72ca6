#ifndef KESTREL_HARNESS_HARNESS_DEVICE_H
#define KESTREL_HARNESS_HARNESS_DEVICE_H

/*
 * A minimal device over kestrel's real virtqueue core, for driving the
 * harness driver: it runs the loop an I/O thread runs (wait for a kick,
 * suppress kicks, drain, re-enable with the re-check, interrupt when
 * virtq_should_notify says so), either inline (harness_device_process) or on
 * its own thread over the driver's eventfds.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

enum { HARNESS_DEVICE_MAX_SEGMENTS = 64 };

enum harness_device_mode {
    HARNESS_DEVICE_ECHO, /* checks the readable pattern, fills every writable byte with the reply pattern */
    HARNESS_DEVICE_NULL, /* touches no data, reports 0 bytes written (benchmarks) */
};

struct harness_device_stats {
    uint64_t requests;
    uint64_t kicks_received;      /* wakeups by the kick eventfd */
    uint64_t interrupts_sent;     /* call eventfd writes */
    uint64_t readable_mismatches; /* requests whose readable bytes broke the pattern */
};

struct harness_device {
    struct virtq queue;
    enum harness_device_mode mode;
    int kick_fd;
    int call_fd;
    pthread_t thread;
    bool thread_started;
    int stop_requested; /* accessed atomically */
    const char *failure; /* why the device thread gave up, or NULL */
    struct iovec segments[HARNESS_DEVICE_MAX_SEGMENTS];
    struct harness_device_stats stats;
};

/* Enables the queue over `memory`; -1 when virtq_enable rejects the configuration. */
int harness_device_init(struct harness_device *device, const struct guest_memory *memory,
                        const struct virtq_config *config, int kick_fd, int call_fd, enum harness_device_mode mode);

/* Pops and serves up to `limit` requests; the number served, or -1 when the queue broke. */
long harness_device_process(struct harness_device *device, long limit);

/* Interrupts the driver (call eventfd) when virtq_should_notify says so; returns whether it did. */
bool harness_device_notify(struct harness_device *device);

/* Runs the device loop on a new thread. */
int harness_device_start(struct harness_device *device);

/* Stops and joins the thread; 0 when the device saw no failure. */
int harness_device_stop(struct harness_device *device);

#endif
