#ifndef KESTREL_VIRTIO_SPLIT_RING_H
#define KESTREL_VIRTIO_SPLIT_RING_H

/*
 * Split virtqueue layout (virtio 1.2 section 2.7). Called through virtqueue.c only.
 *
 * Policies a device author should know:
 * - Chains: at most `size` descriptors in the ring part of a chain (a loop
 *   runs into this bound), then optionally one indirect table of at most
 *   `size` entries, walked at most once per entry. Linux puts seg_max + 2
 *   entries in a table (header and status around the data), so a device that
 *   offers VIRTIO_RING_F_INDIRECT_DESC must advertise seg_max ≤ size − 2:
 *   virtq_check_seg_max() in virtqueue.h.
 * - Anything malformed breaks the queue (see virtqueue.h); nothing is skipped.
 * - Push clamps `written` to the request's writable bytes (a device bug,
 *   logged rate-limited): the driver may trust the length it is given.
 * - With EVENT_IDX, kicks stay suppressed while the device keeps finding
 *   work; only a pop that finds the ring empty asks for the next kick (and
 *   re-checks), so a device may simply pop until empty and sleep. The packed
 *   ring keeps the same contract.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtq_state.h"

/* The ring state, struct split_ring_state, lives in virtq_state.h with the rest of struct virtq. */

int split_ring_enable(struct virtq *queue);
int split_ring_pop(struct virtq *queue, struct virtq_request *request);
int split_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written);
bool split_ring_should_notify(struct virtq *queue);
void split_ring_disable_kicks(struct virtq *queue);
bool split_ring_enable_kicks(struct virtq *queue);

/*
 * Test seam (unit-test and fuzzing builds only; absent from release builds, so
 * it costs nothing there). When set, split_ring_pop calls the hook right after
 * it has read a guest-written ring entry into its local copy: the avail ring
 * slot (length 2) and every descriptor, direct or indirect (length 16). The
 * hook may rewrite that guest memory, as a concurrent hostile vCPU could; the
 * request must still reflect the copy that was checked, never a second read.
 */
#ifdef KESTREL_TEST_SEAMS
#define KESTREL_SPLIT_RING_TEST_SEAM 1
typedef void split_ring_read_hook_fn(void *context, void *guest_entry, size_t length);
extern split_ring_read_hook_fn *split_ring_read_hook;
extern void *split_ring_read_hook_context;
#endif

#endif
