#include <errno.h>

#include "harness/driver_layouts.h"

/*
 * Split ring, driver side (virtio 1.2 section 2.7), behaving like Linux's
 * virtqueue_*_split(): free descriptors are chained through their next
 * links (kept in a private shadow so the device cannot corrupt the list),
 * one avail entry per chain, used_event at avail->ring[size] and the device's
 * avail_event at used->ring[size].
 */

static uint16_t *used_event_field(struct virtq_driver *driver)
{
    return &driver->split.avail->ring[driver->size];
}

static uint16_t *avail_event_field(struct virtq_driver *driver)
{
    return (uint16_t *)&driver->split.used->ring[driver->size];
}

int driver_split_init(struct virtq_driver *driver, struct guest_allocator *allocator)
{
    uint64_t size = driver->size;
    uint64_t desc_gpa = guest_allocator_alloc(allocator, 16 * size, VRING_DESC_ALIGN_SIZE);
    uint64_t avail_gpa = guest_allocator_alloc(allocator, 6 + 2 * size, VRING_AVAIL_ALIGN_SIZE);
    uint64_t used_gpa = guest_allocator_alloc(allocator, 6 + 8 * size, VRING_USED_ALIGN_SIZE);
    if (desc_gpa == GUEST_ALLOCATION_FAILED || avail_gpa == GUEST_ALLOCATION_FAILED ||
        used_gpa == GUEST_ALLOCATION_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    driver->config.desc_gpa = desc_gpa;
    driver->config.driver_gpa = avail_gpa;
    driver->config.device_gpa = used_gpa;
    driver->split.descriptors = gpa_to_hva(driver->memory, desc_gpa, 16 * size);
    driver->split.avail = gpa_to_hva(driver->memory, avail_gpa, 6 + 2 * size);
    driver->split.used = gpa_to_hva(driver->memory, used_gpa, 6 + 8 * size);
    return 0;
}

static void write_descriptor(struct vring_desc *descriptor, const struct virtq_driver_buffer *buffer, uint16_t flags,
                             uint16_t next)
{
    descriptor->addr = buffer->gpa;
    descriptor->len = buffer->len;
    descriptor->flags = flags;
    descriptor->next = next;
}

static const struct virtq_driver_buffer *request_buffer(const struct virtq_driver_request *request, unsigned index,
                                                        bool *writable)
{
    *writable = index >= request->readable_count;
    return *writable ? &request->writable[index - request->readable_count] : &request->readable[index];
}

int driver_split_add(struct virtq_driver *driver, const struct virtq_driver_request *request, uint64_t token)
{
    unsigned total = request->readable_count + request->writable_count;
    unsigned needed = request->indirect ? 1 : total;
    if (driver->free_count < needed)
        return -ENOSPC;
    struct vring_desc *ring = driver->split.descriptors;
    uint16_t head = driver->free_head;
    uint16_t last;
    if (request->indirect) {
        uint64_t table_gpa = driver_indirect_table(driver, head);
        struct vring_desc *table = gpa_to_hva(driver->memory, table_gpa, 16ull * total);
        for (unsigned i = 0; i < total; i++) {
            bool writable;
            const struct virtq_driver_buffer *buffer = request_buffer(request, i, &writable);
            uint16_t flags = (writable ? VRING_DESC_F_WRITE : 0) | (i + 1 < total ? VRING_DESC_F_NEXT : 0);
            write_descriptor(&table[i], buffer, flags, (uint16_t)(i + 1));
        }
        struct virtq_driver_buffer table_buffer = {.gpa = table_gpa, .len = 16 * total};
        write_descriptor(&ring[head], &table_buffer, VRING_DESC_F_INDIRECT, driver->free_next[head]);
        last = head;
        driver->free_head = driver->free_next[head];
    } else {
        uint16_t index = head;
        last = head;
        for (unsigned i = 0; i < total; i++) {
            bool writable;
            const struct virtq_driver_buffer *buffer = request_buffer(request, i, &writable);
            uint16_t flags = (writable ? VRING_DESC_F_WRITE : 0) | (i + 1 < total ? VRING_DESC_F_NEXT : 0);
            write_descriptor(&ring[index], buffer, flags, driver->free_next[index]);
            last = index;
            index = driver->free_next[index];
        }
        driver->free_head = index;
    }
    driver->free_count = (uint16_t)(driver->free_count - needed);
    driver->in_flight[head] = (struct virtq_driver_in_flight){
        .token = token,
        .descriptors = (uint16_t)needed,
        .last = last,
        .busy = true,
    };
    /*
     * This avail slot last held the entry `size` positions back, which the
     * device has consumed: its chain's descriptors were returned before the
     * free list could supply ours.
     */
    driver->split.avail->ring[driver->split.avail_idx_shadow & (driver->size - 1)] = head;
    driver->split.avail_idx_shadow++;
    driver->added_since_kick++;
    return 0;
}

void driver_split_publish(struct virtq_driver *driver)
{
    /* Descriptors and avail entries must be visible before the index that exposes them. */
    ring_store_release(&driver->split.avail->idx, driver->split.avail_idx_shadow);
}

bool driver_split_kick_prepare(struct virtq_driver *driver)
{
    driver_split_publish(driver);
    /* The index store must be visible before we read the device's suppression state. */
    ring_full_barrier();
    uint16_t new_idx = driver->split.avail_idx_shadow;
    uint16_t old_idx = (uint16_t)(new_idx - driver->added_since_kick);
    bool added = driver->added_since_kick != 0;
    driver->added_since_kick = 0;
    /* Linux would kick with nothing added when flags allow it; a kick for nothing only adds noise here. */
    if (!added)
        return false;
    if (driver->config.event_idx)
        return vring_need_event(ring_load_relaxed(avail_event_field(driver)), new_idx, old_idx);
    return !(ring_load_relaxed(&driver->split.used->flags) & VRING_USED_F_NO_NOTIFY);
}

int driver_split_get_used(struct virtq_driver *driver, uint64_t *token, uint32_t *written)
{
    if (driver->last_used == ring_load_acquire(&driver->split.used->idx))
        return 0;
    const struct vring_used_elem *element = &driver->split.used->ring[driver->last_used & (driver->size - 1)];
    uint32_t id = element->id;
    uint32_t len = element->len;
    if (id >= driver->size)
        return driver_mark_broken(driver, "used id out of range");
    struct virtq_driver_in_flight *entry = &driver->in_flight[id];
    if (!entry->busy)
        return driver_mark_broken(driver, "used id is not in flight");
    *token = entry->token;
    *written = len;
    entry->busy = false;
    driver->free_next[entry->last] = driver->free_head;
    driver->free_head = (uint16_t)id;
    driver->free_count = (uint16_t)(driver->free_count + entry->descriptors);
    driver->last_used++;
    /* Interrupts wanted: move the event index along so the next completion interrupts us. */
    if (!(driver->split.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT)) {
        ring_store_relaxed(used_event_field(driver), driver->last_used);
        ring_full_barrier();
    }
    return 1;
}

void driver_split_disable_callbacks(struct virtq_driver *driver)
{
    if (driver->split.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT)
        return;
    driver->split.avail_flags_shadow |= VRING_AVAIL_F_NO_INTERRUPT;
    if (driver->config.event_idx)
        /* What Linux writes: an event index the used index only crosses once per 65536 completions. */
        ring_store_relaxed(used_event_field(driver), 0);
    else
        ring_store_relaxed(&driver->split.avail->flags, driver->split.avail_flags_shadow);
}

static void clear_no_interrupt(struct virtq_driver *driver)
{
    if (!(driver->split.avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT))
        return;
    driver->split.avail_flags_shadow &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
    if (!driver->config.event_idx)
        ring_store_relaxed(&driver->split.avail->flags, driver->split.avail_flags_shadow);
}

bool driver_split_enable_callbacks(struct virtq_driver *driver)
{
    clear_no_interrupt(driver);
    ring_store_relaxed(used_event_field(driver), driver->last_used);
    /* Our request for an interrupt must be visible before we look for completions (virtqueue_poll). */
    ring_full_barrier();
    return driver->last_used == ring_load_relaxed(&driver->split.used->idx);
}

bool driver_split_enable_callbacks_delayed(struct virtq_driver *driver)
{
    clear_no_interrupt(driver);
    uint16_t outstanding = (uint16_t)(driver->split.avail_idx_shadow - driver->last_used);
    uint16_t wait_for = (uint16_t)(outstanding * 3 / 4);
    ring_store_relaxed(used_event_field(driver), (uint16_t)(driver->last_used + wait_for));
    ring_full_barrier();
    uint16_t completed = (uint16_t)(ring_load_relaxed(&driver->split.used->idx) - driver->last_used);
    return completed <= wait_for;
}
