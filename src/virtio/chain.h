#ifndef KESTREL_VIRTIO_CHAIN_H
#define KESTREL_VIRTIO_CHAIN_H

/*
 * Turns the buffers of one descriptor chain, already copied out of guest
 * memory, into a checked request: every buffer inside guest RAM, readable
 * buffers before writable ones (a zero-length writable one counts), at most `descriptor_limit` descriptors (the
 * queue size, which bounds loops, zero-length ones included), at most 4 GiB
 * in total, and no more segments than the caller has room for.
 * Shared by the split and packed layouts.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_memory.h"
#include "virtio/virtq_state.h"

struct chain_builder {
    struct virtq_request *request;
    const struct guest_memory *memory;
    uint32_t descriptors_seen;
    uint32_t descriptor_limit;
    /* Any writable descriptor, zero-length ones included: nothing readable may follow it. */
    bool writable_seen;
};

void chain_begin(struct chain_builder *builder, struct virtq_request *request, const struct guest_memory *memory,
                 uint32_t descriptor_limit);

/* Counts one descriptor; false (with *reason set) when the chain is now longer than the limit. */
bool chain_count_descriptor(struct chain_builder *builder, const char **reason);

/* Adds one buffer. Returns NULL, or a static string naming what is wrong. */
const char *chain_add_buffer(struct chain_builder *builder, uint64_t gpa, uint32_t len, bool writable);

#endif
