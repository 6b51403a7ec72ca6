#include "virtio/packed_ring.h"

#include <stdatomic.h>

#include "virtio/chain.h"
#include "virtio/guest_load.h"

/*
 * The device side of a packed ring. The guest writes the descriptor ring and
 * the driver event structure at any moment, so every descriptor is copied
 * once into a local struct (each field loaded exactly once) and only the copy
 * is checked and used.
 *
 * Decisions where the spec leaves room or a driver breaks it:
 * - Every descriptor of a chain must carry the AVAIL/USED bits of the lap it
 *   sits in (the lap flips where the chain crosses the ring end); otherwise
 *   the queue is broken, since the driver and the device disagree on laps.
 * - An indirect descriptor must be the only descriptor of its chain (the spec
 *   forbids INDIRECT with NEXT). Its WRITE flag is ignored; inside the table
 *   only WRITE counts, NEXT and ids are ignored, INDIRECT breaks the queue, and
 *   the table holds at most queue-size entries.
 * - Ring slots popped and not yet returned never exceed the queue size: a
 *   driver that offers a slot the device has not given back breaks the queue.
 * - push clamps `written` to the request's writable bytes and sets WRITE in
 *   the used descriptor when the buffer had writable bytes.
 * - Driver event flags that are not valid here (DESC without EVENT_IDX, the
 *   reserved value 3) are taken as ENABLE: a spare interrupt does no harm.
 */

enum {
    DESCRIPTOR_RING_ALIGNMENT = 16,
    EVENT_AREA_ALIGNMENT = 4,
    FLAG_AVAIL = 1u << VRING_PACKED_DESC_F_AVAIL,
    FLAG_USED = 1u << VRING_PACKED_DESC_F_USED,
    EVENT_WRAP_BIT = 1u << VRING_PACKED_EVENT_F_WRAP_CTR,
};

#ifdef KESTREL_TEST_SEAMS
void (*packed_ring_descriptor_copied_hook)(void *descriptor_in_guest_memory);
#define DESCRIPTOR_COPIED(location)                                                                                   \
    do {                                                                                                              \
        if (packed_ring_descriptor_copied_hook)                                                                       \
            packed_ring_descriptor_copied_hook(location);                                                             \
    } while (0)
#else
#define DESCRIPTOR_COPIED(location) ((void)0)
#endif

struct descriptor_copy {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};

/* EVENT_IDX: asks the driver to kick when it makes the slot the device reads next available. */
static void request_kick_at_next_slot(struct packed_ring_state *ring)
{
    uint16_t off_wrap = ring->next_avail | (ring->avail_wrap_counter ? EVENT_WRAP_BIT : 0);
    __atomic_store_n(&ring->device_event->off_wrap, off_wrap, __ATOMIC_RELAXED);
    /* Release: a driver that sees DESC sees the offset it goes with. */
    __atomic_store_n(&ring->device_event->flags, (uint16_t)VRING_PACKED_EVENT_FLAG_DESC, __ATOMIC_RELEASE);
}

int packed_ring_enable(struct virtq *queue)
{
    struct packed_ring_state *ring = &queue->packed;
    const struct virtq_config *config = &queue->config;
    if (config->desc_gpa % DESCRIPTOR_RING_ALIGNMENT) {
        virtq_mark_broken(queue, "packed descriptor ring is not 16-byte aligned");
        return -1;
    }
    if (config->driver_gpa % EVENT_AREA_ALIGNMENT || config->device_gpa % EVENT_AREA_ALIGNMENT) {
        virtq_mark_broken(queue, "packed event suppression area is not 4-byte aligned");
        return -1;
    }
    /* size <= VIRTQ_MAX_SIZE (checked by the caller), so the product cannot overflow. */
    uint64_t ring_bytes = (uint64_t)config->size * sizeof(struct vring_packed_desc);
    ring->descriptors = gpa_to_hva(queue->memory, config->desc_gpa, ring_bytes);
    ring->driver_event = gpa_to_hva(queue->memory, config->driver_gpa, sizeof(struct vring_packed_desc_event));
    ring->device_event = gpa_to_hva(queue->memory, config->device_gpa, sizeof(struct vring_packed_desc_event));
    if (!ring->descriptors || !ring->driver_event || !ring->device_event) {
        virtq_mark_broken(queue, "packed ring area outside guest RAM");
        return -1;
    }
    ring->next_avail = 0;
    ring->avail_wrap_counter = true;
    ring->kicks_enabled = true;
    ring->kick_requested = false;
    /*
     * The device owns its event structure: start from "kick me", whatever an
     * earlier life of the queue left. With EVENT_IDX that means "kick at the
     * first slot", as the split ring starts with avail_event 0.
     */
    if (config->event_idx) {
        request_kick_at_next_slot(ring);
    } else {
        __atomic_store_n(&ring->device_event->off_wrap, (uint16_t)0, __ATOMIC_RELAXED);
        __atomic_store_n(&ring->device_event->flags, (uint16_t)VRING_PACKED_EVENT_FLAG_ENABLE, __ATOMIC_RELAXED);
    }
    ring->next_used = 0;
    ring->used_wrap_counter = true;
    ring->slots_in_flight = 0;
    ring->signalled_used_valid = false;
    ring->used_since_signal = 0;
    return 0;
}

