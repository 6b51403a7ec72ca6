#ifndef KESTREL_TESTS_UNIT_VIRTIO_BLK_FIXTURE_H
#define KESTREL_TESTS_UNIT_VIRTIO_BLK_FIXTURE_H

/*
 * The virtio-blk tests' machine: PCI bus 0 with the host bridge and a
 * virtio-blk device at BLK_FIXTURE_SLOT over a real scratch image and real
 * io_uring I/O threads; guest RAM from the harness; the driver's side as a
 * guest drives it: configuration space through the ECAM, registers and
 * notifications by MMIO through the io_bus (so kicks take the device's slow
 * path into the kick eventfd), rings with the harness's virtq_driver, MSI-X
 * messages recorded per vector.
 */

#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/virtio_blk.h"
#include "disk_fixture.h"
#include "harness/guest_allocator.h"
#include "harness/virtq_driver.h"
#include "msix_recorder.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"
#include "pci_fixture.h"
#include "virtio_guest_queues.h"
#include "virtio_pci_guest.h"

enum {
    BLK_FIXTURE_SLOT = 1,
    BLK_FIXTURE_MAX_QUEUES = 4,
};
#define BLK_FIXTURE_BAR 0xc0000000ull
#define BLK_FIXTURE_RAM (16ull << 20)
#define BLK_FIXTURE_WAIT_MS 10000

struct blk_fixture_options {
    unsigned long image_size;
    bool sparse;        /* else patterned (disk_pattern_byte) */
    bool read_only;
    unsigned queues;    /* default 1 */
    unsigned io_threads; /* default 1 */
    const char *serial;
    unsigned poll_us;
    struct block_trace_writer *trace; /* started by the test for `queues` queues; NULL: none */
};

struct blk_fixture {
    struct io_bus pio;
    struct io_bus mmio;
    struct pci_bus bus;
    struct pci_device host_bridge;
    struct guest_memory memory;
    struct guest_allocator allocator;
    struct disk_scratch scratch;
    struct disk_image image;  /* the scratch image, when the fixture made it */
    bool owns_image;
    int interrupt_fd;         /* written at every MSI-X message when >= 0, as KVM's irqfd would raise it */
    struct virtio_blk device;
    struct virtio_pci_guest guest; /* the driver's view of the device */
    struct msix_recorder interrupts; /* MSI-X messages per vector */
    struct virtq_driver drivers[BLK_FIXTURE_MAX_QUEUES];
    unsigned driver_count;
};

static inline void blk_fixture_vector_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct blk_fixture *fixture = opaque;
    (void)address, (void)data;
    msix_recorder_count(&fixture->interrupts, vector);
    if (fixture->interrupt_fd >= 0 && eventfd_write(fixture->interrupt_fd, 1) < 0)
        abort();
}

static const struct msix_delivery_ops blk_fixture_delivery = {
    .vector_configure = msix_recorder_vector_configure,
    .vector_signal = blk_fixture_vector_signal,
};

static inline unsigned blk_fixture_deliveries(struct blk_fixture *fixture, unsigned vector)
{
    return msix_recorder_deliveries(&fixture->interrupts, vector);
}

/* Waits (bounded) for the interrupt that follows the used entries a test saw; returns the count seen. */
static inline unsigned blk_fixture_wait_deliveries(struct blk_fixture *fixture, unsigned vector, unsigned minimum)
{
    return msix_recorder_wait(&fixture->interrupts, vector, minimum);
}

static inline uint64_t blk_config_read(struct blk_fixture *fixture, uint32_t offset, uint32_t size)
{
    return virtio_pci_guest_bar_read(&fixture->guest, VIRTIO_PCI_DEVICE_OFFSET + offset, size);
}

static inline uint64_t blk_offered_features(struct blk_fixture *fixture)
{
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_DEVICE_FEATURE_SELECT, 0, 4);
    uint64_t low = virtio_pci_guest_bar_read(&fixture->guest, COMMON_DEVICE_FEATURE, 4);
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_DEVICE_FEATURE_SELECT, 1, 4);
    return low | virtio_pci_guest_bar_read(&fixture->guest, COMMON_DEVICE_FEATURE, 4) << 32;
}

