/*
 * The common configuration register file of the virtio-pci transport
 * (struct virtio_pci_common_cfg, virtio 1.2 4.1.4.3): feature negotiation,
 * device status and the per-queue registers. Called with the transport's
 * lock held.
 */
#include "virtio/virtio_pci.h"

#include <stddef.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "sandbox/sandbox.h"
#include "util/checked_math.h"
#include "util/log.h"

/* One field of the register file: its offset and width in bytes. */
struct common_field {
    uint8_t offset;
    uint8_t width;
};

static const struct common_field common_fields[] = {
    {0x00, 4}, {0x04, 4}, {0x08, 4}, {0x0c, 4}, {0x10, 2}, {0x12, 2}, {0x14, 1}, {0x15, 1}, {0x16, 2},
    {0x18, 2}, {0x1a, 2}, {0x1c, 2}, {0x1e, 2}, {0x20, 8}, {0x28, 8}, {0x30, 8},
};

static struct virtio_pci_queue_registers *selected_queue(struct virtio_pci *transport)
{
    if (transport->queue_select >= transport->info.queue_count)
        return NULL;
    return &transport->queue_registers[transport->queue_select];
}

static uint8_t status_load(const struct virtio_pci *transport)
{
    return __atomic_load_n(&transport->status, __ATOMIC_ACQUIRE);
}

static uint64_t field_value(struct virtio_pci *transport, uint8_t offset)
{
    struct virtio_pci_queue_registers *queue = selected_queue(transport);
    switch (offset) {
    case 0x00:
        return transport->device_feature_select;
    case 0x04:
        return transport->device_feature_select < 2 ? (uint32_t)(transport->offered >>
                                                                 (32 * transport->device_feature_select))
                                                    : 0;
    case 0x08:
        return transport->driver_feature_select;
    case 0x0c:
        return transport->driver_feature_select < 2 ? (uint32_t)(transport->driver_features >>
                                                                 (32 * transport->driver_feature_select))
                                                    : 0;
    case 0x10:
        return __atomic_load_n(&transport->config_msix_vector, __ATOMIC_RELAXED);
    case 0x12:
        return transport->info.queue_count;
    case 0x14:
        return status_load(transport);
    case 0x15:
        return __atomic_load_n(&transport->config_generation, __ATOMIC_ACQUIRE);
    case 0x16:
        return transport->queue_select;
    case 0x18:
        return queue ? queue->size : 0;
    case 0x1a:
        return queue ? __atomic_load_n(&queue->msix_vector, __ATOMIC_RELAXED) : VIRTIO_MSI_NO_VECTOR;
    case 0x1c:
        return queue ? queue->enabled : 0;
    case 0x1e:
        return queue ? transport->queue_select : 0;
    case 0x20:
        return queue ? queue->desc : 0;
    case 0x28:
        return queue ? queue->driver : 0;
    case 0x30:
        return queue ? queue->device : 0;
    default:
        return 0;
    }
}

static const struct common_field *field_at(uint32_t offset)
{
    for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++)
        if (offset >= common_fields[i].offset && offset - common_fields[i].offset < common_fields[i].width)
            return &common_fields[i];
    return NULL;
}

/* Reads have no side effects, so any width at any offset is composed byte by byte; bytes past the fields read 0. */
void virtio_pci_common_read(struct virtio_pci *transport, uint32_t offset, void *data, uint32_t size)
{
    uint8_t *out = data;
    for (uint32_t i = 0; i < size && i < 8; i++) {
        uint64_t at;
        const struct common_field *field = checked_add_u64(offset, i, &at) ? field_at((uint32_t)at) : NULL;
        out[i] = field ? (uint8_t)(field_value(transport, field->offset) >> (8 * (at - field->offset))) : 0;
    }
}

static int reset_device(void *argument)
{
    struct virtio_pci *transport = argument;
    transport->ops->reset(transport->opaque);
    return 0;
}

static int activate_device(void *argument)
{
    struct virtio_pci *transport = argument;
    return transport->ops->activate(transport->opaque, transport->driver_features, transport->queues,
                                    transport->info.queue_count);
}

