#include "pci/msix.h"

#include <stdlib.h>
#include <string.h>

#include "util/checked_math.h"

uint32_t msix_table_size(unsigned vector_count)
{
    return vector_count * MSIX_ENTRY_SIZE;
}

uint32_t msix_pba_size(unsigned vector_count)
{
    return (vector_count + 63) / 64 * 8;
}

static bool regions_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a < b + b_size && b < a + a_size;
}

int msix_init(struct msix *msix, unsigned vector_count, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
              uint32_t pba_offset, const struct msix_delivery_ops *delivery, void *delivery_opaque,
              struct error *error)
{
    memset(msix, 0, sizeof(*msix));
    if (vector_count == 0 || vector_count > MSIX_MAX_VECTORS || table_bar >= PCI_BAR_COUNT ||
        pba_bar >= PCI_BAR_COUNT || (table_offset & 7) || (pba_offset & 7) || !delivery ||
        !delivery->vector_configure || !delivery->vector_signal)
        return error_set(error, EXIT_STATUS_FAILURE, "MSI-X: bad layout (%u vectors, table %u+0x%x, PBA %u+0x%x)",
                         vector_count, table_bar, table_offset, pba_bar, pba_offset);
    if (table_bar == pba_bar &&
        regions_overlap(table_offset, msix_table_size(vector_count), pba_offset, msix_pba_size(vector_count)))
        return error_set(error, EXIT_STATUS_FAILURE, "MSI-X: table and PBA overlap");
    msix->table = calloc(vector_count, sizeof(*msix->table));
    msix->pending = calloc((vector_count + 63) / 64, sizeof(*msix->pending));
    msix->routed = calloc(vector_count, sizeof(*msix->routed));
    if (!msix->table || !msix->pending || !msix->routed) {
        msix_destroy(msix);
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for an MSI-X table");
    }
    msix->vector_count = vector_count;
    msix->table_bar = table_bar;
    msix->table_offset = table_offset;
    msix->pba_bar = pba_bar;
    msix->pba_offset = pba_offset;
    msix->delivery = delivery;
    msix->delivery_opaque = delivery_opaque;
    pthread_mutex_init(&msix->lock, NULL);
    msix_reset(msix);
    return 0;
}

void msix_destroy(struct msix *msix)
{
    if (msix->vector_count)
        pthread_mutex_destroy(&msix->lock);
    free(msix->table);
    free(msix->pending);
    free(msix->routed);
    msix->table = NULL;
    msix->pending = NULL;
    msix->routed = NULL;
    msix->vector_count = 0;
}

int msix_add_capability(struct msix *msix, struct pci_device *device, struct error *error)
{
    uint8_t body[MSIX_CAPABILITY_LENGTH - 2];
    uint16_t control = (uint16_t)(msix->vector_count - 1);
    uint32_t table = msix->table_offset | msix->table_bar;
    uint32_t pba = msix->pba_offset | msix->pba_bar;
    body[0] = (uint8_t)control;
    body[1] = (uint8_t)(control >> 8);
    memcpy(body + 2, &table, 4);
    memcpy(body + 6, &pba, 4);
    uint8_t offset = pci_device_add_capability(device, MSIX_CAPABILITY_ID, body, MSIX_CAPABILITY_LENGTH);
    if (!offset)
        return error_set(error, EXIT_STATUS_FAILURE, "%s: no room for the MSI-X capability", device->name);
    /* Only Message Control's top byte has writable bits: enable (15) and function mask (14). */
    const uint8_t mask[2] = {0x00, 0xc0};
    pci_device_set_write_mask(device, offset + 2u, mask, 2);
    msix->capability = offset;
    msix->device = device;
    return 0;
}

static bool vector_masked_locked(const struct msix *msix, unsigned vector)
{
    return msix->function_masked || (msix->table[vector].control & MSIX_VECTOR_MASKED);
}

static bool pending_locked(const struct msix *msix, unsigned vector)
{
    return msix->pending[vector / 64] & (1ull << (vector % 64));
}

static void set_pending_locked(struct msix *msix, unsigned vector, bool pending)
{
    if (pending)
        msix->pending[vector / 64] |= 1ull << (vector % 64);
    else
        msix->pending[vector / 64] &= ~(1ull << (vector % 64));
}

