#include "devices/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "devices/virtio_net_thread.h"
#include "devices/virtio_net_vhost.h"

static uint64_t bit(unsigned feature)
{
    return 1ull << feature;
}

uint64_t virtio_net_features(const struct virtio_net_options *options)
{
    uint64_t features = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MRG_RXBUF) |
                        bit(VIRTIO_NET_F_CTRL_VQ) | bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_RING_F_EVENT_IDX) |
                        bit(VIRTIO_RING_F_INDIRECT_DESC);
    if (options->pair_count > 1)
        features |= bit(VIRTIO_NET_F_MQ);
    if (options->mtu)
        features |= bit(VIRTIO_NET_F_MTU);
    if (options->packed)
        features |= bit(VIRTIO_F_RING_PACKED);
    if (options->data_valid)
        features |= bit(VIRTIO_NET_F_GUEST_CSUM);
    /* An offload is offered both ways only when the backend can take it from the guest and hand it back. */
    unsigned offloads = options->backend->offloads;
    if (offloads & NET_OFFLOAD_CSUM) {
        features |= bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_GUEST_CSUM);
        if (offloads & NET_OFFLOAD_TSO4)
            features |= bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO4);
        if (offloads & NET_OFFLOAD_TSO6)
            features |= bit(VIRTIO_NET_F_HOST_TSO6) | bit(VIRTIO_NET_F_GUEST_TSO6);
        if ((offloads & NET_OFFLOAD_ECN) && (offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
            features |= bit(VIRTIO_NET_F_HOST_ECN) | bit(VIRTIO_NET_F_GUEST_ECN);
        if (offloads & NET_OFFLOAD_UFO)
            features |= bit(VIRTIO_NET_F_HOST_UFO) | bit(VIRTIO_NET_F_GUEST_UFO);
    }
    return features;
}

/* The receive offloads the driver took, as the backend names them. */
static unsigned receive_offloads(uint64_t features)
{
    unsigned offloads = 0;
    if (features & bit(VIRTIO_NET_F_GUEST_CSUM))
        offloads |= NET_OFFLOAD_CSUM;
    if (features & bit(VIRTIO_NET_F_GUEST_TSO4))
        offloads |= NET_OFFLOAD_TSO4;
    if (features & bit(VIRTIO_NET_F_GUEST_TSO6))
        offloads |= NET_OFFLOAD_TSO6;
    if (features & bit(VIRTIO_NET_F_GUEST_ECN))
        offloads |= NET_OFFLOAD_ECN;
    if (features & bit(VIRTIO_NET_F_GUEST_UFO))
        offloads |= NET_OFFLOAD_UFO;
    return offloads;
}

static void net_config_read(void *opaque, uint32_t offset, void *data, uint32_t size)
{
    struct virtio_net *device = opaque;
    if (offset <= sizeof(device->config) && size <= sizeof(device->config) - offset)
        memcpy(data, (const uint8_t *)&device->config + offset, size);
}

static void net_config_write(void *opaque, uint32_t offset, const void *data, uint32_t size)
{
    /* Every field is read-only for a modern driver (the MAC is writable only in legacy virtio); ignored. */
    (void)opaque, (void)offset, (void)data, (void)size;
}

/* Thread 0 serves the control queue and wakes the others, so it stops first and starts last. */
static void stop_pairs(struct virtio_net *device)
{
    for (unsigned i = 0; i < device->thread_count; i++)
        virtio_net_thread_stop(&device->threads[i]);
    for (unsigned i = 0; i < device->options.pair_count; i++)
        virtio_net_pair_release(&device->pairs[i]);
}

/* On thread 0, before it acks VQ_PAIRS_SET: its own pairs see the change in its next serve. */
static void settle_threads(void *opaque, uint16_t pairs)
{
    struct virtio_net *device = opaque;
    (void)pairs;
    for (unsigned i = 1; i < device->thread_count; i++)
        virtio_net_thread_settle(&device->threads[i]);
}

static int prepare_pair(struct virtio_net *device, unsigned index, bool data_path, int control_queue)
{
    const struct virtio_net_pair_setup setup = {
        .shared = &device->shared,
        .index = index,
        .data_path = data_path,
        .control_queue = control_queue,
    };
    struct error error;
    if (virtio_net_pair_prepare(&device->pairs[index], &setup, &error) < 0) {
        log_error("%s", error.message);
        return -1;
    }
    return 0;
}