void virtio_pci_reset_locked(struct virtio_pci *transport)
{
    /* A vCPU's filter cannot stop I/O threads' rings or vhost: the set-up thread does (sandbox.h). */
    sandbox_run_for_vcpu(reset_device, transport);
    virtio_pci_power_on_locked(transport);
}

void virtio_pci_power_on_locked(struct virtio_pci *transport)
{
    for (uint16_t i = 0; i < transport->info.queue_count; i++) {
        virtq_reset(&transport->queues[i]);
        struct virtio_pci_queue_registers *queue = &transport->queue_registers[i];
        queue->size = transport->info.queue_max_size;
        queue->enabled = false;
        queue->desc = queue->driver = queue->device = 0;
        /* Read by device threads raising interrupts without the lock. */
        __atomic_store_n(&queue->msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
    }
    transport->device_feature_select = 0;
    transport->driver_feature_select = 0;
    transport->driver_features = 0;
    transport->driver_asked_unoffered = false;
    transport->activated = false;
    transport->queue_select = 0;
    __atomic_store_n(&transport->config_msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
    __atomic_store_n(&transport->isr, 0, __ATOMIC_RELAXED);
    /* Last: the driver polls for 0 to learn the reset is complete. */
    __atomic_store_n(&transport->status, 0, __ATOMIC_RELEASE);
}

static bool has_feature(uint64_t features, unsigned bit)
{
    return (features >> bit) & 1;
}

static void queue_enable(struct virtio_pci *transport, uint16_t index)
{
    struct virtio_pci_queue_registers *queue = &transport->queue_registers[index];
    uint8_t status = status_load(transport);
    if (queue->enabled)
        return;
    if (!(status & VIRTIO_CONFIG_S_FEATURES_OK) || (status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        virtio_pci_needs_reset_locked(transport, "queue enabled outside feature negotiation and DRIVER_OK");
        return;
    }
    uint64_t features = transport->driver_features;
    bool packed = has_feature(features, VIRTIO_F_RING_PACKED);
    if (queue->size == 0 || queue->size > transport->info.queue_max_size ||
        (!packed && (queue->size & (queue->size - 1)) != 0)) {
        virtio_pci_needs_reset_locked(transport, "queue size refused");
        return;
    }
    const struct virtq_config config = {
        .layout = packed ? VIRTQ_LAYOUT_PACKED : VIRTQ_LAYOUT_SPLIT,
        .size = queue->size,
        .event_idx = has_feature(features, VIRTIO_RING_F_EVENT_IDX),
        .indirect = has_feature(features, VIRTIO_RING_F_INDIRECT_DESC),
        .desc_gpa = queue->desc,
        .driver_gpa = queue->driver,
        .device_gpa = queue->device,
    };
    /* virtq_enable refuses rings that are not wholly in RAM, so a ring over a BAR or past the end fails here. */
    if (virtq_enable(&transport->queues[index], transport->memory, &config) < 0) {
        virtio_pci_needs_reset_locked(transport, "queue rings refused");
        return;
    }
    queue->enabled = true;
}

static void status_write(struct virtio_pci *transport, uint8_t value)
{
    if (value == 0) {
        virtio_pci_reset_locked(transport);
        return;
    }
    uint8_t status = status_load(transport);
    /* The driver only adds bits; NEEDS_RESET is the device's to set. */
    uint8_t next = (uint8_t)((status | value) & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (status & VIRTIO_CONFIG_S_NEEDS_RESET);
    if ((value & VIRTIO_CONFIG_S_FEATURES_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        (!has_feature(transport->driver_features, VIRTIO_F_VERSION_1) || transport->driver_asked_unoffered))
        next &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
    if ((next & VIRTIO_CONFIG_S_DRIVER_OK) && !(next & VIRTIO_CONFIG_S_FEATURES_OK))
        next &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
    bool activate = (next & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_DRIVER_OK) &&
                    !(next & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
    __atomic_store_n(&transport->status, next, __ATOMIC_RELEASE);
    if (activate) {
        transport->activated = true;
        if (sandbox_run_for_vcpu(activate_device, transport) < 0)
            virtio_pci_needs_reset_locked(transport, "the device could not start");
    }
}

static uint16_t vector_or_none(struct virtio_pci *transport, uint16_t vector)
{
    return vector < transport->msix.vector_count ? vector : VIRTIO_MSI_NO_VECTOR;
}

static void driver_features_write(struct virtio_pci *transport, uint32_t value)
{
    if (status_load(transport) & VIRTIO_CONFIG_S_FEATURES_OK || transport->driver_feature_select >= 2) {
        if (value != 0 && transport->driver_feature_select >= 2)
            transport->driver_asked_unoffered = true;
        return;
    }
    unsigned shift = 32 * transport->driver_feature_select;
    uint32_t offered = (uint32_t)(transport->offered >> shift);
    if (value & ~offered)
        transport->driver_asked_unoffered = true;
    transport->driver_features &= ~((uint64_t)UINT32_MAX << shift);
    transport->driver_features |= (uint64_t)(value & offered) << shift;
}

/* Writes the low or high half (or all) of a 64-bit queue address, unless the queue is enabled. */
static void address_write(struct virtio_pci_queue_registers *queue, uint64_t *address, uint32_t byte, uint64_t value,
                          uint32_t size)
{
    if (queue->enabled)
        return;
    if (size == 8)
        *address = value;
    else if (byte == 0)
        *address = (*address & 0xffffffff00000000ull) | (uint32_t)value;
    else
        *address = (*address & 0xffffffffull) | (uint64_t)(uint32_t)value << 32;
}

/*
 * Only natural-width writes of a whole field (and 32-bit halves of the 64-bit
 * addresses) are defined (virtio 1.2 4.1.3.1); any other write is ignored.
 */
void virtio_pci_common_write(struct virtio_pci *transport, uint32_t offset, const void *data, uint32_t size)
{
    const struct common_field *field = field_at(offset);
    if (!field || size > 8)
        return;
    uint32_t byte = offset - field->offset;
    bool natural = byte == 0 && size == field->width;
    bool address_half = field->width == 8 && size == 4 && (byte == 0 || byte == 4);
    if (!natural && !address_half)
        return;
    uint64_t value = 0;
    memcpy(&value, data, size);
    struct virtio_pci_queue_registers *queue = selected_queue(transport);
    switch (field->offset) {
    case 0x00:
        transport->device_feature_select = (uint32_t)value;
        break;
    case 0x08:
        transport->driver_feature_select = (uint32_t)value;
        break;
    case 0x0c:
        driver_features_write(transport, (uint32_t)value);
        break;
    case 0x10:
        __atomic_store_n(&transport->config_msix_vector, vector_or_none(transport, (uint16_t)value),
                         __ATOMIC_RELAXED);
        break;
    case 0x14:
        status_write(transport, (uint8_t)value);
        break;
    case 0x16:
        transport->queue_select = (uint16_t)value;
        break;
    case 0x18:
        if (queue && !queue->enabled)
            queue->size = (uint16_t)value;
        break;
    case 0x1a:
        if (queue)
            __atomic_store_n(&queue->msix_vector, vector_or_none(transport, (uint16_t)value), __ATOMIC_RELAXED);
        break;
    case 0x1c:
        /* Writing 0 is reserved without VIRTIO_F_RING_RESET, which this transport does not offer. */
        if (queue && value == 1)
            queue_enable(transport, transport->queue_select);
        break;
    case 0x20:
        if (queue)
            address_write(queue, &queue->desc, byte, value, size);
        break;
    case 0x28:
        if (queue)
            address_write(queue, &queue->driver, byte, value, size);
        break;
    case 0x30:
        if (queue)
            address_write(queue, &queue->device, byte, value, size);
        break;
    default:
        break; /* read-only: device_feature, num_queues, config_generation, queue_notify_off */
    }
}
