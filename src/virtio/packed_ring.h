#ifndef KESTREL_VIRTIO_PACKED_RING_H
#define KESTREL_VIRTIO_PACKED_RING_H

/*
 * Packed virtqueue layout (virtio 1.2 section 2.8). Called through virtqueue.c only.
 *
 * Same policies as the split ring (split_ring.h): chains and indirect tables of
 * at most `size` descriptors (so seg_max ≤ size − 2, see virtq_check_seg_max),
 * anything malformed breaks the queue, push clamps `written`, and with
 * EVENT_IDX only a pop that finds the ring empty asks for the next kick (the
 * device event names the next slot), so a device may pop until empty and sleep.
 */

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtq_state.h"

/* The ring state, struct packed_ring_state, lives in virtq_state.h with the rest of struct virtq. */

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