/*
 * The machine around `image` (open; the caller keeps it): bus, device with
 * queues of at most 64 entries (`queue_size` 0) or `queue_size`, BAR mapped,
 * MSI-X enabled. Aborts on failure (a test bug).
 */
static inline void blk_fixture_build(struct blk_fixture *fixture, struct disk_image *image,
                                     const struct blk_fixture_options *options, uint16_t queue_size)
{
    struct error error;
    if (harness_guest_memory_create(&fixture->memory, BLK_FIXTURE_RAM, &error) < 0)
        abort();
    fixture->interrupt_fd = -1;
    msix_recorder_init(&fixture->interrupts);
    guest_allocator_init(&fixture->allocator, &fixture->memory);
    pci_fixture_bus_create(&fixture->pio, &fixture->mmio, &fixture->bus, &fixture->host_bridge);
    unsigned queues = options->queues ? options->queues : 1;
    const struct virtio_blk_options blk_options = {
        .image = image,
        .queue_count = queues,
        .io_thread_count = options->io_threads ? options->io_threads : 1,
        .queue_size = queue_size ? queue_size : 64,
        .serial = options->serial,
        .packed = true,
        .poll_us = options->poll_us,
        .trace = options->trace,
    };
    if (virtio_blk_init(&fixture->device, &blk_options, &fixture->memory, &msix_recorder_ioeventfd_ops, NULL,
                        &blk_fixture_delivery, fixture, &error) < 0 ||
        pci_bus_add_device(&fixture->bus, &fixture->device.transport.pci, BLK_FIXTURE_SLOT, &error) < 0)
        abort();
    fixture->guest = (struct virtio_pci_guest){&fixture->mmio, BLK_FIXTURE_SLOT, BLK_FIXTURE_BAR};
    virtio_pci_guest_map(&fixture->guest);
    virtio_pci_guest_enable_msix(&fixture->guest, queues);
}

static inline struct blk_fixture *blk_fixture_create_on(struct disk_image *image,
                                                        const struct blk_fixture_options *options, uint16_t queue_size)
{
    struct blk_fixture *fixture = calloc(1, sizeof(*fixture));
    if (!fixture)
        abort();
    blk_fixture_build(fixture, image, options, queue_size);
    return fixture;
}

/* The machine over a fresh scratch image (patterned unless options->sparse), which the fixture owns. */
static inline struct blk_fixture *blk_fixture_create(const struct blk_fixture_options *options)
{
    struct blk_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    if (!fixture || disk_scratch_create(&fixture->scratch, options->image_size, !options->sparse) != 0)
        abort();
    const struct disk_image_options image_options = {.path = fixture->scratch.path, .read_only = options->read_only};
    if (disk_image_open(&fixture->image, &image_options, &error) < 0)
        abort();
    fixture->owns_image = true;
    blk_fixture_build(fixture, &fixture->image, options, 0);
    return fixture;
}

static inline void blk_fixture_destroy(struct blk_fixture *fixture)
{
    virtio_blk_destroy(&fixture->device);
    for (unsigned i = 0; i < fixture->driver_count; i++)
        virtq_driver_destroy(&fixture->drivers[i]);
    pci_bus_destroy(&fixture->bus);
    if (fixture->owns_image) {
        disk_image_close(&fixture->image);
        disk_scratch_remove(&fixture->scratch);
    }
    guest_memory_destroy(&fixture->memory);
    msix_recorder_destroy(&fixture->interrupts);
    if (fixture->interrupt_fd >= 0)
        close(fixture->interrupt_fd);
    free(fixture);
}

/*
 * The driver's initialisation: features (VERSION_1 | device bits | `extra`),
 * `queues` queues of `size` on `layout` with vector q + 1, DRIVER_OK.
 * Returns the status read back.
 */
static inline uint8_t blk_fixture_start(struct blk_fixture *fixture, enum virtq_layout layout, unsigned queues,
                                        uint16_t size, uint64_t features)
{
    if (layout == VIRTQ_LAYOUT_PACKED)
        features |= 1ull << VIRTIO_F_RING_PACKED;
    features |= 1ull << VIRTIO_F_VERSION_1;
    return virtio_guest_start_queues(&fixture->guest, &fixture->allocator, fixture->drivers, &fixture->driver_count,
                                     queues, layout, size, features);
}

