/*
 * The virtio-pci modern transport as a PCI function: identity, the vendor
 * capabilities, BAR 0's dispatch to its regions, the PCI_CFG access window,
 * queue notifications (MMIO and ioeventfd) and interrupts. The common
 * configuration register file is virtio_pci_common.c.
 */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "util/checked_math.h"

enum {
    VENDOR_CAPABILITY_ID = 0x09,
    CAP_BAR = 4,       /* offsets inside struct virtio_pci_cap */
    CAP_OFFSET = 8,
    CAP_LENGTH = 12,
    CAP_SIZE = 16,
    NOTIFY_CAP_SIZE = 20,
    PCI_CFG_DATA = 16, /* struct virtio_pci_cfg_cap's pci_cfg_data */
    PCI_CFG_CAP_SIZE = 20,
    ISR_QUEUE = 0x1,
};

/* Transport feature bits this transport implements; the rest of 24..49 is never offered. */
#define TRANSPORT_FEATURES                                                                                  \
    ((1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_VERSION_1) | \
     (1ull << VIRTIO_F_RING_PACKED))
#define DEVICE_FEATURES (((1ull << 24) - 1) | ~((1ull << 50) - 1))

static struct virtio_pci *from_pci(struct pci_device *pci)
{
    return pci->opaque;
}

