#include "harness/harness_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct harness_queue *harness_queue_create(const struct virtq_driver_options *options, enum harness_device_mode mode,
                                           uint64_t region_size)
{
    struct harness_queue *queue = calloc(1, sizeof(*queue));
    if (!queue)
        return NULL;
    struct error error = {0};
    if (harness_guest_memory_create(&queue->memory, region_size, &error) < 0) {
        fprintf(stderr, "harness: %s\n", error.message);
        free(queue);
        return NULL;
    }
    guest_allocator_init(&queue->allocator, &queue->memory);
    if (virtq_driver_init(&queue->driver, &queue->allocator, options) < 0) {
        perror("harness: driver");
        guest_memory_destroy(&queue->memory);
        free(queue);
        return NULL;
    }
    if (harness_device_init(&queue->device, &queue->memory, &queue->driver.config, queue->driver.kick_fd,
                            queue->driver.call_fd, mode) < 0) {
        fprintf(stderr, "harness: virtq_enable: %s\n", virtq_broken_reason(&queue->device.queue));
        harness_queue_destroy(queue);
        return NULL;
    }
    return queue;
}

void harness_queue_destroy(struct harness_queue *queue)
{
    if (!queue)
        return;
    harness_device_stop(&queue->device);
    virtq_driver_destroy(&queue->driver);
    guest_memory_destroy(&queue->memory);
    free(queue);
}

void harness_buffers_to_iovec(const struct guest_memory *memory, const struct virtq_driver_buffer *buffers,
                              unsigned count, struct iovec *segments)
{
    for (unsigned i = 0; i < count; i++) {
        void *host = gpa_to_hva(memory, buffers[i].gpa, buffers[i].len);
        if (!host) {
            fprintf(stderr, "harness: buffer 0x%llx+%u outside guest memory\n", (unsigned long long)buffers[i].gpa,
                    buffers[i].len);
            abort();
        }
        segments[i] = (struct iovec){.iov_base = host, .iov_len = buffers[i].len};
    }
}