/* Pair i goes to thread i mod thread_count; pairs left unprepared (queues not enabled) go nowhere. */
static int start_threads(struct virtio_net *device)
{
    for (unsigned t = device->thread_count; t-- > 0;) {
        struct virtio_net_pair *served[VIRTIO_NET_THREAD_MAX_PAIRS];
        unsigned count = 0;
        for (unsigned i = t; i < device->options.pair_count; i += device->thread_count)
            if (device->pairs[i].prepared)
                served[count++] = &device->pairs[i];
        if (count == 0)
            continue;
        struct error error;
        if (virtio_net_thread_start(&device->threads[t], served, count, &error) < 0) {
            log_error("%s", error.message);
            stop_pairs(device);
            return -1;
        }
    }
    return 0;
}

static int net_activate(void *opaque, uint64_t features, struct virtq *queues, uint16_t queue_count)
{
    struct virtio_net *device = opaque;
    struct net_backend *backend = device->options.backend;
    bool multiqueue = features & bit(VIRTIO_NET_F_MQ);
    unsigned pairs = multiqueue ? device->options.pair_count : 1;
    int control = (features & bit(VIRTIO_NET_F_CTRL_VQ)) ? (int)(pairs * 2) : -1;
    if (control >= queue_count || (control >= 0 && !virtq_is_enabled(&queues[control])))
        control = -1;
    device->shared.features = features;
    atomic_store(&device->shared.active_pairs, 1);
    pthread_mutex_lock(&device->shared.filter_lock);
    virtio_net_filter_reset(&device->shared.filter);
    pthread_mutex_unlock(&device->shared.filter_lock);
    /* The driver starts with one pair until it asks for more (VIRTIO_NET_CTRL_MQ), and with its own offloads. */
    if (backend->ops->set_active_pairs(backend->state, 1) < 0 ||
        backend->ops->set_offload(backend->state, receive_offloads(features)) < 0)
        log_error("virtio-net: the %s backend refused the driver's offloads or queue pairs", backend->ops->name);
    struct virtio_net_vhost *vhost = device->options.vhost;
    if (vhost) {
        struct error error;
        if (virtio_net_vhost_start(vhost, &device->transport, features, pairs, &error) < 0) {
            log_error("%s", error.message);
            return -1;
        }
        /* The kernel serves the data queues; kestrel keeps the control queue. */
        if (control >= 0 && (prepare_pair(device, 0, false, control) < 0 || start_threads(device) < 0)) {
            stop_pairs(device);
            virtio_net_vhost_stop(vhost);
            return -1;
        }
        atomic_store(&device->active, true);
        return 0;
    }
    for (unsigned i = 0; i < pairs; i++) {
        bool enabled = virtq_is_enabled(&queues[2 * i]) && virtq_is_enabled(&queues[2 * i + 1]);
        int pair_control = i == 0 ? control : -1;
        if (!enabled && pair_control < 0)
            continue;
        if (prepare_pair(device, i, enabled, pair_control) < 0) {
            stop_pairs(device);
            return -1;
        }
    }
    if (start_threads(device) < 0)
        return -1;
    atomic_store(&device->active, true);
    return 0;
}

static void net_kick(void *opaque, uint16_t index)
{
    struct virtio_net *device = opaque;
    /* The MMIO slow path: hand the kick to the eventfd the pair's thread polls. */
    if (!atomic_load(&device->active))
        return;
    virtio_pci_queue_kick_forward(&device->transport, index);
}

static void net_reset(void *opaque)
{
    struct virtio_net *device = opaque;
    atomic_store(&device->active, false);
    stop_pairs(device);
    if (device->options.vhost)
        virtio_net_vhost_stop(device->options.vhost);
}

/*
 * The user-space queue pairs park; vhost-net's queues are served by the
 * kernel and keep running under a pause (docs/api.md).
 */
static void net_pause(void *opaque)
{
    struct virtio_net *device = opaque;
    for (unsigned i = 0; i < device->thread_count; i++) /* thread 0 first: it serves the control queue */
        virtio_net_thread_pause(&device->threads[i]);
}

static void net_resume(void *opaque)
{
    struct virtio_net *device = opaque;
    for (unsigned i = 0; i < device->thread_count; i++)
        virtio_net_thread_resume(&device->threads[i]);
}

static const struct virtio_device_ops net_ops = {
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .kick = net_kick,
    .reset = net_reset,
    .pause = net_pause,
    .resume = net_resume,
};

