#include "devices/virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

/*
 * Per DISCARD or WRITE_ZEROES range: 2 GiB. fallocate takes any length, but
 * Linux keeps a bio's size in 32 bits of bytes, so a larger value buys nothing.
 */
#define RANGE_SECTORS_MAX (1u << 22)
/* Under O_DIRECT a request with unaligned buffers is bounced whole, up to DISK_ENGINE_BOUNCE_LIMIT. */
#define DIRECT_SEGMENT_BYTES 4096u

uint64_t virtio_blk_features(const struct virtio_blk_options *options)
{
    uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
                        1ull << VIRTIO_BLK_F_TOPOLOGY | 1ull << VIRTIO_BLK_F_MQ |
                        1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    if (options->image->read_only)
        features |= 1ull << VIRTIO_BLK_F_RO;
    else
        features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    if (options->image->direct)
        features |= 1ull << VIRTIO_BLK_F_SIZE_MAX;
    if (options->packed)
        features |= 1ull << VIRTIO_F_RING_PACKED;
    return features;
}

/*
 * The segment limit: an indirect table holds seg_max + 2 descriptors and no
 * more than the queue size (virtq_largest_seg_max). Under O_DIRECT each
 * segment is at most one page (size_max) and a whole request must fit the
 * engine's bounce buffer, so seg_max * size_max stays within it.
 */
static uint32_t segment_limit(const struct virtio_blk_options *options)
{
    uint32_t seg_max = virtq_largest_seg_max(options->queue_size);
    if (options->image->direct && seg_max > DISK_ENGINE_BOUNCE_LIMIT / DIRECT_SEGMENT_BYTES)
        seg_max = DISK_ENGINE_BOUNCE_LIMIT / DIRECT_SEGMENT_BYTES;
    return seg_max;
}

static int build_config(struct virtio_blk *device, struct error *error)
{
    const struct virtio_blk_options *options = &device->options;
    const struct disk_image *image = options->image;
    uint32_t seg_max = segment_limit(options);
    if (virtq_check_seg_max(options->queue_size, seg_max) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-blk: queue size %u leaves no room for data segments",
                         options->queue_size);
    uint32_t block_size = image->block_size < VIRTIO_BLK_SECTOR_SIZE ? VIRTIO_BLK_SECTOR_SIZE : image->block_size;
    struct virtio_blk_config config;
    memset(&config, 0, sizeof(config));
    config.capacity = htole64(image->size / VIRTIO_BLK_SECTOR_SIZE);
    config.size_max = htole32(image->direct ? DIRECT_SEGMENT_BYTES : 0);
    config.seg_max = htole32(seg_max);
    config.blk_size = htole32(block_size);
    /* Topology: physical blocks as large as logical ones, no alignment offset, no preferred sizes. */
    config.min_io_size = htole16(1);
    config.num_queues = htole16((uint16_t)options->queue_count);
    if (!image->read_only) {
        config.max_discard_sectors = htole32(RANGE_SECTORS_MAX);
        config.max_discard_seg = htole32(1);
        config.discard_sector_alignment = htole32(block_size / VIRTIO_BLK_SECTOR_SIZE);
        config.max_write_zeroes_sectors = htole32(RANGE_SECTORS_MAX);
        config.max_write_zeroes_seg = htole32(1);
        config.write_zeroes_may_unmap = 1;
    }
    device->config = config;

    device->limits = (struct virtio_blk_limits){
        .capacity_sectors = image->size / VIRTIO_BLK_SECTOR_SIZE,
        .read_only = image->read_only,
        .max_discard_sectors = RANGE_SECTORS_MAX,
        .max_write_zeroes_sectors = RANGE_SECTORS_MAX,
    };
    if (options->serial)
        memcpy(device->limits.serial, options->serial, strnlen(options->serial, VIRTIO_BLK_SERIAL_BYTES));
    return 0;
}

static void blk_config_read(void *opaque, uint32_t offset, void *data, uint32_t size)
{
    struct virtio_blk *device = opaque;
    /* The transport bounded the access to config_size; the bytes never change after init. */
    if (offset <= sizeof(device->config) && size <= sizeof(device->config) - offset)
        memcpy(data, (const uint8_t *)&device->config + offset, size);
}

static void blk_config_write(void *opaque, uint32_t offset, const void *data, uint32_t size)
{
    /* No CONFIG_WCE: every field is read-only, and a write is ignored. */
    (void)opaque, (void)offset, (void)data, (void)size;
}

static void stop_threads(struct virtio_blk *device)
{
    for (unsigned i = 0; i < device->options.io_thread_count; i++)
        virtio_blk_io_thread_stop(&device->threads[i]);
}

