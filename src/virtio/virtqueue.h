#ifndef KESTREL_VIRTIO_VIRTQUEUE_H
#define KESTREL_VIRTIO_VIRTQUEUE_H

/*
 * The device side of one virtqueue, over either ring layout (split or
 * packed). Devices see one API: pop a request as a checked list of host
 * segments (readable first, then writable), then push it back with the number
 * of bytes written.
 *
 * Everything in the rings is written by a hostile guest. Each descriptor and
 * ring entry is read from guest memory once (volatile or atomic loads) into a
 * local copy, then checked, then used. Any malformed input marks the queue
 * broken (the transport turns that into VIRTIO_CONFIG_S_NEEDS_RESET) and logs
 * one rate-limited line; a broken queue pops nothing until it is reset.
 *
 * Both layouts keep the same contracts:
 * - Generations: every reset (and every enable, which resets first) starts a
 *   new generation, and virtq_pop stamps it into the request. virtq_push
 *   refuses a request from an earlier generation, so I/O that was in flight
 *   when the driver reset the queue can never complete into the new rings,
 *   even when the new ring hands out the same id. A device simply drops such
 *   a completion.
 * - Kicks with EVENT_IDX: kicks stay suppressed while the device keeps
 *   finding work; a pop that finds the ring empty asks for a kick at the next
 *   buffer (and looks once more), so a device may pop until empty and sleep.
 *
 * Types and the layout of struct virtq are in virtq_state.h (included here).
 * Not thread-safe: one queue is driven by one I/O thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtq_state.h"

/* Checks the configuration (sizes, alignment, rings inside RAM) and enables the queue (a new generation). */
int virtq_enable(struct virtq *queue, const struct guest_memory *memory, const struct virtq_config *config);
/* Forgets all state and starts a new generation; the queue must be enabled again. */
void virtq_reset(struct virtq *queue);

enum virtq_pop_result virtq_pop(struct virtq *queue, struct virtq_request *request);
/*
 * Returns the request to the driver with `written` bytes written to its
 * writable segments. -1 (nothing published) when the id is not in flight or
 * the request was popped before the queue was last reset or enabled.
 */
int virtq_push(struct virtq *queue, const struct virtq_request *request, uint32_t written);

/* After a batch of pushes: must the device interrupt the driver? (EVENT_IDX or flags.) */
bool virtq_should_notify(struct virtq *queue);

/*
 * Kick suppression while the device is already polling the queue.
 * virtq_enable_kicks returns true when buffers arrived in the meantime, so the
 * caller must keep popping instead of sleeping.
 */
void virtq_disable_kicks(struct virtq *queue);
bool virtq_enable_kicks(struct virtq *queue);

bool virtq_is_broken(const struct virtq *queue);
/* Enabled by the transport (virtq_enable succeeded, no reset since), and its size then (0 when disabled). */
bool virtq_is_enabled(const struct virtq *queue);
uint16_t virtq_size(const struct virtq *queue);
const char *virtq_broken_reason(const struct virtq *queue);
/*
 * The queue's counters (virtq_stats.h): virtq_pop and virtq_push keep
 * requests, bytes, in-flight depth and latency; the transport adds kicks
 * and interrupts. Readable from any thread while the queue runs.
 */
const struct virtq_stats *virtq_stats_of(const struct virtq *queue);

/*
 * The segment limit a device may advertise (virtio-blk seg_max, and the like).
 * Linux builds an indirect table of seg_max + 2 entries for one request (the
 * header and the status byte around the data segments), and both layouts
 * refuse an indirect table longer than the queue size, so a device must
 * advertise seg_max ≤ queue size − 2. Use the smallest queue size the
 * transport accepts from the driver. 0 when the queue is too small for any
 * data segment.
 */
uint32_t virtq_largest_seg_max(uint16_t queue_size);
/*
 * A device calls this when it builds its configuration: 0 when 1 ≤ seg_max ≤
 * virtq_largest_seg_max(queue_size), else -1 (Linux reads a seg_max of 0 as 1).
 */
int virtq_check_seg_max(uint16_t queue_size, uint32_t seg_max);

#endif