static int check_options(const struct virtio_net_options *options, struct error *error)
{
    if (!options->backend || !options->backend->ops)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: no backend");
    unsigned limit = options->backend->pair_count < VIRTIO_NET_MAX_PAIRS ? options->backend->pair_count
                                                                          : VIRTIO_NET_MAX_PAIRS;
    if (options->pair_count == 0 || options->pair_count > limit)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-net: %u queue pairs (1 to %u with this backend)",
                         options->pair_count, limit);
    if (options->io_threads > options->pair_count)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-net: %u I/O threads for %u queue pairs",
                         options->io_threads, options->pair_count);
    uint16_t size = options->queue_size;
    if (size < 2 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-net: queue size %u (a power of two, 2 to %u)", size,
                         VIRTQ_MAX_SIZE);
    if ((options->mac[0] & 1) || !(options->mac[0] | options->mac[1] | options->mac[2] | options->mac[3] |
                                   options->mac[4] | options->mac[5]))
        return error_set(error, EXIT_STATUS_USAGE, "virtio-net: the MAC address is multicast or zero");
    return 0;
}

static void build_config(struct virtio_net *device)
{
    memset(&device->config, 0, sizeof(device->config));
    memcpy(device->config.mac, device->options.mac, sizeof(device->config.mac));
    device->config.status = htole16(VIRTIO_NET_S_LINK_UP);
    device->config.max_virtqueue_pairs = htole16((uint16_t)device->options.pair_count);
    device->config.mtu = htole16(device->options.mtu);
    device->config.speed = htole32(UINT32_MAX); /* unknown */
    device->config.duplex = 0xff;               /* unknown */
}

int virtio_net_init(struct virtio_net *device, const struct virtio_net_options *options,
                    const struct guest_memory *memory, const struct pci_ioeventfd_ops *ioeventfd_ops,
                    void *ioeventfd_opaque, const struct msix_delivery_ops *delivery, void *delivery_opaque,
                    struct error *error)
{
    memset(device, 0, sizeof(*device));
    device->options = *options;
    if (device->options.queue_size == 0)
        device->options.queue_size = VIRTIO_NET_DEFAULT_QUEUE_SIZE;
    if (check_options(&device->options, error) < 0)
        return -1;
    build_config(device);
    atomic_init(&device->active, false);
    device->thread_count = device->options.io_threads ? device->options.io_threads : device->options.pair_count;
    device->pairs = calloc(device->options.pair_count, sizeof(*device->pairs));
    device->threads = calloc(device->thread_count, sizeof(*device->threads));
    if (!device->pairs || !device->threads) {
        free(device->pairs);
        free(device->threads);
        device->pairs = NULL;
        device->threads = NULL;
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: out of memory");
    }
    struct virtio_net_shared *shared = &device->shared;
    shared->transport = &device->transport;
    shared->backend = device->options.backend;
    memcpy(shared->mac, device->options.mac, sizeof(shared->mac));
    shared->data_valid = device->options.data_valid;
    shared->max_pairs = (uint16_t)device->options.pair_count;
    atomic_init(&shared->active_pairs, 1);
    shared->pairs_changed = settle_threads;
    shared->pairs_changed_opaque = device;
    pthread_mutex_init(&shared->filter_lock, NULL);
    virtio_net_filter_reset(&shared->filter);
    const struct virtio_device_info info = {
        .device_type = VIRTIO_NET_DEVICE_TYPE,
        .class_code = VIRTIO_NET_CLASS_CODE,
        .queue_count = (uint16_t)(device->options.pair_count * 2 + 1),
        .queue_max_size = device->options.queue_size,
        .config_size = sizeof(device->config),
        .features = device->options.vhost
                        ? virtio_net_vhost_offer(device->options.vhost, virtio_net_features(&device->options))
                        : virtio_net_features(&device->options),
    };
    if (virtio_pci_init(&device->transport, &info, &net_ops, device, memory, ioeventfd_ops, ioeventfd_opaque,
                        delivery, delivery_opaque, error) < 0) {
        pthread_mutex_destroy(&shared->filter_lock);
        free(device->pairs);
        free(device->threads);
        device->pairs = NULL;
        device->threads = NULL;
        return -1;
    }
    return 0;
}

void virtio_net_destroy(struct virtio_net *device)
{
    atomic_store(&device->active, false);
    stop_pairs(device);
    if (device->options.vhost)
        virtio_net_vhost_stop(device->options.vhost);
    virtio_pci_destroy(&device->transport);
    pthread_mutex_destroy(&device->shared.filter_lock);
    free(device->pairs);
    free(device->threads);
    device->pairs = NULL;
    device->threads = NULL;
}