/* Guest buffers of one request: header, data, status; host pointers for checking. */
struct blk_io {
    uint64_t header_gpa, data_gpa, status_gpa;
    struct virtio_blk_outhdr *header;
    uint8_t *data;
    uint8_t *status;
    uint32_t data_length;
};

static inline void *blk_host(struct blk_fixture *fixture, uint64_t gpa, uint64_t length)
{
    void *host = gpa_to_hva(&fixture->memory, gpa, length);
    if (!host)
        abort();
    return host;
}

static inline void blk_io_alloc(struct blk_fixture *fixture, struct blk_io *io, uint32_t data_length)
{
    io->header_gpa = guest_allocator_alloc(&fixture->allocator, 16, 16);
    io->status_gpa = guest_allocator_alloc(&fixture->allocator, 1, 1);
    io->data_gpa = data_length ? guest_allocator_alloc(&fixture->allocator, data_length, 4096) : 0;
    if (io->header_gpa == GUEST_ALLOCATION_FAILED || io->status_gpa == GUEST_ALLOCATION_FAILED ||
        io->data_gpa == GUEST_ALLOCATION_FAILED)
        abort();
    io->header = blk_host(fixture, io->header_gpa, 16);
    io->status = blk_host(fixture, io->status_gpa, 1);
    io->data = data_length ? blk_host(fixture, io->data_gpa, data_length) : NULL;
    io->data_length = data_length;
    *io->status = 0xee; /* neither OK, IOERR nor UNSUPP: a status never written shows */
}

/* Publishes what was added to `queue` and notifies by MMIO, as a driver without ioeventfd knowledge does. */
static inline void blk_notify(struct blk_fixture *fixture, unsigned queue)
{
    virtq_driver_publish(&fixture->drivers[queue]);
    virtio_pci_guest_notify(&fixture->guest, (uint16_t)queue);
}

/* Adds the request as Linux builds it: header, then data (writable for IN and GET_ID), then status; and kicks. */
static inline int blk_submit(struct blk_fixture *fixture, unsigned queue, struct blk_io *io, uint32_t type,
                             uint64_t sector, uint64_t token)
{
    io->header->type = type;
    io->header->ioprio = 0;
    io->header->sector = sector;
    bool data_in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct virtq_driver_buffer readable[2] = {{io->header_gpa, 16}, {io->data_gpa, io->data_length}};
    struct virtq_driver_buffer writable[2] = {{io->data_gpa, io->data_length}, {io->status_gpa, 1}};
    struct virtq_driver_request request = {
        .readable = readable,
        .readable_count = (!data_in && io->data_length) ? 2 : 1,
        .writable = data_in && io->data_length ? writable : writable + 1,
        .writable_count = data_in && io->data_length ? 2 : 1,
    };
    int result = virtq_driver_add(&fixture->drivers[queue], &request, token);
    if (result < 0)
        return result;
    blk_notify(fixture, queue);
    return 0;
}

/* Reaps one completion from `queue`, waiting (bounded); 1 with *token and *written, 0 on timeout. */
static inline int blk_wait_used(struct blk_fixture *fixture, unsigned queue, uint64_t *token, uint32_t *written)
{
    return virtio_guest_wait_used(&fixture->drivers[queue], token, written, BLK_FIXTURE_WAIT_MS);
}

/* One request, waited for: returns the status byte, and the used length in *written. */
static inline uint8_t blk_do(struct blk_fixture *fixture, unsigned queue, struct blk_io *io, uint32_t type,
                             uint64_t sector, uint32_t *written)
{
    static uint64_t next_token = 1000;
    uint64_t token = next_token++;
    uint32_t used = 0;
    uint64_t got = 0;
    if (blk_submit(fixture, queue, io, type, sector, token) < 0 || blk_wait_used(fixture, queue, &got, &used) != 1 ||
        got != token)
        return 0xfe;
    if (written)
        *written = used;
    return __atomic_load_n(io->status, __ATOMIC_ACQUIRE);
}

#endif
