#include "virtio/split_ring.h"

#include <stdatomic.h>

#include "virtio/chain.h"
#include "virtio/guest_load.h"

/*
 * The device side of a split virtqueue. The driver (a hostile guest) writes
 * the descriptor table and the available ring; we write the used ring.
 *
 * Every guest-written value is read exactly once into a local variable, then
 * checked, then used: the guest can rewrite the ring at any moment from
 * another vCPU, so a second read could return something that was never
 * checked. Indices and flags shared with the driver go through atomics with
 * the orderings the virtio memory model asks for; descriptor contents are
 * copied with single volatile loads after the acquire load of avail->idx
 * published them.
 *
 * virtio 1.x rings are little-endian, as is the only host we build for.
 */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the split ring reads little-endian guest data directly");
_Static_assert(sizeof(struct vring_desc) == 16, "virtio descriptors are 16 bytes");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used elements are 8 bytes");

enum { DESCRIPTOR_SIZE = sizeof(struct vring_desc) };

#ifdef KESTREL_SPLIT_RING_TEST_SEAM
split_ring_read_hook_fn *split_ring_read_hook;
void *split_ring_read_hook_context;
#define AFTER_GUEST_READ(entry, length)                                                           \
    do {                                                                                          \
        if (split_ring_read_hook)                                                                 \
            split_ring_read_hook(split_ring_read_hook_context, (void *)(entry), (length));         \
    } while (0)
#else
#define AFTER_GUEST_READ(entry, length) ((void)0)
#endif

/* Area sizes in bytes; size ≤ VIRTQ_MAX_SIZE, so none of these can overflow. */
static uint64_t descriptor_area_size(uint32_t size)
{
    return (uint64_t)DESCRIPTOR_SIZE * size;
}

static uint64_t avail_area_size(uint32_t size, bool event_idx)
{
    return sizeof(struct vring_avail) + sizeof(uint16_t) * (uint64_t)size + (event_idx ? sizeof(uint16_t) : 0);
}

static uint64_t used_area_size(uint32_t size, bool event_idx)
{
    return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * (uint64_t)size +
           (event_idx ? sizeof(uint16_t) : 0);
}

static int split_ring_enable_failed(struct virtq *queue, const char *reason)
{
    virtq_mark_broken(queue, reason);
    return -1;
}

int split_ring_enable(struct virtq *queue)
{
    const struct virtq_config *config = &queue->config;
    struct split_ring_state *ring = &queue->split;
    uint32_t size = config->size;

    if (config->desc_gpa % VRING_DESC_ALIGN_SIZE)
        return split_ring_enable_failed(queue, "descriptor table not 16-byte aligned");
    if (config->driver_gpa % VRING_AVAIL_ALIGN_SIZE)
        return split_ring_enable_failed(queue, "available ring not 2-byte aligned");
    if (config->device_gpa % VRING_USED_ALIGN_SIZE)
        return split_ring_enable_failed(queue, "used ring not 4-byte aligned");

    void *descriptors = gpa_to_hva(queue->memory, config->desc_gpa, descriptor_area_size(size));
    if (!descriptors)
        return split_ring_enable_failed(queue, "descriptor table outside guest RAM");
    void *avail = gpa_to_hva(queue->memory, config->driver_gpa, avail_area_size(size, config->event_idx));
    if (!avail)
        return split_ring_enable_failed(queue, "available ring outside guest RAM");
    void *used = gpa_to_hva(queue->memory, config->device_gpa, used_area_size(size, config->event_idx));
    if (!used)
        return split_ring_enable_failed(queue, "used ring outside guest RAM");

    ring->descriptors = descriptors;
    ring->avail = avail;
    ring->used = used;
    /* Only dereferenced when EVENT_IDX is negotiated, i.e. when the area checks above included them. */
    ring->used_event = &ring->avail->ring[size];
    ring->avail_event = (uint16_t *)&ring->used->ring[size];
    ring->mask = (uint16_t)(size - 1);
    ring->next_avail = 0;
    ring->known_avail = 0;
    ring->next_used = 0;
    ring->signalled_used = 0;
    ring->kicks_enabled = true;
    /* Make the guest-visible suppression state match ours (a re-enabled ring may hold stale values). */
    __atomic_store_n(&ring->used->flags, 0, __ATOMIC_RELAXED);
    if (config->event_idx)
        __atomic_store_n(ring->avail_event, 0, __ATOMIC_RELAXED);
    return 0;
}

