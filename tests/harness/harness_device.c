#include "harness/harness_device.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness/echo_pattern.h"

int harness_device_init(struct harness_device *device, const struct guest_memory *memory,
                        const struct virtq_config *config, int kick_fd, int call_fd, enum harness_device_mode mode)
{
    memset(device, 0, sizeof(*device));
    device->mode = mode;
    device->kick_fd = kick_fd;
    device->call_fd = call_fd;
    return virtq_enable(&device->queue, memory, config);
}

static uint32_t serve_echo(struct harness_device *device, const struct virtq_request *request)
{
    const struct iovec *readable = request->segments;
    const struct iovec *writable = request->segments + request->readable_count;
    bool has_readable = request->readable_count > 0;
    uint8_t seed = has_readable ? *(const uint8_t *)readable[0].iov_base : 0;
    if (has_readable && !echo_pattern_check(readable, request->readable_count, seed))
        device->stats.readable_mismatches++;
    echo_pattern_fill(writable, request->writable_count, echo_reply_seed(has_readable, seed, request->readable_bytes));
    return (uint32_t)request->writable_bytes;
}

long harness_device_process(struct harness_device *device, long limit)
{
    struct virtq_request request = {.segments = device->segments, .segment_capacity = HARNESS_DEVICE_MAX_SEGMENTS};
    long served = 0;
    while (served < limit) {
        enum virtq_pop_result result = virtq_pop(&device->queue, &request);
        if (result == VIRTQ_POP_EMPTY)
            break;
        if (result == VIRTQ_POP_BROKEN) {
            device->failure = virtq_broken_reason(&device->queue);
            return -1;
        }
        uint32_t written = device->mode == HARNESS_DEVICE_ECHO ? serve_echo(device, &request) : 0;
        if (virtq_push(&device->queue, &request, written) < 0) {
            device->failure = "virtq_push rejected a popped request";
            return -1;
        }
        served++;
    }
    device->stats.requests += (uint64_t)served;
    return served;
}

bool harness_device_notify(struct harness_device *device)
{
    if (!virtq_should_notify(&device->queue))
        return false;
    uint64_t one = 1;
    ssize_t written = write(device->call_fd, &one, sizeof(one));
    (void)written; /* an eventfd write fails only on counter overflow */
    device->stats.interrupts_sent++;
    return true;
}

/* Waits for a kick; false when asked to stop. */
static bool wait_for_kick(struct harness_device *device)
{
    for (;;) {
        if (__atomic_load_n(&device->stop_requested, __ATOMIC_ACQUIRE))
            return false;
        struct pollfd waiter = {.fd = device->kick_fd, .events = POLLIN};
        int ready = poll(&waiter, 1, 200);
        if (ready < 0 && errno != EINTR)
            return false;
        if (ready <= 0)
            continue;
        uint64_t count;
        if (read(device->kick_fd, &count, sizeof(count)) == (ssize_t)sizeof(count)) {
            device->stats.kicks_received++;
            return !__atomic_load_n(&device->stop_requested, __ATOMIC_ACQUIRE);
        }
    }
}

static void *device_thread(void *argument)
{
    struct harness_device *device = argument;
    long round = device->queue.config.size;
    while (wait_for_kick(device)) {
        /* Polling now: the driver need not kick until we go back to sleep. */
        virtq_disable_kicks(&device->queue);
        for (;;) {
            long served = harness_device_process(device, round);
            if (served < 0)
                return NULL;
            if (served > 0) {
                harness_device_notify(device);
                continue;
            }
            /* Re-enable, then look once more: a request added in between would otherwise sleep with us. */
            if (!virtq_enable_kicks(&device->queue))
                break;
            virtq_disable_kicks(&device->queue);
        }
        if (virtq_is_broken(&device->queue)) {
            device->failure = virtq_broken_reason(&device->queue);
            return NULL;
        }
    }
    return NULL;
}

int harness_device_start(struct harness_device *device)
{
    if (pthread_create(&device->thread, NULL, device_thread, device) != 0)
        return -1;
    device->thread_started = true;
    return 0;
}

int harness_device_stop(struct harness_device *device)
{
    if (device->thread_started) {
        __atomic_store_n(&device->stop_requested, 1, __ATOMIC_RELEASE);
        uint64_t one = 1;
        ssize_t written = write(device->kick_fd, &one, sizeof(one));
        (void)written;
        pthread_join(device->thread, NULL);
        device->thread_started = false;
    }
    return device->failure ? -1 : 0;
}