static void put32(uint8_t *bytes, uint32_t value)
{
    for (unsigned i = 0; i < 4; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
}

/* Returns the capability's offset; body holds everything after the id and next bytes. */
static uint8_t add_virtio_capability(struct virtio_pci *transport, uint8_t type, uint32_t offset, uint32_t length,
                                     uint8_t size, uint32_t extra)
{
    uint8_t body[PCI_CFG_CAP_SIZE - 2] = {0};
    body[0] = size;
    body[1] = type;
    body[CAP_BAR - 2] = VIRTIO_PCI_BAR;
    put32(&body[CAP_OFFSET - 2], offset);
    put32(&body[CAP_LENGTH - 2], length);
    if (size > CAP_SIZE)
        put32(&body[CAP_SIZE - 2], extra);
    return pci_device_add_capability(&transport->pci, VENDOR_CAPABILITY_ID, body, size);
}

static void isr_raise(struct virtio_pci *transport, uint8_t bit, uint16_t vector)
{
    __atomic_fetch_or(&transport->isr, bit, __ATOMIC_RELEASE);
    if (vector != VIRTIO_MSI_NO_VECTOR)
        msix_vector_fire(&transport->msix, vector);
}

void virtio_pci_queue_kick_forward(const struct virtio_pci *transport, uint16_t index)
{
    int kick_fd = virtio_pci_queue_kick_fd(transport, index);
    if (kick_fd >= 0 && eventfd_write(kick_fd, 1) < 0)
        log_error("%s: kick queue %u: %s", transport->pci.name, index, strerror(errno));
}

void virtio_pci_queue_kicks_received(struct virtio_pci *transport, uint16_t index, uint64_t kicks)
{
    if (index < transport->info.queue_count)
        virtq_stats_count_kicks(&transport->queues[index].stats, kicks);
}

void virtio_pci_queue_kick_drain(struct virtio_pci *transport, uint16_t index)
{
    eventfd_t kicks;
    int kick_fd = virtio_pci_queue_kick_fd(transport, index);
    if (kick_fd >= 0 && eventfd_read(kick_fd, &kicks) == 0)
        virtio_pci_queue_kicks_received(transport, index, kicks);
}

int virtio_pci_queue_call_fd(struct virtio_pci *transport, uint16_t index)
{
    if (index >= transport->info.queue_count)
        return -1;
    uint16_t vector = __atomic_load_n(&transport->queue_registers[index].msix_vector, __ATOMIC_RELAXED);
    if (vector == VIRTIO_MSI_NO_VECTOR)
        return -1;
    return msix_vector_direct_fd(&transport->msix, vector);
}

void virtio_pci_queue_interrupt(struct virtio_pci *transport, uint16_t index)
{
    if (index >= transport->info.queue_count)
        return;
    __atomic_fetch_add(&transport->queue_interrupts, 1, __ATOMIC_RELAXED);
    virtq_stats_count_interrupt(&transport->queues[index].stats);
    isr_raise(transport, ISR_QUEUE,
              __atomic_load_n(&transport->queue_registers[index].msix_vector, __ATOMIC_RELAXED));
}

static void config_interrupt(struct virtio_pci *transport)
{
    isr_raise(transport, VIRTIO_PCI_ISR_CONFIG, __atomic_load_n(&transport->config_msix_vector, __ATOMIC_RELAXED));
}

void virtio_pci_config_changed(struct virtio_pci *transport)
{
    __atomic_fetch_add(&transport->config_generation, 1, __ATOMIC_RELEASE);
    config_interrupt(transport);
}

void virtio_pci_needs_reset_locked(struct virtio_pci *transport, const char *why)
{
    log_ratelimited(&transport->log_limit, "%s: %s; device needs reset", transport->pci.name, why);
    __atomic_fetch_or(&transport->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_RELEASE);
    config_interrupt(transport);
}

void virtio_pci_queue_broken(struct virtio_pci *transport, uint16_t index)
{
    (void)index; /* the virtqueue core already logged why */
    __atomic_fetch_or(&transport->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_RELEASE);
    config_interrupt(transport);
}

static void notify_write(struct virtio_pci *transport, uint64_t offset, uint32_t size)
{
    uint64_t index = offset / VIRTIO_PCI_NOTIFY_MULTIPLIER;
    if (offset % VIRTIO_PCI_NOTIFY_MULTIPLIER != 0 || (size != 2 && size != 4) ||
        index >= transport->info.queue_count)
        return;
    pthread_mutex_lock(&transport->lock);
    bool deliver = transport->activated && transport->queue_registers[index].enabled;
    pthread_mutex_unlock(&transport->lock);
    if (deliver)
        transport->ops->kick(transport->opaque, (uint16_t)index);
}

/* BAR 0 without MSI-X: `offset` + `size` lies in the BAR (the bus and the PCI_CFG window both check). */
static void region_read(struct virtio_pci *transport, uint64_t offset, void *data, uint32_t size)
{
    memset(data, 0, size);
    if (offset < VIRTIO_PCI_ISR_OFFSET) {
        pthread_mutex_lock(&transport->lock);
        virtio_pci_common_read(transport, (uint32_t)offset, data, size);
        pthread_mutex_unlock(&transport->lock);
    } else if (offset == VIRTIO_PCI_ISR_OFFSET) {
        *(uint8_t *)data = __atomic_exchange_n(&transport->isr, 0, __ATOMIC_ACQ_REL);
    } else if (offset >= VIRTIO_PCI_DEVICE_OFFSET && offset < VIRTIO_PCI_NOTIFY_OFFSET) {
        uint64_t config_offset = offset - VIRTIO_PCI_DEVICE_OFFSET;
        if (range_within(config_offset, size, 0, transport->info.config_size))
            transport->ops->config_read(transport->opaque, (uint32_t)config_offset, data, size);
    }
}

static void region_write(struct virtio_pci *transport, uint64_t offset, const void *data, uint32_t size)
{
    if (offset < VIRTIO_PCI_ISR_OFFSET) {
        pthread_mutex_lock(&transport->lock);
        virtio_pci_common_write(transport, (uint32_t)offset, data, size);
        pthread_mutex_unlock(&transport->lock);
    } else if (offset >= VIRTIO_PCI_DEVICE_OFFSET && offset < VIRTIO_PCI_NOTIFY_OFFSET) {
        uint64_t config_offset = offset - VIRTIO_PCI_DEVICE_OFFSET;
        if (range_within(config_offset, size, 0, transport->info.config_size))
            transport->ops->config_write(transport->opaque, (uint32_t)config_offset, data, size);
    } else if (offset >= VIRTIO_PCI_NOTIFY_OFFSET && offset < VIRTIO_PCI_MSIX_TABLE_OFFSET) {
        notify_write(transport, offset - VIRTIO_PCI_NOTIFY_OFFSET, size);
    }
}

static void transport_bar_read(struct pci_device *pci, unsigned bar, uint64_t offset, void *data, uint32_t size)
{
    struct virtio_pci *transport = from_pci(pci);
    if (msix_bar_read(&transport->msix, bar, offset, data, size))
        return;
    if (bar == VIRTIO_PCI_BAR && range_within(offset, size, 0, VIRTIO_PCI_BAR_SIZE) && size <= 8)
        region_read(transport, offset, data, size);
    else
        memset(data, 0xff, size);
}

static void transport_bar_write(struct pci_device *pci, unsigned bar, uint64_t offset, const void *data,
                                uint32_t size)
{
    struct virtio_pci *transport = from_pci(pci);
    if (msix_bar_write(&transport->msix, bar, offset, data, size))
        return;
    if (bar == VIRTIO_PCI_BAR && range_within(offset, size, 0, VIRTIO_PCI_BAR_SIZE) && size <= 8)
        region_write(transport, offset, data, size);
}

static void transport_bar_unmapped(struct pci_device *pci, unsigned bar, uint64_t address)
{
    (void)address;
    if (bar == VIRTIO_PCI_BAR)
        pci_bar_ioeventfds_unmapped(&from_pci(pci)->ioeventfds);
}

static void transport_bar_mapped(struct pci_device *pci, unsigned bar, uint64_t address)
{
    if (bar == VIRTIO_PCI_BAR)
        pci_bar_ioeventfds_mapped(&from_pci(pci)->ioeventfds, address);
}

/*
 * The PCI_CFG window's target, as the guest last wrote it: any BAR, offset
 * and length are possible, so the access happens only for BAR 0, a length of
 * 1, 2 or 4 aligned to itself, and a range inside the BAR.
 */
static bool window_target(struct virtio_pci *transport, uint64_t *offset, uint32_t *length)
{
    uint8_t capability = transport->pci_cfg_capability;
    uint8_t bar = transport->pci.config[capability + CAP_BAR];
    *offset = pci_config_get32(&transport->pci, capability + CAP_OFFSET);
    *length = pci_config_get32(&transport->pci, capability + CAP_LENGTH);
    return bar == VIRTIO_PCI_BAR && (*length == 1 || *length == 2 || *length == 4) && *offset % *length == 0 &&
           range_within(*offset, *length, 0, VIRTIO_PCI_BAR_SIZE);
}

static bool touches_window_data(struct virtio_pci *transport, uint32_t offset, uint32_t size)
{
    uint32_t data = transport->pci_cfg_capability + PCI_CFG_DATA;
    return offset < data + 4 && data < offset + size;
}

static void transport_config_written(struct pci_device *pci, uint32_t offset, uint32_t size)
{
    struct virtio_pci *transport = from_pci(pci);
    msix_config_written(&transport->msix, offset, size);
    uint64_t target;
    uint32_t length;
    if (touches_window_data(transport, offset, size) && window_target(transport, &target, &length))
        transport_bar_write(pci, VIRTIO_PCI_BAR, target,
                            &transport->pci.config[transport->pci_cfg_capability + PCI_CFG_DATA], length);
}

static void transport_config_reading(struct pci_device *pci, uint32_t offset, uint32_t size)
{
    struct virtio_pci *transport = from_pci(pci);
    uint64_t target;
    uint32_t length;
    if (!touches_window_data(transport, offset, size) || !window_target(transport, &target, &length))
        return;
    uint8_t *window = &transport->pci.config[transport->pci_cfg_capability + PCI_CFG_DATA];
    memset(window, 0, 4);
    transport_bar_read(pci, VIRTIO_PCI_BAR, target, window, length);
}

static void transport_reset(struct pci_device *pci)
{
    struct virtio_pci *transport = from_pci(pci);
    msix_reset(&transport->msix);
    pthread_mutex_lock(&transport->lock);
    virtio_pci_reset_locked(transport);
    pthread_mutex_unlock(&transport->lock);
}

static const struct pci_device_ops transport_ops = {
    .bar_read = transport_bar_read,
    .bar_write = transport_bar_write,
    .bar_unmapped = transport_bar_unmapped,
    .bar_mapped = transport_bar_mapped,
    .config_written = transport_config_written,
    .config_reading = transport_config_reading,
    .reset = transport_reset,
};

static int check_info(const struct virtio_device_info *info, const struct virtio_device_ops *ops,
                      struct error *error)
{
    if (info->queue_count == 0 || info->queue_count > VIRTIO_PCI_MAX_QUEUES || info->queue_max_size == 0 ||
        info->queue_max_size > VIRTQ_MAX_SIZE || info->config_size > VIRTIO_PCI_DEVICE_CONFIG_MAX ||
        info->device_type > 0xffff - VIRTIO_PCI_DEVICE_ID_BASE || !ops->config_read || !ops->config_write ||
        !ops->activate || !ops->kick || !ops->reset || !ops->pause || !ops->resume)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: impossible device description (type %u)",
                         info->device_type);
    return 0;
}

