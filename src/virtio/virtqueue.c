#include "virtio/virtqueue.h"

#include "virtio/packed_ring.h"
#include "virtio/split_ring.h"

/* Layout-independent parts of a queue: configuration checks, dispatch to the layout, generations. */

/* Entries of an indirect table that are not data segments: virtio-blk's header and status byte. */
enum { REQUEST_FRAMING_SEGMENTS = 2 };

static bool is_power_of_two(uint32_t value)
{
    return value && !(value & (value - 1));
}

int virtq_enable(struct virtq *queue, const struct guest_memory *memory, const struct virtq_config *config)
{
    virtq_reset(queue);
    queue->memory = memory;
    queue->config = *config;
    if (config->size == 0 || config->size > VIRTQ_MAX_SIZE) {
        virtq_mark_broken(queue, "queue size is 0 or above the maximum");
        return -1;
    }
    if (config->layout == VIRTQ_LAYOUT_SPLIT && !is_power_of_two(config->size)) {
        virtq_mark_broken(queue, "split queue size is not a power of two");
        return -1;
    }
    int result = config->layout == VIRTQ_LAYOUT_SPLIT ? split_ring_enable(queue) : packed_ring_enable(queue);
    if (result < 0)
        return -1;
    queue->enabled = true;
    return 0;
}

void virtq_reset(struct virtq *queue)
{
    virtq_state_reset(queue);
}

enum virtq_pop_result virtq_pop(struct virtq *queue, struct virtq_request *request)
{
    if (queue->broken)
        return VIRTQ_POP_BROKEN;
    if (!queue->enabled)
        return VIRTQ_POP_EMPTY;
    /* The layouts stamp the generation into the request they fill. */
    enum virtq_pop_result result = queue->config.layout == VIRTQ_LAYOUT_SPLIT ? split_ring_pop(queue, request)
                                                                             : packed_ring_pop(queue, request);
    if (result == VIRTQ_POP_OK) {
        /*
         * A clock read costs 20 ns on bare metal and over 100 in a VM: the
         * first request after the device found the ring empty is timed (so a
         * slow queue loses no sample), then one in VIRTQ_STATS_TIMING_PERIOD.
         */
        bool timed = queue->pops_until_timed == 0;
        queue->pops_until_timed = timed ? VIRTQ_STATS_TIMING_PERIOD - 1 : queue->pops_until_timed - 1;
        request->popped_ns = timed ? virtq_stats_now_ns() : 0;
        virtq_stats_set_in_flight(&queue->stats, queue->in_flight_count);
    } else if (result == VIRTQ_POP_EMPTY) {
        queue->pops_until_timed = 0;
    }
    return result;
}

int virtq_push(struct virtq *queue, const struct virtq_request *request, uint32_t written)
{
    if (!queue->enabled || queue->broken)
        return -1;
    /* Popped before a reset: its id may belong to a request of the new rings now. */
    if (request->generation != queue->generation)
        return -1;
    int result = queue->config.layout == VIRTQ_LAYOUT_SPLIT ? split_ring_push(queue, request, written)
                                                            : packed_ring_push(queue, request, written);
    if (result == 0) {
        /* Clamped as the layouts clamp it: the bytes the driver is told were written. */
        uint64_t filled = written < request->writable_bytes ? written : request->writable_bytes;
        virtq_stats_count_completion(&queue->stats, request->readable_bytes + filled);
        if (request->popped_ns) {
            uint64_t now = virtq_stats_now_ns();
            virtq_stats_count_latency(&queue->stats, now > request->popped_ns ? now - request->popped_ns : 0);
        }
        virtq_stats_set_in_flight(&queue->stats, queue->in_flight_count);
    }
    return result;
}

bool virtq_should_notify(struct virtq *queue)
{
    if (!queue->enabled)
        return false;
    if (queue->config.layout == VIRTQ_LAYOUT_SPLIT)
        return split_ring_should_notify(queue);
    return packed_ring_should_notify(queue);
}

void virtq_disable_kicks(struct virtq *queue)
{
    if (!queue->enabled || queue->broken)
        return;
    if (queue->config.layout == VIRTQ_LAYOUT_SPLIT)
        split_ring_disable_kicks(queue);
    else
        packed_ring_disable_kicks(queue);
}

bool virtq_enable_kicks(struct virtq *queue)
{
    if (!queue->enabled || queue->broken)
        return false;
    if (queue->config.layout == VIRTQ_LAYOUT_SPLIT)
        return split_ring_enable_kicks(queue);
    return packed_ring_enable_kicks(queue);
}

bool virtq_is_broken(const struct virtq *queue)
{
    return queue->broken;
}

bool virtq_is_enabled(const struct virtq *queue)
{
    return queue->enabled;
}

uint16_t virtq_size(const struct virtq *queue)
{
    return queue->enabled ? queue->config.size : 0;
}

const struct virtq_stats *virtq_stats_of(const struct virtq *queue)
{
    return &queue->stats;
}

const char *virtq_broken_reason(const struct virtq *queue)
{
    return queue->broken_reason ? queue->broken_reason : "";
}

uint32_t virtq_largest_seg_max(uint16_t queue_size)
{
    return queue_size > REQUEST_FRAMING_SEGMENTS ? (uint32_t)queue_size - REQUEST_FRAMING_SEGMENTS : 0;
}

int virtq_check_seg_max(uint16_t queue_size, uint32_t seg_max)
{
    return seg_max >= 1 && seg_max <= virtq_largest_seg_max(queue_size) ? 0 : -1;
}