/* The driver made a descriptor available in the lap given by `wrap`: AVAIL equals it, USED differs. */
static inline bool descriptor_is_available(uint16_t flags, bool wrap)
{
    bool avail = flags & FLAG_AVAIL;
    bool used = flags & FLAG_USED;
    return avail == wrap && used != wrap;
}

static inline void advance_slot(uint16_t *slot, bool *wrap, uint16_t count, uint16_t size)
{
    uint32_t next = (uint32_t)*slot + count;
    if (next >= size) {
        next -= size;
        *wrap = !*wrap;
    }
    *slot = (uint16_t)next;
}

/* Fields after `flags`, which the caller already loaded (with acquire for a chain's head). */
static inline void copy_ring_descriptor(const struct vring_packed_desc *descriptor, struct descriptor_copy *copy)
{
    copy->addr = __atomic_load_n(&descriptor->addr, __ATOMIC_RELAXED);
    copy->len = __atomic_load_n(&descriptor->len, __ATOMIC_RELAXED);
    copy->id = __atomic_load_n(&descriptor->id, __ATOMIC_RELAXED);
}

/*
 * Indirect tables have no alignment requirement, so entries are copied with
 * single unaligned volatile loads (guest_load.h): the compiler cannot read
 * guest memory again in place of the local copy.
 */
static inline void copy_table_entry(const unsigned char *entry, struct descriptor_copy *copy)
{
    struct vring_packed_desc raw;
    guest_load_packed_descriptor(&raw, entry);
    copy->addr = raw.addr;
    copy->len = raw.len;
    copy->id = raw.id;
    copy->flags = raw.flags;
}

/* Walks an indirect table (virtio 1.2 section 2.8.19). Returns NULL or what is wrong. */
static const char *add_indirect_table(struct chain_builder *builder, const struct descriptor_copy *indirect)
{
    if (indirect->len == 0 || indirect->len % sizeof(struct vring_packed_desc))
        return "indirect table length is 0 or not a multiple of 16";
    unsigned char *table = gpa_to_hva(builder->memory, indirect->addr, indirect->len);
    if (!table)
        return "indirect table outside guest RAM";
    uint32_t entries = indirect->len / (uint32_t)sizeof(struct vring_packed_desc);
    const char *reason;
    /* Bounded twice: by the table's entry count and by the chain's descriptor limit. */
    for (uint32_t i = 0; i < entries; i++) {
        unsigned char *location = table + (size_t)i * sizeof(struct vring_packed_desc);
        struct descriptor_copy entry;
        copy_table_entry(location, &entry);
        DESCRIPTOR_COPIED(location);
        if (!chain_count_descriptor(builder, &reason))
            return reason;
        /* Only WRITE has a meaning inside a table; NEXT and the id are ignored (entries are consecutive). */
        if (entry.flags & VRING_DESC_F_INDIRECT)
            return "nested indirect descriptor";
        reason = chain_add_buffer(builder, entry.addr, entry.len, entry.flags & VRING_DESC_F_WRITE);
        if (reason)
            return reason;
    }
    return NULL;
}