static int add_capabilities(struct virtio_pci *transport, struct error *error)
{
    uint32_t notify_length = (uint32_t)transport->info.queue_count * VIRTIO_PCI_NOTIFY_MULTIPLIER;
    const uint8_t window_mask[PCI_CFG_CAP_SIZE - CAP_BAR] = {
        [0] = 0xff, [CAP_OFFSET - CAP_BAR ... CAP_OFFSET - CAP_BAR + 3] = 0xff,
        [CAP_LENGTH - CAP_BAR ... CAP_LENGTH - CAP_BAR + 3] = 0xff,
        [PCI_CFG_DATA - CAP_BAR ... PCI_CFG_DATA - CAP_BAR + 3] = 0xff,
    };
    if (!add_virtio_capability(transport, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET,
                               VIRTIO_PCI_COMMON_SIZE, CAP_SIZE, 0) ||
        !add_virtio_capability(transport, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET, notify_length,
                               NOTIFY_CAP_SIZE, VIRTIO_PCI_NOTIFY_MULTIPLIER) ||
        !add_virtio_capability(transport, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1, CAP_SIZE, 0) ||
        (transport->info.config_size > 0 &&
         !add_virtio_capability(transport, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET,
                                transport->info.config_size, CAP_SIZE, 0)))
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: capabilities do not fit");
    if (msix_add_capability(&transport->msix, &transport->pci, error) < 0)
        return -1;
    transport->pci_cfg_capability = add_virtio_capability(transport, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, PCI_CFG_CAP_SIZE, 0);
    if (!transport->pci_cfg_capability)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: capabilities do not fit");
    pci_device_set_write_mask(&transport->pci, transport->pci_cfg_capability + CAP_BAR, window_mask,
                              sizeof(window_mask));
    return 0;
}

