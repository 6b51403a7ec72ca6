#include "harness/virtq_driver.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "harness/driver_layouts.h"

/* Layout-independent parts of the harness driver: setup, request checks, eventfds, dispatch. */

static bool is_power_of_two(uint32_t value)
{
    return value && !(value & (value - 1));
}

int virtq_driver_init(struct virtq_driver *driver, struct guest_allocator *allocator,
                      const struct virtq_driver_options *options)
{
    memset(driver, 0, sizeof(*driver));
    driver->kick_fd = -1;
    driver->call_fd = -1;
    if (options->size == 0 || options->size > VIRTQ_MAX_SIZE ||
        (options->layout == VIRTQ_LAYOUT_SPLIT && !is_power_of_two(options->size))) {
        errno = EINVAL;
        return -1;
    }
    driver->memory = allocator->memory;
    driver->size = options->size;
    driver->config = (struct virtq_config){
        .layout = options->layout,
        .size = options->size,
        .event_idx = options->event_idx,
        .indirect = options->indirect,
    };
    driver->free_next = calloc(options->size, sizeof(*driver->free_next));
    driver->in_flight = calloc(options->size, sizeof(*driver->in_flight));
    if (!driver->free_next || !driver->in_flight)
        goto fail_errno;
    /* Every descriptor (split) / buffer id (packed) starts on the free list, in order. */
    for (uint16_t i = 0; i < options->size; i++)
        driver->free_next[i] = (uint16_t)(i + 1);
    driver->free_head = 0;
    driver->free_count = options->size;
    if (options->indirect) {
        driver->indirect_gpa =
            guest_allocator_alloc(allocator, (uint64_t)options->size * VIRTQ_DRIVER_MAX_SEGMENTS * 16, 16);
        if (driver->indirect_gpa == GUEST_ALLOCATION_FAILED) {
            errno = ENOMEM;
            goto fail_errno;
        }
    }
    int result = options->layout == VIRTQ_LAYOUT_SPLIT ? driver_split_init(driver, allocator)
                                                       : driver_packed_init(driver, allocator);
    if (result < 0)
        goto fail_errno;
    driver->kick_fd = eventfd(0, EFD_CLOEXEC);
    driver->call_fd = eventfd(0, EFD_CLOEXEC);
    if (driver->kick_fd < 0 || driver->call_fd < 0)
        goto fail_errno;
    return 0;

fail_errno:;
    int saved = errno;
    virtq_driver_destroy(driver);
    errno = saved;
    return -1;
}

void virtq_driver_destroy(struct virtq_driver *driver)
{
    if (driver->kick_fd >= 0)
        close(driver->kick_fd);
    if (driver->call_fd >= 0)
        close(driver->call_fd);
    driver->kick_fd = driver->call_fd = -1;
    free(driver->free_next);
    free(driver->in_flight);
    driver->free_next = NULL;
    driver->in_flight = NULL;
    if (driver->config.layout == VIRTQ_LAYOUT_PACKED) {
        free(driver->packed.pending_head_slots);
        free(driver->packed.pending_head_flags);
        driver->packed.pending_head_slots = NULL;
        driver->packed.pending_head_flags = NULL;
    }
}

int driver_mark_broken(struct virtq_driver *driver, const char *reason)
{
    if (!driver->broken) {
        driver->broken = true;
        driver->broken_reason = reason;
    }
    return -1;
}

int virtq_driver_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token)
{
    unsigned total = request->readable_count + request->writable_count;
    /* virtio 1.2, 2.7.4.2: no chain longer than the queue size, indirect tables included. */
    if (total == 0 || total > VIRTQ_DRIVER_MAX_SEGMENTS || total > driver->size ||
        (request->indirect && !driver->config.indirect))
        return -EINVAL;
    int result = driver->config.layout == VIRTQ_LAYOUT_SPLIT ? driver_split_add(driver, request, token)
                                                             : driver_packed_add(driver, request, token);
    if (result == 0)
        driver->stats.added++;
    return result;
}

void virtq_driver_publish(struct virtq_driver *driver)
{
    if (driver->config.layout == VIRTQ_LAYOUT_SPLIT)
        driver_split_publish(driver);
    else
        driver_packed_publish(driver);
}

bool virtq_driver_kick_prepare(struct virtq_driver *driver)
{
    driver->stats.kick_checks++;
    if (driver->config.layout == VIRTQ_LAYOUT_SPLIT)
        return driver_split_kick_prepare(driver);
    return driver_packed_kick_prepare(driver);
}

void virtq_driver_notify(struct virtq_driver *driver)
{
    uint64_t one = 1;
    /* An eventfd write only fails when the counter would overflow, which cannot happen here. */
    ssize_t written = write(driver->kick_fd, &one, sizeof(one));
    (void)written;
    driver->stats.kicks++;
}

bool virtq_driver_kick(struct virtq_driver *driver)
{
    if (!virtq_driver_kick_prepare(driver))
        return false;
    virtq_driver_notify(driver);
    return true;
}

int virtq_driver_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written)
{
    if (driver->broken)
        return -1;
    int result = driver->config.layout == VIRTQ_LAYOUT_SPLIT ? driver_split_get_used(driver, token, written)
                                                             : driver_packed_get_used(driver, token, written);
    if (result > 0)
        driver->stats.completed++;
    return result;
}

void virtq_driver_disable_callbacks(struct virtq_driver *driver)
{
    if (driver->config.layout == VIRTQ_LAYOUT_SPLIT)
        driver_split_disable_callbacks(driver);
    else
        driver_packed_disable_callbacks(driver);
}

bool virtq_driver_enable_callbacks(struct virtq_driver *driver)
{
    if (driver->config.layout == VIRTQ_LAYOUT_SPLIT)
        return driver_split_enable_callbacks(driver);
    return driver_packed_enable_callbacks(driver);
}

bool virtq_driver_enable_callbacks_delayed(struct virtq_driver *driver)
{
    if (driver->config.layout == VIRTQ_LAYOUT_SPLIT)
        return driver_split_enable_callbacks_delayed(driver);
    return driver_packed_enable_callbacks_delayed(driver);
}

int virtq_driver_wait_interrupt(struct virtq_driver *driver, int timeout_ms)
{
    struct pollfd waiter = {.fd = driver->call_fd, .events = POLLIN};
    int ready;
    do {
        ready = poll(&waiter, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0)
        return ready;
    uint64_t count;
    if (read(driver->call_fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return -1;
    driver->stats.interrupts_seen++;
    return 1;
}

unsigned virtq_driver_in_flight_count(const struct virtq_driver *driver)
{
    return (unsigned)(driver->stats.added - driver->stats.completed);
}