int packed_ring_pop(struct virtq *queue, struct virtq_request *request)
{
    struct packed_ring_state *ring = &queue->packed;
    const uint16_t size = queue->config.size;
    uint16_t slot = ring->next_avail;
    bool wrap = ring->avail_wrap_counter;
    struct vring_packed_desc *descriptor = &ring->descriptors[slot];

    /* Acquire pairs with the driver's release of the head: the rest of the chain is visible after it. */
    struct descriptor_copy copy;
    copy.flags = __atomic_load_n(&descriptor->flags, __ATOMIC_ACQUIRE);
    if (!descriptor_is_available(copy.flags, wrap)) {
        if (!queue->config.event_idx || !ring->kicks_enabled || ring->kick_requested)
            return VIRTQ_POP_EMPTY;
        /*
         * About to report "empty", after which the device sleeps until a
         * kick: ask for one at this slot, then look again. The full fence
         * pairs with the driver's (publish the head; fence; read the device
         * event), so either it sees our request or we see its descriptor.
         * Busy devices skip this, so the driver kicks less while we work.
         * Once requested at this slot (and fenced), further empty pops need
         * only the load above: the request is already visible to the driver.
         */
        request_kick_at_next_slot(ring);
        atomic_thread_fence(memory_order_seq_cst);
        ring->kick_requested = true;
        copy.flags = __atomic_load_n(&descriptor->flags, __ATOMIC_ACQUIRE);
        if (!descriptor_is_available(copy.flags, wrap))
            return VIRTQ_POP_EMPTY;
    }

    struct chain_builder builder;
    chain_begin(&builder, request, queue->memory, size);
    const char *reason;
    uint16_t slots = 0;
    for (;;) {
        copy_ring_descriptor(descriptor, &copy);
        DESCRIPTOR_COPIED(descriptor);
        /* Counting first bounds the walk before anything else is looked at. */
        if (!chain_count_descriptor(&builder, &reason))
            return virtq_mark_broken(queue, reason);
        if (!descriptor_is_available(copy.flags, wrap))
            return virtq_mark_broken(queue, "chain descriptor not available in this lap (wrap counter confusion)");
        slots++;
        if (copy.flags & VRING_DESC_F_INDIRECT) {
            if (!queue->config.indirect)
                return virtq_mark_broken(queue, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
            if (copy.flags & VRING_DESC_F_NEXT)
                return virtq_mark_broken(queue, "indirect descriptor with NEXT");
            if (slots != 1)
                return virtq_mark_broken(queue, "indirect descriptor inside a chain");
            /*
             * The table's entries are the whole buffer; the descriptor that points at it carries no data.
             * Like a chain in the ring, a table holds at most queue-size descriptors.
             */
            chain_begin(&builder, request, queue->memory, size);
            reason = add_indirect_table(&builder, &copy);
        } else {
            reason = chain_add_buffer(&builder, copy.addr, copy.len, copy.flags & VRING_DESC_F_WRITE);
        }
        if (reason)
            return virtq_mark_broken(queue, reason);
        if (!(copy.flags & VRING_DESC_F_NEXT))
            break;
        advance_slot(&slot, &wrap, 1, size);
        descriptor = &ring->descriptors[slot];
        /* Ordered after the head's acquire load; availability is checked on the copy above. */
        copy.flags = __atomic_load_n(&descriptor->flags, __ATOMIC_RELAXED);
    }

    /* The buffer id travels in the chain's last descriptor. */
    if (copy.id >= size)
        return virtq_mark_broken(queue, "buffer id not below the queue size");
    if ((uint32_t)ring->slots_in_flight + slots > size)
        return virtq_mark_broken(queue, "more descriptors in flight than the queue size");
    if (!virtq_take_in_flight(queue, copy.id))
        return virtq_mark_broken(queue, "buffer id already in flight");
    request->id = copy.id;
    request->ring_slots = slots;
    request->generation = queue->generation;
    ring->slots_in_flight += slots;
    ring->kick_requested = false;
    advance_slot(&ring->next_avail, &ring->avail_wrap_counter, slots, size);
    return VIRTQ_POP_OK;
}

int packed_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written)
{
    struct packed_ring_state *ring = &queue->packed;
    uint16_t slots = request->ring_slots;
    if (slots == 0 || slots > ring->slots_in_flight)
        return -1;
    if (!virtq_release_in_flight(queue, request->id))
        return -1;
    /* Telling the driver more was written than its buffers hold would make it read past them: clamp. */
    if (written > request->writable_bytes)
        written = (uint32_t)request->writable_bytes;

    struct vring_packed_desc *descriptor = &ring->descriptors[ring->next_used];
    uint16_t flags = ring->used_wrap_counter ? FLAG_AVAIL | FLAG_USED : 0;
    /* The length field is only meaningful to the driver when WRITE is set in a used descriptor. */
    if (request->writable_bytes)
        flags |= VRING_DESC_F_WRITE;
    __atomic_store_n(&descriptor->id, request->id, __ATOMIC_RELAXED);
    __atomic_store_n(&descriptor->len, written, __ATOMIC_RELAXED);
    /* Release: the driver that sees the flags sees the id, the length and the data written. */
    __atomic_store_n(&descriptor->flags, flags, __ATOMIC_RELEASE);

    /* One used descriptor per buffer; the slots the rest of its chain took are skipped. */
    ring->slots_in_flight -= slots;
    if (ring->used_since_signal < 2u * queue->config.size)
        ring->used_since_signal += slots;
    advance_slot(&ring->next_used, &ring->used_wrap_counter, slots, queue->config.size);
    return 0;
}

