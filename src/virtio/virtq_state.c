#include "virtio/virtq_state.h"

#include <stddef.h>
#include <string.h>

/* State shared by both ring layouts; see virtq_state.h for why it sits below them. */

void virtq_state_reset(struct virtq *queue)
{
    struct log_ratelimit keep_limit = queue->log_limit;
    uint64_t next_generation = queue->generation + 1;
    memset(queue, 0, offsetof(struct virtq, stats));
    virtq_stats_set_in_flight(&queue->stats, 0);
    queue->log_limit = keep_limit;
    queue->generation = next_generation;
}

enum virtq_pop_result virtq_mark_broken(struct virtq *queue, const char *reason)
{
    if (!queue->broken) {
        queue->broken = true;
        queue->broken_reason = reason;
        log_ratelimited(&queue->log_limit, "virtqueue: %s; device needs reset", reason);
    }
    return VIRTQ_POP_BROKEN;
}

bool virtq_take_in_flight(struct virtq *queue, uint16_t id)
{
    if (id >= VIRTQ_MAX_SIZE)
        return false;
    uint64_t bit = 1ull << (id % 64);
    uint64_t *word = &queue->in_flight[id / 64];
    if (*word & bit)
        return false;
    *word |= bit;
    queue->in_flight_count++;
    return true;
}

bool virtq_release_in_flight(struct virtq *queue, uint16_t id)
{
    if (id >= VIRTQ_MAX_SIZE)
        return false;
    uint64_t bit = 1ull << (id % 64);
    uint64_t *word = &queue->in_flight[id / 64];
    if (!(*word & bit))
        return false;
    *word &= ~bit;
    queue->in_flight_count--;
    return true;
}
