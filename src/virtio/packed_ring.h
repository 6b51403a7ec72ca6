#ifndef KESTREL_VIRTIO_PACKED_RING_H
#define KESTREL_VIRTIO_PACKED_RING_H

/* Packed virtqueue layout (virtio 1.2 section 2.8). Called through virtqueue.c only. */

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

struct virtq;
struct virtq_request;

struct packed_ring_state {
    /* Host pointers to the three areas, checked against guest RAM when the queue is enabled. */
    struct vring_packed_desc *descriptors;
    struct vring_packed_desc_event *driver_event; /* written by the driver: may we notify it? */
    struct vring_packed_desc_event *device_event; /* written by us: should it kick us? */
    uint16_t next_avail;        /* ring slot the device reads next */
    bool avail_wrap_counter;
    uint16_t next_used;         /* ring slot the device writes next */
    bool used_wrap_counter;
    /*
     * Ring slots popped and not yet returned. A driver may only reuse a slot
     * after the device wrote a used descriptor over it, so this never exceeds
     * the queue size unless the driver lies.
     */
    uint16_t slots_in_flight;
    uint16_t signalled_used;    /* for event suppression with EVENT_IDX */
    bool signalled_used_wrap;
    bool signalled_used_valid;
    /*
     * Slots used since the last should_notify, saturating at 2 * size: past
     * that, positions (which repeat every 2 * size slots) cannot tell whether
     * the driver's event was passed, so the device notifies.
     */
    uint32_t used_since_signal;
};

int packed_ring_enable(struct virtq *queue);
int packed_ring_pop(struct virtq *queue, struct virtq_request *request);
/* `written` above the request's writable bytes is clamped to them (a device bug the guest must not see). */
int packed_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written);
bool packed_ring_should_notify(struct virtq *queue);
void packed_ring_disable_kicks(struct virtq *queue);
bool packed_ring_enable_kicks(struct virtq *queue);

#ifdef KESTREL_TEST_SEAMS
/*
 * Test seam, compiled only into test builds: called right after each
 * descriptor (ring slot or indirect table entry) has been copied out of guest
 * memory, with its location in guest memory. A test rewrites the descriptor
 * there to show that only the checked copy is used.
 */
extern void (*packed_ring_descriptor_copied_hook)(void *descriptor_in_guest_memory);
#endif

#endif