static int blk_activate(void *opaque, uint64_t features, struct virtq *queues, uint16_t queue_count)
{
    struct virtio_blk *device = opaque;
    (void)features;
    unsigned thread_count = device->options.io_thread_count;
    for (unsigned thread = 0; thread < thread_count; thread++) {
        uint64_t mask = 0;
        for (unsigned queue = thread; queue < queue_count; queue += thread_count)
            if (virtq_is_enabled(&queues[queue]))
                mask |= 1ull << queue;
        if (mask == 0)
            continue;
        const struct virtio_blk_io_thread_setup setup = {
            .transport = &device->transport,
            .image = device->options.image,
            .limits = &device->limits,
            .queue_mask = mask,
            .poll_us = device->options.poll_us,
            .requests_completed = &device->requests_completed,
            .trace = device->options.trace,
        };
        struct error error;
        if (virtio_blk_io_thread_start(&device->threads[thread], &setup, &error) < 0) {
            log_error("%s", error.message);
            stop_threads(device);
            return -1;
        }
    }
    atomic_store(&device->active, true);
    return 0;
}

static void blk_kick(void *opaque, uint16_t index)
{
    struct virtio_blk *device = opaque;
    /* A kick can race a reset; the I/O threads read the eventfd, and only while they run. */
    if (!atomic_load(&device->active))
        return;
    virtio_pci_queue_kick_forward(&device->transport, index);
}

static void blk_reset(void *opaque)
{
    struct virtio_blk *device = opaque;
    atomic_store(&device->active, false);
    stop_threads(device);
}

/* One thread at a time: each drains its own requests; the vCPUs are parked, so no new ones arrive by MMIO. */
static void blk_pause(void *opaque)
{
    struct virtio_blk *device = opaque;
    for (unsigned i = 0; i < device->options.io_thread_count; i++)
        virtio_blk_io_thread_pause(&device->threads[i]);
}

static void blk_resume(void *opaque)
{
    struct virtio_blk *device = opaque;
    for (unsigned i = 0; i < device->options.io_thread_count; i++)
        virtio_blk_io_thread_resume(&device->threads[i]);
}

static const struct virtio_device_ops blk_ops = {
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .activate = blk_activate,
    .kick = blk_kick,
    .reset = blk_reset,
    .pause = blk_pause,
    .resume = blk_resume,
};

static int check_options(const struct virtio_blk_options *options, struct error *error)
{
    if (!options->image)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-blk: no image");
    if (options->queue_count == 0 || options->queue_count > VIRTIO_BLK_MAX_QUEUES)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-blk: %u queues (1 to %u)", options->queue_count,
                         VIRTIO_BLK_MAX_QUEUES);
    if (options->io_thread_count == 0 || options->io_thread_count > options->queue_count)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-blk: %u I/O threads for %u queues",
                         options->io_thread_count, options->queue_count);
    uint16_t size = options->queue_size;
    if (size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-blk: queue size %u (a power of two up to %u)", size,
                         VIRTQ_MAX_SIZE);
    if (options->image->size < VIRTIO_BLK_SECTOR_SIZE)
        return error_set(error, EXIT_STATUS_USAGE, "virtio-blk: the image is smaller than one sector");
    return 0;
}

int virtio_blk_init(struct virtio_blk *device, const struct virtio_blk_options *options,
                    const struct guest_memory *memory, const struct pci_ioeventfd_ops *ioeventfd_ops,
                    void *ioeventfd_opaque, const struct msix_delivery_ops *delivery, void *delivery_opaque,
                    struct error *error)
{
    memset(device, 0, sizeof(*device));
    device->options = *options;
    if (device->options.queue_size == 0)
        device->options.queue_size = VIRTIO_BLK_DEFAULT_QUEUE_SIZE;
    if (check_options(&device->options, error) < 0 || build_config(device, error) < 0)
        return -1;
    atomic_init(&device->active, false);
    device->threads = calloc(device->options.io_thread_count, sizeof(*device->threads));
    if (!device->threads)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-blk: out of memory");
    const struct virtio_device_info info = {
        .device_type = VIRTIO_BLK_DEVICE_TYPE,
        .class_code = VIRTIO_BLK_CLASS_CODE,
        .queue_count = (uint16_t)device->options.queue_count,
        .queue_max_size = device->options.queue_size,
        .config_size = sizeof(device->config),
        .features = virtio_blk_features(&device->options),
    };
    if (virtio_pci_init(&device->transport, &info, &blk_ops, device, memory, ioeventfd_ops, ioeventfd_opaque,
                        delivery, delivery_opaque, error) < 0) {
        free(device->threads);
        device->threads = NULL;
        return -1;
    }
    return 0;
}

void virtio_blk_destroy(struct virtio_blk *device)
{
    atomic_store(&device->active, false);
    /* Before the transport and guest memory go: the threads push into the rings until stopped. */
    stop_threads(device);
    virtio_pci_destroy(&device->transport);
    free(device->threads);
    device->threads = NULL;
}