/* A used position as a count in [0, 2 * size): the wrap counter starts at 1 and flips every lap. */
static inline uint32_t used_position(uint32_t offset, bool wrap, uint32_t size)
{
    return (offset + (wrap ? 0 : size)) % (2 * size);
}

bool packed_ring_should_notify(struct virtq *queue)
{
    struct packed_ring_state *ring = &queue->packed;
    /* Our used descriptors must be visible before we read whether the driver wants to hear of them. */
    atomic_thread_fence(memory_order_seq_cst);
    uint16_t flags = __atomic_load_n(&ring->driver_event->flags, __ATOMIC_ACQUIRE);
    uint16_t off_wrap = __atomic_load_n(&ring->driver_event->off_wrap, __ATOMIC_RELAXED);

    uint32_t size = queue->config.size;
    uint32_t old = used_position(ring->signalled_used, ring->signalled_used_wrap, size);
    uint32_t now = used_position(ring->next_used, ring->used_wrap_counter, size);
    bool had_signalled = ring->signalled_used_valid;
    ring->signalled_used = ring->next_used;
    ring->signalled_used_wrap = ring->used_wrap_counter;
    ring->signalled_used_valid = true;
    bool lapped = ring->used_since_signal >= 2 * size;
    bool used_nothing = ring->used_since_signal == 0;
    ring->used_since_signal = 0;

    /* Nothing pushed since the last decision: nothing to tell the driver (as the split ring decides). */
    if (flags == VRING_PACKED_EVENT_FLAG_DISABLE || (had_signalled && used_nothing))
        return false;
    /* ENABLE, and values that are not valid here (DESC without EVENT_IDX, reserved): a spare interrupt is harmless. */
    if (flags != VRING_PACKED_EVENT_FLAG_DESC || !queue->config.event_idx || !had_signalled || lapped)
        return true;
    /* Notify when the used descriptor the driver named was written since the last notification. */
    uint32_t event = used_position(off_wrap & ~EVENT_WRAP_BIT, off_wrap & EVENT_WRAP_BIT, size);
    uint32_t to_event = (event + 2 * size - old) % (2 * size);
    uint32_t to_now = (now + 2 * size - old) % (2 * size);
    return to_event < to_now;
}

void packed_ring_disable_kicks(struct virtq *queue)
{
    queue->packed.kicks_enabled = false;
    queue->packed.kick_requested = false;
    __atomic_store_n(&queue->packed.device_event->flags, (uint16_t)VRING_PACKED_EVENT_FLAG_DISABLE,
                     __ATOMIC_RELAXED);
}

bool packed_ring_enable_kicks(struct virtq *queue)
{
    struct packed_ring_state *ring = &queue->packed;
    ring->kicks_enabled = true;
    if (queue->config.event_idx)
        request_kick_at_next_slot(ring);
    else
        __atomic_store_n(&ring->device_event->flags, (uint16_t)VRING_PACKED_EVENT_FLAG_ENABLE, __ATOMIC_RELEASE);
    /* The driver may have made buffers available before it could see kicks enabled. */
    atomic_thread_fence(memory_order_seq_cst);
    uint16_t flags = __atomic_load_n(&ring->descriptors[ring->next_avail].flags, __ATOMIC_ACQUIRE);
    return descriptor_is_available(flags, ring->avail_wrap_counter);
}