/*
 * Copies one 16-byte descriptor out of guest memory, each field with a single
 * volatile load (guest_load.h): the compiler cannot read guest memory again in
 * place of the copy, so what was checked is what is used.
 */
static inline void descriptor_copy(struct vring_desc *local, const uint8_t *guest)
{
    guest_load_split_descriptor(local, guest);
    AFTER_GUEST_READ(guest, DESCRIPTOR_SIZE);
}

/* Follows the chain starting at `head`; NULL when the request is filled and well-formed, else the reason. */
static const char *split_ring_walk_chain(struct virtq *queue, uint16_t head, struct virtq_request *request)
{
    const struct guest_memory *memory = queue->memory;
    uint32_t size = queue->config.size;
    const uint8_t *table = (const uint8_t *)queue->split.descriptors;
    uint32_t table_entries = size;
    bool in_indirect_table = false;
    uint16_t index = head;
    struct chain_builder builder;
    const char *reason;

    /* The limit bounds the walk: a loop, zero-length descriptors included, runs into it. */
    chain_begin(&builder, request, memory, size);
    for (;;) {
        if (!chain_count_descriptor(&builder, &reason))
            return reason;
        struct vring_desc descriptor;
        descriptor_copy(&descriptor, table + (size_t)index * DESCRIPTOR_SIZE);

        if (descriptor.flags & VRING_DESC_F_INDIRECT) {
            if (!queue->config.indirect)
                return "indirect descriptor but VIRTIO_RING_F_INDIRECT_DESC was not negotiated";
            if (in_indirect_table)
                return "indirect descriptor inside an indirect table";
            if (descriptor.flags & VRING_DESC_F_NEXT)
                return "indirect descriptor with the NEXT flag set";
            if (descriptor.len == 0 || descriptor.len % DESCRIPTOR_SIZE)
                return "indirect table length is 0 or not a multiple of 16";
            if (descriptor.len / DESCRIPTOR_SIZE > size)
                return "indirect table has more entries than the queue size";
            table = gpa_to_hva(memory, descriptor.addr, descriptor.len);
            if (!table)
                return "indirect table outside guest RAM";
            /*
             * The table ends the chain (no NEXT). Its own walk is bounded by
             * its entry count, which the descriptor limit now becomes.
             */
            table_entries = descriptor.len / DESCRIPTOR_SIZE;
            in_indirect_table = true;
            builder.descriptors_seen = 0;
            builder.descriptor_limit = table_entries;
            index = 0;
            continue;
        }

        reason = chain_add_buffer(&builder, descriptor.addr, descriptor.len, descriptor.flags & VRING_DESC_F_WRITE);
        if (reason)
            return reason;
        if (!(descriptor.flags & VRING_DESC_F_NEXT))
            return NULL;
        if (descriptor.next >= table_entries)
            return in_indirect_table ? "indirect descriptor's next index outside its table"
                                     : "descriptor next index not below the queue size";
        index = descriptor.next;
    }
}

/*
 * Refreshes known_avail from avail->idx. Returns the number of published,
 * unread slots, or -1 when the driver moved the index impossibly far.
 */
static int split_ring_refresh_avail(struct virtq *queue)
{
    struct split_ring_state *ring = &queue->split;
    /* Acquire: the ring slots and descriptors published before this index are visible after it. */
    uint16_t avail_idx = __atomic_load_n(&ring->avail->idx, __ATOMIC_ACQUIRE);
    if (avail_idx == ring->next_avail && queue->config.event_idx && ring->kicks_enabled) {
        /*
         * About to report "empty", after which the device sleeps until a
         * kick. Ask for a kick at the next buffer, then look again: the full
         * fence pairs with the driver's (publish index; fence; read
         * avail_event), so either it sees our avail_event or we see its index.
         * Busy devices skip this, so the driver kicks less while we work.
         */
        __atomic_store_n(ring->avail_event, ring->next_avail, __ATOMIC_RELAXED);
        atomic_thread_fence(memory_order_seq_cst);
        avail_idx = __atomic_load_n(&ring->avail->idx, __ATOMIC_ACQUIRE);
    }
    uint16_t pending = (uint16_t)(avail_idx - ring->next_avail);
    if (pending > queue->config.size)
        return -1;
    ring->known_avail = avail_idx;
    return pending;
}

