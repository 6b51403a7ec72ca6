#include <errno.h>
#include <stdlib.h>

#include "harness/driver_layouts.h"

/*
 * Packed ring, driver side (virtio 1.2 section 2.8), behaving like Linux's
 * virtqueue_*_packed(): descriptors are written in ring order, each chain's
 * head flags last with a release store; buffer ids come from a free list and
 * a chain holds as many ids as ring slots; AVAIL/USED bits and the wrap
 * counters flip each lap.
 */

enum {
    PACKED_AVAIL = 1 << VRING_PACKED_DESC_F_AVAIL,
    PACKED_USED = 1 << VRING_PACKED_DESC_F_USED,
    PACKED_WRAP = 1 << VRING_PACKED_EVENT_F_WRAP_CTR,
};

int driver_packed_init(struct virtq_driver *driver, struct guest_allocator *allocator)
{
    uint64_t size = driver->size;
    uint64_t desc_gpa = guest_allocator_alloc(allocator, 16 * size, 16);
    uint64_t driver_event_gpa = guest_allocator_alloc(allocator, 4, 4);
    uint64_t device_event_gpa = guest_allocator_alloc(allocator, 4, 4);
    if (desc_gpa == GUEST_ALLOCATION_FAILED || driver_event_gpa == GUEST_ALLOCATION_FAILED ||
        device_event_gpa == GUEST_ALLOCATION_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    struct virtq_driver_packed *packed = &driver->packed;
    packed->pending_head_slots = calloc(size, sizeof(*packed->pending_head_slots));
    packed->pending_head_flags = calloc(size, sizeof(*packed->pending_head_flags));
    if (!packed->pending_head_slots || !packed->pending_head_flags) {
        errno = ENOMEM;
        return -1;
    }
    driver->config.desc_gpa = desc_gpa;
    driver->config.driver_gpa = driver_event_gpa;
    driver->config.device_gpa = device_event_gpa;
    packed->descriptors = gpa_to_hva(driver->memory, desc_gpa, 16 * size);
    packed->driver_event = gpa_to_hva(driver->memory, driver_event_gpa, 4);
    packed->device_event = gpa_to_hva(driver->memory, device_event_gpa, 4);
    /* Both wrap counters start at 1; the zeroed ring reads as "not available" in the first lap. */
    packed->avail_wrap_counter = true;
    packed->used_wrap_counter = true;
    packed->avail_used_flags = PACKED_AVAIL;
    packed->event_flags_shadow = VRING_PACKED_EVENT_FLAG_ENABLE;
    return 0;
}

static void advance_avail(struct virtq_driver_packed *packed, uint16_t size)
{
    if (++packed->next_avail >= size) {
        packed->next_avail = 0;
        packed->avail_used_flags ^= PACKED_AVAIL | PACKED_USED;
        packed->avail_wrap_counter = !packed->avail_wrap_counter;
    }
}

int driver_packed_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token)
{
    struct virtq_driver_packed *packed = &driver->packed;
    unsigned total = request->readable_count + request->writable_count;
    unsigned needed = request->indirect ? 1 : total;
    if (driver->free_count < needed)
        return -ENOSPC;
    uint16_t id = driver->free_head;
    uint16_t head = packed->next_avail;
    uint16_t head_flags = 0;
    uint16_t id_cursor = id;
    uint16_t last_id = id;
    if (request->indirect) {
        uint64_t table_gpa = driver_indirect_table(driver, id);
        struct vring_packed_desc *table = gpa_to_hva(driver->memory, table_gpa, 16ull * total);
        for (unsigned i = 0; i < total; i++) {
            bool writable = i >= request->readable_count;
            const struct virtq_driver_buffer *buffer =
                writable ? &request->writable[i - request->readable_count] : &request->readable[i];
            table[i] = (struct vring_packed_desc){
                .addr = buffer->gpa,
                .len = buffer->len,
                .id = 0,
                .flags = writable ? VRING_DESC_F_WRITE : 0,
            };
        }
        struct vring_packed_desc *descriptor = &packed->descriptors[head];
        descriptor->addr = table_gpa;
        descriptor->len = 16 * total;
        descriptor->id = id;
        head_flags = VRING_DESC_F_INDIRECT | packed->avail_used_flags;
        id_cursor = driver->free_next[id_cursor];
        advance_avail(packed, driver->size);
    } else {
        for (unsigned i = 0; i < total; i++) {
            bool writable = i >= request->readable_count;
            const struct virtq_driver_buffer *buffer =
                writable ? &request->writable[i - request->readable_count] : &request->readable[i];
            uint16_t flags = packed->avail_used_flags | (writable ? VRING_DESC_F_WRITE : 0) |
                             (i + 1 < total ? VRING_DESC_F_NEXT : 0);
            struct vring_packed_desc *descriptor = &packed->descriptors[packed->next_avail];
            descriptor->addr = buffer->gpa;
            descriptor->len = buffer->len;
            descriptor->id = id;
            if (i == 0)
                head_flags = flags;
            else
                ring_store_relaxed(&descriptor->flags, flags);
            last_id = id_cursor;
            id_cursor = driver->free_next[id_cursor];
            advance_avail(packed, driver->size);
        }
    }
    driver->free_head = id_cursor;
    driver->free_count = (uint16_t)(driver->free_count - needed);
    driver->in_flight[id] = (struct virtq_driver_in_flight){
        .token = token,
        .descriptors = (uint16_t)needed,
        .last = last_id,
        .busy = true,
    };
    packed->pending_head_slots[packed->pending_heads] = head;
    packed->pending_head_flags[packed->pending_heads] = head_flags;
    packed->pending_heads++;
    driver->added_since_kick = (uint16_t)(driver->added_since_kick + needed);
    return 0;
}

