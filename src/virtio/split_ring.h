#ifndef KESTREL_VIRTIO_SPLIT_RING_H
#define KESTREL_VIRTIO_SPLIT_RING_H

/*
 * Split virtqueue layout (virtio 1.2 section 2.7). Called through virtqueue.c only.
 *
 * Policies a device author should know:
 * - Chains: at most `size` descriptors in the ring part of a chain (a loop
 *   runs into this bound), then optionally one indirect table of at most
 *   `size` entries, walked at most once per entry. So a device that offers
 *   VIRTIO_RING_F_INDIRECT_DESC must advertise a segment limit (virtio-blk
 *   seg_max) no larger than the queue size, or Linux may build bigger tables.
 * - Anything malformed breaks the queue (see virtqueue.h); nothing is skipped.
 * - Push clamps `written` to the request's writable bytes (a device bug,
 *   logged rate-limited): the driver may trust the length it is given.
 * - With EVENT_IDX, kicks stay suppressed while the device keeps finding
 *   work; only a pop that finds the ring empty asks for the next kick (and
 *   re-checks), so a device may simply pop until empty and sleep.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

struct virtq;
struct virtq_request;

struct split_ring_state {
    /* Host pointers to the three areas, checked against guest RAM when the queue is enabled. */
    struct vring_desc *descriptors;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t *used_event;    /* avail->ring[size]: written by the driver (EVENT_IDX) */
    uint16_t *avail_event;   /* used->ring[size]: written by us (EVENT_IDX) */
    uint16_t mask;           /* size - 1 (split sizes are powers of two) */
    uint16_t next_avail;     /* next avail ring slot the device will read */
    uint16_t known_avail;    /* avail->idx as last read and checked; slots before it are published */
    uint16_t next_used;      /* used index the device publishes next */
    uint16_t signalled_used; /* used index at the last virtq_should_notify */
    bool kicks_enabled;      /* false between virtq_disable_kicks and virtq_enable_kicks */
};

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
