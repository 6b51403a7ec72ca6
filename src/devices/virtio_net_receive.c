#include "devices/virtio_net_receive.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_net_header.h"
#include "mem/iovec.h"

int virtio_net_receive_init(struct virtio_net_receive *receive, const struct virtio_net_receive_setup *setup,
                            struct error *error)
{
    memset(receive, 0, sizeof(*receive));
    receive->setup = *setup;
    /* A chain, indirect tables included, never has more descriptors than its queue's size. */
    size_t per_chain = virtq_size(setup->queue) ? virtq_size(setup->queue) : 1;
    receive->segment_pool = calloc(per_chain * VIRTIO_NET_HELD_CHAINS, sizeof(*receive->segment_pool));
    if (!receive->segment_pool)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: out of memory for receive buffers");
    for (unsigned i = 0; i < VIRTIO_NET_HELD_CHAINS; i++) {
        receive->held[i].request.segments = receive->segment_pool + i * per_chain;
        receive->held[i].request.segment_capacity = (uint32_t)per_chain;
    }
    return 0;
}

void virtio_net_receive_destroy(struct virtio_net_receive *receive)
{
    free(receive->segment_pool);
    receive->segment_pool = NULL;
}

static struct virtq_request *held_at(struct virtio_net_receive *receive, unsigned position)
{
    return &receive->held[(receive->held_first + position) % VIRTIO_NET_HELD_CHAINS].request;
}

/* Pops one more chain into the held ring; false when the ring is empty (or broken). */
static bool hold_one_more(struct virtio_net_receive *receive)
{
    if (receive->held_count == VIRTIO_NET_HELD_CHAINS || receive->broken)
        return false;
    struct virtq_request *request = held_at(receive, receive->held_count);
    struct iovec *segments = request->segments;
    uint32_t capacity = request->segment_capacity;
    for (unsigned attempt = 0; attempt < 2; attempt++) {
        *request = (struct virtq_request){.segments = segments, .segment_capacity = capacity};
        enum virtq_pop_result result = virtq_pop(receive->setup.queue, request);
        if (result == VIRTQ_POP_OK) {
            receive->held_count++;
            receive->held_bytes += request->writable_bytes;
            return true;
        }
        if (result == VIRTQ_POP_BROKEN) {
            receive->broken = true;
            return false;
        }
        /* Empty: ask for a kick at the next buffer; buffers that came meanwhile are popped at once. */
        if (attempt == 0 && !virtq_enable_kicks(receive->setup.queue))
            break;
    }
    receive->starved = true;
    return false;
}

static unsigned gather(struct virtio_net_receive *receive, uint64_t needed)
{
    uint64_t skip = receive->setup.backend_writes_header ? 0 : VIRTIO_NET_HEADER_SIZE;
    uint64_t covered = 0;
    unsigned chains = 0;
    receive->gathered_count = 0;
    while (chains < receive->held_count && covered < needed && receive->gathered_count < VIRTIO_NET_GATHER_MAX) {
        const struct virtq_request *request = held_at(receive, chains);
        const struct iovec *writable = request->segments + request->readable_count;
        uint64_t offset = chains == 0 ? skip : 0;
        unsigned added = iovec_slice(writable, request->writable_count, offset,
                                     receive->gathered + receive->gathered_count,
                                     VIRTIO_NET_GATHER_MAX - receive->gathered_count);
        receive->gathered_count += added;
        covered += request->writable_bytes - (offset < request->writable_bytes ? offset : request->writable_bytes);
        chains++;
    }
    return chains;
}

/* Drops the first held chain from the ring over held[] (its buffers were pushed or are given up). */
static void release_first(struct virtio_net_receive *receive)
{
    receive->held_bytes -= held_at(receive, 0)->writable_bytes;
    receive->held_first = (receive->held_first + 1) % VIRTIO_NET_HELD_CHAINS;
    receive->held_count--;
}

/*
 * A first chain too short for the header can carry no frame (a driver's
 * error): it goes back to the guest unused, so that it neither blocks the
 * chains behind it nor leaves a backend's frame waiting on it for ever.
 * Returns whether any went back.
 */
static bool return_unusable(struct virtio_net_receive *receive)
{
    bool returned = false;
    while (receive->held_count > 0 && held_at(receive, 0)->writable_bytes < VIRTIO_NET_HEADER_SIZE) {
        if (virtq_push(receive->setup.queue, held_at(receive, 0), 0) == 0)
            receive->pushed = true;
        release_first(receive);
        returned = true;
    }
    return returned;
}

static void hold_enough(struct virtio_net_receive *receive, uint64_t needed)
{
    /* Bounded: each round returns at least one popped chain, and the ring holds at most its size. */
    for (unsigned round = 0; round <= virtq_size(receive->setup.queue); round++) {
        if (receive->setup.mergeable) {
            while (receive->held_bytes < needed && hold_one_more(receive))
                ;
        } else if (receive->held_count == 0) {
            hold_one_more(receive);
        }
        if (!return_unusable(receive))
            return;
    }
}