int split_ring_pop(struct virtq *queue, struct virtq_request *request)
{
    struct split_ring_state *ring = &queue->split;

    if (ring->next_avail == ring->known_avail) {
        int pending = split_ring_refresh_avail(queue);
        if (pending < 0)
            return virtq_mark_broken(queue, "avail index moved more than the queue size ahead");
        if (pending == 0)
            return VIRTQ_POP_EMPTY;
    }

    const uint16_t *slot = &ring->avail->ring[ring->next_avail & ring->mask];
    uint16_t head = __atomic_load_n(slot, __ATOMIC_RELAXED);
    AFTER_GUEST_READ(slot, sizeof(*slot));
    if (head >= queue->config.size)
        return virtq_mark_broken(queue, "head descriptor index not below the queue size");

    const char *reason = split_ring_walk_chain(queue, head, request);
    if (reason)
        return virtq_mark_broken(queue, reason);
    /* Two requests sharing a head would share buffers: the first push would free the second's. */
    if (!virtq_take_in_flight(queue, head))
        return virtq_mark_broken(queue, "head descriptor offered again while still in flight");

    request->id = head;
    request->ring_slots = 1;
    request->generation = queue->generation;
    ring->next_avail++;
    return VIRTQ_POP_OK;
}

int split_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written)
{
    struct split_ring_state *ring = &queue->split;
    uint16_t id = request->id;

    if (!virtq_release_in_flight(queue, id))
        return -1;
    /*
     * Claiming more bytes than the writable buffers hold is a device bug, not
     * a guest's doing. The driver may trust the length, so never publish more
     * than the buffers hold: clamp, and say so (rate-limited, on the queue's
     * budget, which survives resets).
     */
    if (written > request->writable_bytes) {
        log_ratelimited(&queue->log_limit,
                        "virtqueue: device bug: %u bytes reported written into %llu writable bytes; clamped", written,
                        (unsigned long long)request->writable_bytes);
        written = (uint32_t)request->writable_bytes;
    }

    struct vring_used_elem *element = &ring->used->ring[ring->next_used & ring->mask];
    __atomic_store_n(&element->id, (uint32_t)id, __ATOMIC_RELAXED);
    __atomic_store_n(&element->len, written, __ATOMIC_RELAXED);
    ring->next_used++;
    /* Release: the element and the data written into the buffers are visible before the index. */
    __atomic_store_n(&ring->used->idx, ring->next_used, __ATOMIC_RELEASE);
    return 0;
}

bool split_ring_should_notify(struct virtq *queue)
{
    struct split_ring_state *ring = &queue->split;
    /*
     * Full fence: our used->idx store must be globally visible before we read
     * the driver's suppression state, which it writes before re-reading
     * used->idx; otherwise each side can miss the other (a lost interrupt).
     */
    atomic_thread_fence(memory_order_seq_cst);
    uint16_t old_used = ring->signalled_used;
    uint16_t new_used = ring->next_used;
    ring->signalled_used = new_used;
    if (queue->config.event_idx) {
        uint16_t used_event = __atomic_load_n(ring->used_event, __ATOMIC_RELAXED);
        return vring_need_event(used_event, new_used, old_used);
    }
    if (new_used == old_used)
        return false;
    uint16_t flags = __atomic_load_n(&ring->avail->flags, __ATOMIC_RELAXED);
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

void split_ring_disable_kicks(struct virtq *queue)
{
    struct split_ring_state *ring = &queue->split;
    ring->kicks_enabled = false;
    if (queue->config.event_idx) {
        /*
         * The driver kicks when its new index passes avail_event, i.e. when
         * avail_event lies in [old, new). Its old index is never below
         * next_avail, and it is at most the queue size ahead, so next_avail - 1
         * is never passed.
         */
        __atomic_store_n(ring->avail_event, (uint16_t)(ring->next_avail - 1), __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&ring->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
    }
}

bool split_ring_enable_kicks(struct virtq *queue)
{
    struct split_ring_state *ring = &queue->split;
    ring->kicks_enabled = true;
    if (queue->config.event_idx)
        __atomic_store_n(ring->avail_event, ring->next_avail, __ATOMIC_RELAXED);
    else
        __atomic_store_n(&ring->used->flags, 0, __ATOMIC_RELAXED);
    /* Pairs with the driver's fence between publishing avail->idx and reading our suppression state. */
    atomic_thread_fence(memory_order_seq_cst);
    uint16_t avail_idx = __atomic_load_n(&ring->avail->idx, __ATOMIC_ACQUIRE);
    return avail_idx != ring->next_avail;
}
