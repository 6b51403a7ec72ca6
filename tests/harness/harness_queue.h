#ifndef KESTREL_HARNESS_HARNESS_QUEUE_H
#define KESTREL_HARNESS_HARNESS_QUEUE_H

/* One driver and one device sharing a queue in a fresh two-region guest memory: what tests and benchmarks start from. */

#include <sys/uio.h>

#include "harness/guest_allocator.h"
#include "harness/harness_device.h"
#include "harness/virtq_driver.h"

struct harness_queue {
    struct guest_memory memory;
    struct guest_allocator allocator;
    struct virtq_driver driver;
    struct harness_device device;
};

/* Heap-allocated (struct virtq is large); NULL on failure, with the reason on stderr. */
struct harness_queue *harness_queue_create(const struct virtq_driver_options *options, enum harness_device_mode mode,
                                           uint64_t region_size);
void harness_queue_destroy(struct harness_queue *queue);

/* Host view of driver buffers (for filling and checking them); aborts if one is outside guest memory. */
void harness_buffers_to_iovec(const struct guest_memory *memory, const struct virtq_driver_buffer *buffers,
                              unsigned count, struct iovec *segments);

#endif