static uint64_t entry_address(const struct msix_entry *entry)
{
    return (uint64_t)entry->address_high << 32 | entry->address_low;
}

static void configure_locked(struct msix *msix, unsigned vector)
{
    const struct msix_entry *entry = &msix->table[vector];
    msix->delivery->vector_configure(msix->delivery_opaque, vector, entry_address(entry), entry->data);
    msix->routed[vector] = true;
}

static void deliver_locked(struct msix *msix, unsigned vector)
{
    if (!msix->routed[vector])
        configure_locked(msix, vector);
    const struct msix_entry *entry = &msix->table[vector];
    msix->delivery->vector_signal(msix->delivery_opaque, vector, entry_address(entry), entry->data);
}

/* After an unmask: delivers the pending vectors in [first, end) that nothing masks any more. */
static void deliver_unmasked_pending_locked(struct msix *msix, unsigned first, unsigned end)
{
    if (!msix->enabled)
        return;
    for (unsigned vector = first; vector < end; vector++) {
        if (pending_locked(msix, vector) && !vector_masked_locked(msix, vector)) {
            set_pending_locked(msix, vector, false);
            deliver_locked(msix, vector);
        }
    }
}

void msix_config_written(struct msix *msix, uint32_t offset, uint32_t size)
{
    uint32_t control_offset = msix->capability + 2u;
    if (!msix->device || offset > control_offset + 1 || offset + size <= control_offset)
        return;
    uint16_t control = pci_config_get16(msix->device, control_offset);
    pthread_mutex_lock(&msix->lock);
    bool was_live = msix->enabled && !msix->function_masked;
    msix->enabled = control & MSIX_CONTROL_ENABLE;
    msix->function_masked = control & MSIX_CONTROL_FUNCTION_MASK;
    if (!was_live && msix->enabled && !msix->function_masked)
        deliver_unmasked_pending_locked(msix, 0, msix->vector_count);
    pthread_mutex_unlock(&msix->lock);
}

static void table_write_dword(struct msix *msix, uint32_t offset, uint32_t value)
{
    unsigned vector = offset / MSIX_ENTRY_SIZE;
    struct msix_entry *entry = &msix->table[vector];
    switch (offset % MSIX_ENTRY_SIZE / 4) {
    case 0:
        entry->address_low = value;
        break;
    case 1:
        entry->address_high = value;
        break;
    case 2:
        entry->data = value;
        break;
    default: {
        bool was_masked = entry->control & MSIX_VECTOR_MASKED;
        entry->control = value & MSIX_VECTOR_MASKED; /* the other bits are reserved */
        if (was_masked && !(entry->control & MSIX_VECTOR_MASKED))
            deliver_unmasked_pending_locked(msix, vector, vector + 1);
        return;
    }
    }
    msix->routed[vector] = false;
    /* A deliverable vector's route follows at once: other signallers (irqfd) use it without asking. */
    if (msix->enabled && !vector_masked_locked(msix, vector))
        configure_locked(msix, vector);
}

static uint32_t table_read_dword(const struct msix *msix, uint32_t offset)
{
    const struct msix_entry *entry = &msix->table[offset / MSIX_ENTRY_SIZE];
    const uint32_t fields[4] = {entry->address_low, entry->address_high, entry->data, entry->control};
    return fields[offset % MSIX_ENTRY_SIZE / 4];
}

static uint32_t pba_read_dword(const struct msix *msix, uint32_t offset)
{
    uint64_t word = msix->pending[offset / 8];
    return (uint32_t)(word >> (offset % 8 * 8));
}

enum msix_region { MSIX_REGION_NONE, MSIX_REGION_TABLE, MSIX_REGION_PBA };

/* Which region [offset, offset+size) of `bar` hits; `*relative` is the offset inside it. */
static enum msix_region locate(const struct msix *msix, unsigned bar, uint64_t offset, uint32_t size,
                               uint32_t *relative)
{
    if (bar == msix->table_bar && range_within(offset, size, msix->table_offset, msix_table_size(msix->vector_count))) {
        *relative = (uint32_t)(offset - msix->table_offset);
        return MSIX_REGION_TABLE;
    }
    if (bar == msix->pba_bar && range_within(offset, size, msix->pba_offset, msix_pba_size(msix->vector_count))) {
        *relative = (uint32_t)(offset - msix->pba_offset);
        return MSIX_REGION_PBA;
    }
    return MSIX_REGION_NONE;
}

