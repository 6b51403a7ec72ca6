#ifndef KESTREL_TESTS_UNIT_VIRTIO_GUEST_QUEUES_H
#define KESTREL_TESTS_UNIT_VIRTIO_GUEST_QUEUES_H

/*
 * The driver's side of a device fixture's initialisation, as a guest does
 * it: the rings of a previous start dropped, the features negotiated, the
 * configuration vector 0, `count` rings of the harness's virtq_driver (EVENT_IDX
 * and INDIRECT as negotiated) on vectors 1 .. count, DRIVER_OK; and the
 * bounded wait for a completion.
 */

#include <stdlib.h>
#include <time.h>

#include "harness/guest_allocator.h"
#include "harness/virtq_driver.h"
#include "virtio_pci_guest.h"

/* Returns the status read back; *driver_count is the number of rings made (the caller destroys them). */
static inline uint8_t virtio_guest_start_queues(const struct virtio_pci_guest *guest, struct guest_allocator *allocator,
                                                struct virtq_driver *drivers, unsigned *driver_count, unsigned count,
                                                enum virtq_layout layout, uint16_t size, uint64_t features)
{
    for (unsigned i = 0; i < *driver_count; i++)
        virtq_driver_destroy(&drivers[i]);
    *driver_count = 0;
    virtio_pci_guest_negotiate(guest, features);
    virtio_pci_guest_bar_write(guest, COMMON_MSIX_CONFIG, 0, 2);
    for (unsigned q = 0; q < count; q++) {
        const struct virtq_driver_options options = {
            .layout = layout,
            .size = size,
            .event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1,
            .indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1,
        };
        if (virtq_driver_init(&drivers[q], allocator, &options) < 0)
            abort();
        *driver_count = q + 1;
        virtio_pci_guest_setup_queue(guest, (uint16_t)q, &drivers[q].config, (uint16_t)(q + 1));
    }
    virtio_pci_guest_driver_ok(guest);
    return virtio_pci_guest_status(guest);
}

/* Reaps one completion, polling every 0.1 ms for up to timeout_ms: 1 with *token and *written, 0 on timeout, -1 broken. */
static inline int virtio_guest_wait_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written,
                                         unsigned timeout_ms)
{
    for (unsigned waited = 0; waited < timeout_ms * 10; waited++) {
        int result = virtq_driver_get_used(driver, token, written);
        if (result != 0)
            return result;
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
    return virtq_driver_get_used(driver, token, written);
}

#endif