bool virtio_net_receive_acquire(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count)
{
    struct virtio_net_receive *receive = opaque;
    receive->acquired_chains = 0;
    uint64_t needed = frame_bytes + (receive->setup.backend_writes_header ? 0 : VIRTIO_NET_HEADER_SIZE);
    hold_enough(receive, needed);
    if (receive->held_count == 0)
        return false;
    /*
     * Merged buffers that cannot hold the largest frame yet: wait for the
     * guest to post more (the ring ran dry, so a kick is armed) rather than
     * let a long frame be cut short. Unless the whole ring is held already:
     * then no more will come, and a frame too long for it is the backend's
     * to drop.
     */
    if (receive->setup.mergeable && receive->held_bytes < needed && receive->starved &&
        receive->held_count < VIRTIO_NET_HELD_CHAINS && receive->held_count < virtq_size(receive->setup.queue))
        return false;
    /* The first chain must hold the header (and, for a bare frame, the frame must fit: it is copied, not read). */
    uint64_t available = receive->setup.mergeable ? receive->held_bytes : held_at(receive, 0)->writable_bytes;
    if (held_at(receive, 0)->writable_bytes < VIRTIO_NET_HEADER_SIZE ||
        (!receive->setup.backend_writes_header && available < needed))
        return false;
    unsigned chains = gather(receive, receive->setup.mergeable ? needed : UINT64_MAX);
    if (!receive->setup.mergeable)
        chains = 1;
    if (receive->gathered_count == 0)
        return false;
    receive->acquired_chains = chains;
    /* Held chains serve this frame: the next one may find enough held too, so the backend keeps being polled. */
    receive->starved = false;
    *segments = receive->gathered;
    *count = receive->gathered_count;
    return true;
}

static bool filter_passes(struct virtio_net_receive *receive)
{
    uint8_t destination[6];
    uint64_t offset = receive->setup.backend_writes_header ? VIRTIO_NET_HEADER_SIZE : 0;
    if (iovec_copy_from(receive->gathered, receive->gathered_count, offset, destination, sizeof(destination)) !=
        sizeof(destination))
        return false;
    pthread_mutex_lock(receive->setup.filter_lock);
    bool passes = virtio_net_filter_accepts(receive->setup.filter, receive->setup.mac, destination);
    pthread_mutex_unlock(receive->setup.filter_lock);
    return passes;
}

static void write_header(struct virtio_net_receive *receive, uint16_t buffers)
{
    const struct virtq_request *first = held_at(receive, 0);
    const struct iovec *writable = first->segments + first->readable_count;
    if (receive->setup.backend_writes_header) {
        uint16_t value = htole16(buffers);
        iovec_copy_to(writable, first->writable_count, offsetof(struct virtio_net_hdr_v1, num_buffers), &value,
                      sizeof(value));
        return;
    }
    struct virtio_net_hdr_v1 header = virtio_net_header_for_receive(receive->setup.data_valid, buffers);
    iovec_copy_to(writable, first->writable_count, 0, &header, sizeof(header));
}

void virtio_net_receive_commit(void *opaque, size_t bytes)
{
    struct virtio_net_receive *receive = opaque;
    unsigned acquired = receive->acquired_chains;
    receive->acquired_chains = 0;
    if (acquired == 0 || bytes == 0)
        return;
    uint64_t total = bytes + (receive->setup.backend_writes_header ? 0 : VIRTIO_NET_HEADER_SIZE);
    if (total < VIRTIO_NET_HEADER_SIZE + VIRTIO_NET_ETHERNET_HEADER || !filter_passes(receive)) {
        receive->filtered++;
        return; /* the buffers stay held for the next frame */
    }
    /* The chains the frame filled, in order; the last one partly. */
    unsigned used_chains = 0;
    uint64_t remaining = total;
    while (used_chains < acquired && remaining > 0) {
        uint64_t capacity = held_at(receive, used_chains)->writable_bytes;
        remaining -= remaining < capacity ? remaining : capacity;
        used_chains++;
    }
    write_header(receive, (uint16_t)used_chains);
    remaining = total;
    for (unsigned i = 0; i < used_chains; i++) {
        const struct virtq_request *request = held_at(receive, 0);
        uint64_t written = remaining < request->writable_bytes ? remaining : request->writable_bytes;
        remaining -= written;
        /* A chain from before a reset is refused: the guest forgot it, so it is simply dropped. */
        if (virtq_push(receive->setup.queue, request, (uint32_t)written) == 0)
            receive->pushed = true;
        release_first(receive);
    }
    receive->frames++;
    receive->bytes += total - VIRTIO_NET_HEADER_SIZE;
}