static int add_kick_eventfds(struct virtio_pci *transport, struct error *error)
{
    for (uint16_t i = 0; i < transport->info.queue_count; i++) {
        transport->kick_fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (transport->kick_fds[i] < 0)
            return error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: eventfd: %s", strerror(errno));
        int result = pci_bar_ioeventfds_add(&transport->ioeventfds,
                                            VIRTIO_PCI_NOTIFY_OFFSET + (uint64_t)i * VIRTIO_PCI_NOTIFY_MULTIPLIER,
                                            2, false, 0, transport->kick_fds[i]);
        if (result < 0)
            return error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: queue %u ioeventfd: %s", i, strerror(-result));
    }
    return 0;
}

int virtio_pci_init(struct virtio_pci *transport, const struct virtio_device_info *info,
                    const struct virtio_device_ops *ops, void *opaque, const struct guest_memory *memory,
                    const struct pci_ioeventfd_ops *ioeventfd_ops, void *ioeventfd_opaque,
                    const struct msix_delivery_ops *delivery, void *delivery_opaque, struct error *error)
{
    memset(transport, 0, sizeof(*transport));
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
        transport->kick_fds[i] = -1;
    if (check_info(info, ops, error) < 0)
        return -1;
    transport->info = *info;
    transport->ops = ops;
    transport->opaque = opaque;
    transport->memory = memory;
    transport->offered = (info->features & DEVICE_FEATURES) | (info->features & TRANSPORT_FEATURES) |
                         (1ull << VIRTIO_F_VERSION_1);
    pthread_mutex_init(&transport->lock, NULL);
    const struct pci_identity identity = {
        .vendor_id = VIRTIO_PCI_VENDOR_ID,
        .device_id = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + info->device_type),
        .class_code = info->class_code,
        .revision = 1,
        .subsystem_vendor_id = VIRTIO_PCI_VENDOR_ID,
        .subsystem_id = 0x1100,
    };
    pci_device_init(&transport->pci, &identity, &transport_ops, transport, "virtio-pci");
    if (!pci_device_add_bar(&transport->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, true, false)) {
        error_set(error, EXIT_STATUS_FAILURE, "virtio-pci: BAR 0 refused");
        goto fail_lock;
    }
    if (msix_init(&transport->msix, info->queue_count + 1u, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFFSET,
                  VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_PBA_OFFSET, delivery, delivery_opaque, error) < 0)
        goto fail_lock;
    if (add_capabilities(transport, error) < 0)
        goto fail_msix;
    pci_device_seal(&transport->pci);
    pci_bar_ioeventfds_init(&transport->ioeventfds, VIRTIO_PCI_BAR_SIZE, ioeventfd_ops, ioeventfd_opaque);
    if (add_kick_eventfds(transport, error) < 0)
        goto fail_fds;
    virtio_pci_power_on_locked(transport);
    return 0;

fail_fds:
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
        if (transport->kick_fds[i] >= 0)
            close(transport->kick_fds[i]);
fail_msix:
    msix_destroy(&transport->msix);
fail_lock:
    pthread_mutex_destroy(&transport->lock);
    return -1;
}

void virtio_pci_pause(struct virtio_pci *transport)
{
    pthread_mutex_lock(&transport->lock);
    if (transport->activated)
        transport->ops->pause(transport->opaque);
    pthread_mutex_unlock(&transport->lock);
}

void virtio_pci_resume(struct virtio_pci *transport)
{
    pthread_mutex_lock(&transport->lock);
    if (transport->activated)
        transport->ops->resume(transport->opaque);
    pthread_mutex_unlock(&transport->lock);
}

void virtio_pci_destroy(struct virtio_pci *transport)
{
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
        if (transport->kick_fds[i] >= 0)
            close(transport->kick_fds[i]);
    msix_destroy(&transport->msix);
    pthread_mutex_destroy(&transport->lock);
}

int virtio_pci_queue_kick_fd(const struct virtio_pci *transport, uint16_t index)
{
    return index < transport->info.queue_count ? transport->kick_fds[index] : -1;
}