static bool access_valid(uint32_t relative, uint32_t size)
{
    return (size == 4 && relative % 4 == 0) || (size == 8 && relative % 8 == 0);
}

bool msix_bar_read(struct msix *msix, unsigned bar, uint64_t offset, void *data, uint32_t size)
{
    uint32_t relative;
    enum msix_region region = locate(msix, bar, offset, size, &relative);
    if (region == MSIX_REGION_NONE)
        return false;
    memset(data, 0xff, size);
    if (!access_valid(relative, size))
        return true;
    pthread_mutex_lock(&msix->lock);
    for (uint32_t done = 0; done < size; done += 4) {
        uint32_t value = region == MSIX_REGION_TABLE ? table_read_dword(msix, relative + done)
                                                     : pba_read_dword(msix, relative + done);
        memcpy((uint8_t *)data + done, &value, 4);
    }
    pthread_mutex_unlock(&msix->lock);
    return true;
}

bool msix_bar_write(struct msix *msix, unsigned bar, uint64_t offset, const void *data, uint32_t size)
{
    uint32_t relative;
    enum msix_region region = locate(msix, bar, offset, size, &relative);
    if (region == MSIX_REGION_NONE)
        return false;
    if (region == MSIX_REGION_PBA || !access_valid(relative, size))
        return true;
    pthread_mutex_lock(&msix->lock);
    for (uint32_t done = 0; done < size; done += 4) {
        uint32_t value;
        memcpy(&value, (const uint8_t *)data + done, 4);
        table_write_dword(msix, relative + done, value);
    }
    pthread_mutex_unlock(&msix->lock);
    return true;
}

enum msix_fire_result msix_vector_fire(struct msix *msix, unsigned vector)
{
    if (vector >= msix->vector_count)
        return MSIX_NO_VECTOR;
    enum msix_fire_result result;
    pthread_mutex_lock(&msix->lock);
    if (!msix->enabled) {
        result = MSIX_DISABLED;
    } else if (vector_masked_locked(msix, vector)) {
        set_pending_locked(msix, vector, true);
        result = MSIX_PENDING;
    } else {
        deliver_locked(msix, vector);
        result = MSIX_DELIVERED;
    }
    pthread_mutex_unlock(&msix->lock);
    return result;
}

bool msix_is_enabled(struct msix *msix)
{
    pthread_mutex_lock(&msix->lock);
    bool enabled = msix->enabled;
    pthread_mutex_unlock(&msix->lock);
    return enabled;
}

int msix_vector_direct_fd(struct msix *msix, unsigned vector)
{
    if (vector >= msix->vector_count || !msix->delivery->vector_event_fd)
        return -1;
    int fd = -1;
    pthread_mutex_lock(&msix->lock);
    if (msix->enabled) {
        configure_locked(msix, vector);
        fd = msix->delivery->vector_event_fd(msix->delivery_opaque, vector);
    }
    pthread_mutex_unlock(&msix->lock);
    return fd;
}

bool msix_is_pending(struct msix *msix, unsigned vector)
{
    if (vector >= msix->vector_count)
        return false;
    pthread_mutex_lock(&msix->lock);
    bool pending = pending_locked(msix, vector);
    pthread_mutex_unlock(&msix->lock);
    return pending;
}

void msix_reset(struct msix *msix)
{
    pthread_mutex_lock(&msix->lock);
    for (unsigned vector = 0; vector < msix->vector_count; vector++) {
        msix->table[vector] = (struct msix_entry){.control = MSIX_VECTOR_MASKED};
        msix->routed[vector] = false;
    }
    memset(msix->pending, 0, (msix->vector_count + 63) / 64 * sizeof(*msix->pending));
    msix->enabled = false;
    msix->function_masked = false;
    pthread_mutex_unlock(&msix->lock);
}
