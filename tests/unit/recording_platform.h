#ifndef KESTREL_TESTS_UNIT_RECORDING_PLATFORM_H
#define KESTREL_TESTS_UNIT_RECORDING_PLATFORM_H

/* A struct platform that records what device models ask of it, for unit tests. */

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "devices/platform.h"

enum { RECORDING_IRQ_LINES = 16, RECORDING_MAX_STOPS = 16 };

struct recording_platform {
    struct platform platform;
    pthread_mutex_t lock;
    bool irq_level[RECORDING_IRQ_LINES];
    unsigned rising_edges[RECORDING_IRQ_LINES];
    unsigned level_calls;
    unsigned bad_irq_calls; /* set_irq_level with a line above 15 */
    unsigned stop_count;
    enum platform_stop_reason stops[RECORDING_MAX_STOPS];
};

static void recording_set_irq_level(void *opaque, unsigned irq, bool level)
{
    struct recording_platform *recorder = opaque;
    pthread_mutex_lock(&recorder->lock);
    recorder->level_calls++;
    if (irq >= RECORDING_IRQ_LINES) {
        recorder->bad_irq_calls++;
    } else {
        if (level && !recorder->irq_level[irq])
            recorder->rising_edges[irq]++;
        recorder->irq_level[irq] = level;
    }
    pthread_mutex_unlock(&recorder->lock);
}

static void recording_request_stop(void *opaque, enum platform_stop_reason reason)
{
    struct recording_platform *recorder = opaque;
    pthread_mutex_lock(&recorder->lock);
    if (recorder->stop_count < RECORDING_MAX_STOPS)
        recorder->stops[recorder->stop_count] = reason;
    recorder->stop_count++;
    pthread_mutex_unlock(&recorder->lock);
}

static inline void recording_platform_init(struct recording_platform *recorder)
{
    memset(recorder, 0, sizeof(*recorder));
    pthread_mutex_init(&recorder->lock, NULL);
    recorder->platform.opaque = recorder;
    recorder->platform.set_irq_level = recording_set_irq_level;
    recorder->platform.request_stop = recording_request_stop;
}

static inline bool recording_irq(struct recording_platform *recorder, unsigned irq)
{
    pthread_mutex_lock(&recorder->lock);
    bool level = recorder->irq_level[irq];
    pthread_mutex_unlock(&recorder->lock);
    return level;
}

static inline unsigned recording_stop_count(struct recording_platform *recorder)
{
    pthread_mutex_lock(&recorder->lock);
    unsigned count = recorder->stop_count;
    pthread_mutex_unlock(&recorder->lock);
    return count;
}

static inline void recording_platform_destroy(struct recording_platform *recorder)
{
    pthread_mutex_destroy(&recorder->lock);
}

#endif