void driver_packed_publish(struct virtq_driver *driver)
{
    struct virtq_driver_packed *packed = &driver->packed;
    /* A head flips to available only after the rest of its chain is written: the release store orders them. */
    for (uint16_t i = 0; i < packed->pending_heads; i++)
        ring_store_release(&packed->descriptors[packed->pending_head_slots[i]].flags, packed->pending_head_flags[i]);
    packed->pending_heads = 0;
}

bool driver_packed_kick_prepare(struct virtq_driver *driver)
{
    struct virtq_driver_packed *packed = &driver->packed;
    driver_packed_publish(driver);
    ring_full_barrier();
    uint16_t new_idx = packed->next_avail;
    uint16_t old_idx = (uint16_t)(new_idx - driver->added_since_kick);
    bool added = driver->added_since_kick != 0;
    driver->added_since_kick = 0;
    if (!added)
        return false;
    uint16_t flags = ring_load_acquire(&packed->device_event->flags) & 3;
    if (flags != VRING_PACKED_EVENT_FLAG_DESC)
        return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
    uint16_t off_wrap = ring_load_acquire(&packed->device_event->off_wrap);
    bool event_wrap = off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR;
    uint16_t event_idx = off_wrap & (uint16_t)~PACKED_WRAP;
    /* An event offset in the previous lap sits `size` below ours; bring it into the same index space. */
    if (event_wrap != packed->avail_wrap_counter)
        event_idx = (uint16_t)(event_idx - driver->size);
    return vring_need_event(event_idx, new_idx, old_idx);
}

/* Has the device marked slot `index` used in the lap with wrap counter `wrap`? */
static bool is_used(const struct virtq_driver_packed *packed, uint16_t index, bool wrap)
{
    uint16_t flags = ring_load_acquire(&packed->descriptors[index].flags);
    bool avail = flags & PACKED_AVAIL;
    bool used = flags & PACKED_USED;
    return avail == used && used == wrap;
}

static uint16_t used_off_wrap(const struct virtq_driver *driver)
{
    return (uint16_t)(driver->last_used | (driver->packed.used_wrap_counter ? PACKED_WRAP : 0));
}

int driver_packed_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written)
{
    struct virtq_driver_packed *packed = &driver->packed;
    if (!is_used(packed, driver->last_used, packed->used_wrap_counter))
        return 0;
    const struct vring_packed_desc *descriptor = &packed->descriptors[driver->last_used];
    uint16_t id = descriptor->id;
    uint32_t len = descriptor->len;
    if (id >= driver->size)
        return driver_mark_broken(driver, "used buffer id out of range");
    struct virtq_driver_in_flight *entry = &driver->in_flight[id];
    if (!entry->busy)
        return driver_mark_broken(driver, "used buffer id is not in flight");
    *token = entry->token;
    *written = len;
    entry->busy = false;
    driver->free_next[entry->last] = driver->free_head;
    driver->free_head = id;
    driver->free_count = (uint16_t)(driver->free_count + entry->descriptors);
    /* The device skips the rest of the chain's slots: its used element stands for all of them. */
    uint16_t next = (uint16_t)(driver->last_used + entry->descriptors);
    if (next >= driver->size) {
        next = (uint16_t)(next - driver->size);
        packed->used_wrap_counter = !packed->used_wrap_counter;
    }
    driver->last_used = next;
    if (packed->event_flags_shadow == VRING_PACKED_EVENT_FLAG_DESC) {
        ring_store_relaxed(&packed->driver_event->off_wrap, used_off_wrap(driver));
        ring_full_barrier();
    }
    return 1;
}

void driver_packed_disable_callbacks(struct virtq_driver *driver)
{
    struct virtq_driver_packed *packed = &driver->packed;
    if (packed->event_flags_shadow == VRING_PACKED_EVENT_FLAG_DISABLE)
        return;
    packed->event_flags_shadow = VRING_PACKED_EVENT_FLAG_DISABLE;
    ring_store_relaxed(&packed->driver_event->flags, packed->event_flags_shadow);
}

/* Points the driver event at `off_wrap` (EVENT_IDX) and turns interrupts back on. */
static void request_interrupt_at(struct virtq_driver *driver, uint16_t off_wrap)
{
    struct virtq_driver_packed *packed = &driver->packed;
    if (driver->config.event_idx)
        /* The offset must be in place before the flags tell the device to look at it. */
        ring_store_release(&packed->driver_event->off_wrap, off_wrap);
    if (packed->event_flags_shadow == VRING_PACKED_EVENT_FLAG_DISABLE) {
        packed->event_flags_shadow =
            driver->config.event_idx ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE;
        ring_store_release(&packed->driver_event->flags, packed->event_flags_shadow);
    }
    ring_full_barrier();
}

bool driver_packed_enable_callbacks(struct virtq_driver *driver)
{
    request_interrupt_at(driver, used_off_wrap(driver));
    return !is_used(&driver->packed, driver->last_used, driver->packed.used_wrap_counter);
}

bool driver_packed_enable_callbacks_delayed(struct virtq_driver *driver)
{
    struct virtq_driver_packed *packed = &driver->packed;
    uint16_t wait_for = (uint16_t)((driver->size - driver->free_count) * 3 / 4);
    uint16_t event = (uint16_t)(driver->last_used + wait_for);
    bool wrap = packed->used_wrap_counter;
    if (event >= driver->size) {
        event = (uint16_t)(event - driver->size);
        wrap = !wrap;
    }
    request_interrupt_at(driver, (uint16_t)(event | (wrap ? PACKED_WRAP : 0)));
    return !is_used(packed, driver->last_used, packed->used_wrap_counter);
}
