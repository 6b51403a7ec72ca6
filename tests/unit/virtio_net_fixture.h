#ifndef KESTREL_TESTS_UNIT_VIRTIO_NET_FIXTURE_H
#define KESTREL_TESTS_UNIT_VIRTIO_NET_FIXTURE_H

/*
 * The virtio-net tests' machine, as virtio_blk_fixture.h builds virtio-blk's:
 * PCI bus 0 with the host bridge and a virtio-net device at NET_FIXTURE_SLOT
 * over the socketpair backend (net_test_backend.h); guest RAM from the
 * harness; the driver's side through the ECAM, MMIO registers and
 * notifications (kicks take the device's slow path into the kick eventfds),
 * rings from the harness's virtq_driver, MSI-X messages counted per vector.
 * Queue q has vector q + 1; the configuration vector is 0.
 */

#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/io_bus.h"
#include "devices/virtio_net.h"
#include "harness/guest_allocator.h"
#include "harness/virtq_driver.h"
#include "msix_recorder.h"
#include "net_test_backend.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"
#include "pci_fixture.h"
#include "virtio_guest_queues.h"
#include "virtio_pci_guest.h"

enum {
    NET_FIXTURE_SLOT = 2,
    NET_FIXTURE_MAX_QUEUES = 2 * NET_TEST_MAX_PAIRS + 1,
    NET_FIXTURE_WAIT_MS = 5000,
};
#define NET_FIXTURE_BAR 0xc0000000ull
#define NET_FIXTURE_RAM (16ull << 20)

static const uint8_t net_fixture_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct net_fixture_options {
    unsigned pairs;        /* default 1 */
    size_t header_size;    /* 0 or 12 */
    unsigned offloads;     /* NET_OFFLOAD_* the backend takes */
    uint16_t mtu;
    bool data_valid;
    uint16_t queue_size;   /* default 64 */
    unsigned io_threads;   /* default 0: one per pair */
};

struct net_fixture {
    struct io_bus pio;
    struct io_bus mmio;
    struct pci_bus bus;
    struct pci_device host_bridge;
    struct guest_memory memory;
    struct guest_allocator allocator;
    struct net_test_backend *backend;
    struct virtio_net device;
    struct virtio_pci_guest guest;
    struct msix_recorder interrupts; /* MSI-X messages per vector */
    struct virtq_driver drivers[NET_FIXTURE_MAX_QUEUES];
    unsigned driver_count;
    uint64_t features;     /* negotiated */
    unsigned control_queue;
    uint64_t next_token;
};

static inline void net_fixture_vector_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    (void)address, (void)data;
    msix_recorder_count(opaque, vector);
}

static const struct msix_delivery_ops net_fixture_delivery = {
    .vector_configure = msix_recorder_vector_configure,
    .vector_signal = net_fixture_vector_signal,
};

static inline unsigned net_fixture_deliveries(struct net_fixture *fixture, unsigned vector)
{
    return msix_recorder_deliveries(&fixture->interrupts, vector);
}

static inline unsigned net_fixture_wait_deliveries(struct net_fixture *fixture, unsigned vector, unsigned minimum)
{
    return msix_recorder_wait(&fixture->interrupts, vector, minimum);
}

static inline uint64_t net_offered_features(struct net_fixture *fixture)
{
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_DEVICE_FEATURE_SELECT, 0, 4);
    uint64_t low = virtio_pci_guest_bar_read(&fixture->guest, COMMON_DEVICE_FEATURE, 4);
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_DEVICE_FEATURE_SELECT, 1, 4);
    return low | virtio_pci_guest_bar_read(&fixture->guest, COMMON_DEVICE_FEATURE, 4) << 32;
}

static inline uint64_t net_config_read(struct net_fixture *fixture, uint32_t offset, uint32_t size)
{
    return virtio_pci_guest_bar_read(&fixture->guest, VIRTIO_PCI_DEVICE_OFFSET + offset, size);
}

/* The machine; aborts on failure (a test bug). */
static inline struct net_fixture *net_fixture_create(const struct net_fixture_options *options)
{
    struct net_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    if (!fixture || harness_guest_memory_create(&fixture->memory, NET_FIXTURE_RAM, &error) < 0)
        abort();
    msix_recorder_init(&fixture->interrupts);
    fixture->next_token = 1;
    guest_allocator_init(&fixture->allocator, &fixture->memory);
    pci_fixture_bus_create(&fixture->pio, &fixture->mmio, &fixture->bus, &fixture->host_bridge);
    unsigned pairs = options->pairs ? options->pairs : 1;
    fixture->backend = net_test_backend_create(pairs, options->header_size, options->offloads);
    struct virtio_net_options net_options = {
        .backend = &fixture->backend->backend,
        .pair_count = pairs,
        .io_threads = options->io_threads,
        .queue_size = options->queue_size ? options->queue_size : 64,
        .mtu = options->mtu,
        .data_valid = options->data_valid,
        .packed = true,
    };
    memcpy(net_options.mac, net_fixture_mac, sizeof(net_options.mac));
    if (virtio_net_init(&fixture->device, &net_options, &fixture->memory, &msix_recorder_ioeventfd_ops, NULL,
                        &net_fixture_delivery, &fixture->interrupts, &error) < 0 ||
        pci_bus_add_device(&fixture->bus, &fixture->device.transport.pci, NET_FIXTURE_SLOT, &error) < 0)
        abort();
    fixture->guest = (struct virtio_pci_guest){&fixture->mmio, NET_FIXTURE_SLOT, NET_FIXTURE_BAR};
    virtio_pci_guest_map(&fixture->guest);
    virtio_pci_guest_enable_msix(&fixture->guest, 2 * pairs + 1);
    return fixture;
}

static inline void net_fixture_destroy(struct net_fixture *fixture)
{
    virtio_net_destroy(&fixture->device);
    for (unsigned i = 0; i < fixture->driver_count; i++)
        virtq_driver_destroy(&fixture->drivers[i]);
    pci_bus_destroy(&fixture->bus);
    net_test_backend_destroy(fixture->backend);
    guest_memory_destroy(&fixture->memory);
    msix_recorder_destroy(&fixture->interrupts);
    free(fixture);
}

static inline uint8_t net_fixture_status(struct net_fixture *fixture)
{
    return virtio_pci_guest_status(&fixture->guest);
}

/*
 * The driver's initialisation: the offered features within `wanted` (VERSION_1
 * and the layout's bit added), every data queue of `pairs` pairs (all of the
 * device's when MQ was taken, else one) and the control queue when CTRL_VQ
 * was taken, queues of `size`, DRIVER_OK. Returns the status read back.
 */
static inline uint8_t net_fixture_start(struct net_fixture *fixture, enum virtq_layout layout, uint16_t size,
                                        uint64_t wanted)
{
    wanted |= 1ull << VIRTIO_F_VERSION_1;
    if (layout == VIRTQ_LAYOUT_PACKED)
        wanted |= 1ull << VIRTIO_F_RING_PACKED;
    uint64_t features = net_offered_features(fixture) & wanted;
    fixture->features = features;
    unsigned pairs = (features & (1ull << VIRTIO_NET_F_MQ)) ? fixture->backend->backend.pair_count : 1;
    fixture->control_queue = 2 * pairs;
    unsigned queues = 2 * pairs + ((features & (1ull << VIRTIO_NET_F_CTRL_VQ)) ? 1 : 0);
    return virtio_guest_start_queues(&fixture->guest, &fixture->allocator, fixture->drivers, &fixture->driver_count,
                                     queues, layout, size, features);
}

/* A broken queue shows as DEVICE_NEEDS_RESET in the status, set by the pair's thread: wait (bounded) for it. */
static inline bool net_fixture_wait_needs_reset(struct net_fixture *fixture)
{
    for (unsigned waited = 0; waited < NET_FIXTURE_WAIT_MS; waited++) {
        if (net_fixture_status(fixture) & VIRTIO_CONFIG_S_NEEDS_RESET)
            return true;
        usleep(1000);
    }
    return false;
}

static inline void *net_host(struct net_fixture *fixture, uint64_t gpa, uint64_t length)
{
    void *host = gpa_to_hva(&fixture->memory, gpa, length);
    if (!host)
        abort();
    return host;
}

static inline uint64_t net_alloc(struct net_fixture *fixture, uint64_t length)
{
    uint64_t gpa = guest_allocator_alloc(&fixture->allocator, length ? length : 1, 64);
    if (gpa == GUEST_ALLOCATION_FAILED)
        abort();
    return gpa;
}

static inline void net_notify(struct net_fixture *fixture, unsigned queue)
{
    virtq_driver_publish(&fixture->drivers[queue]);
    virtio_pci_guest_notify(&fixture->guest, (uint16_t)queue);
}

/* Reaps one completion from `queue`, waiting up to timeout_ms; 1 with *token and *written, 0 on timeout. */
static inline int net_wait_used_for(struct net_fixture *fixture, unsigned queue, uint64_t *token, uint32_t *written,
                                    unsigned timeout_ms)
{
    return virtio_guest_wait_used(&fixture->drivers[queue], token, written, timeout_ms);
}

static inline int net_wait_used(struct net_fixture *fixture, unsigned queue, uint64_t *token, uint32_t *written)
{
    return net_wait_used_for(fixture, queue, token, written, NET_FIXTURE_WAIT_MS);
}

/* A receive buffer the driver posted: its guest address and the host's view of it. */
struct net_rx_buffer {
    uint64_t gpa;
    uint8_t *host;
    uint32_t length;
    uint64_t token;
};

/* Posts one writable buffer of `length` bytes on `queue` (as one descriptor) and kicks; returns its token. */
static inline int net_post_rx(struct net_fixture *fixture, unsigned queue, struct net_rx_buffer *buffer,
                              uint32_t length)
{
    buffer->gpa = net_alloc(fixture, length);
    buffer->host = net_host(fixture, buffer->gpa, length);
    buffer->length = length;
    memset(buffer->host, 0xee, length);
    buffer->token = fixture->next_token++;
    const struct virtq_driver_buffer writable = {buffer->gpa, length};
    const struct virtq_driver_request request = {.writable = &writable, .writable_count = 1};
    int result = virtq_driver_add(&fixture->drivers[queue], &request, buffer->token);
    if (result == 0)
        net_notify(fixture, queue);
    return result;
}

/*
 * Adds a transmit chain whose readable bytes are `bytes` (header then frame)
 * cut at the `cuts` offsets (ascending, inside) into descriptors (in an
 * indirect table when `indirect`), and kicks.
 */
static inline int net_send_split(struct net_fixture *fixture, unsigned queue, const void *bytes, uint32_t length,
                                 const uint32_t *cuts, unsigned cut_count, bool indirect, uint64_t *token)
{
    struct virtq_driver_buffer readable[VIRTQ_DRIVER_MAX_SEGMENTS];
    if (cut_count + 1 > VIRTQ_DRIVER_MAX_SEGMENTS)
        abort();
    uint32_t start = 0;
    for (unsigned i = 0; i <= cut_count; i++) {
        uint32_t end = i < cut_count ? cuts[i] : length;
        uint64_t gpa = net_alloc(fixture, end - start);
        memcpy(net_host(fixture, gpa, end - start ? end - start : 1), (const uint8_t *)bytes + start, end - start);
        readable[i] = (struct virtq_driver_buffer){gpa, end - start};
        start = end;
    }
    *token = fixture->next_token++;
    const struct virtq_driver_request request = {
        .readable = readable, .readable_count = cut_count + 1, .indirect = indirect};
    int result = virtq_driver_add(&fixture->drivers[queue], &request, *token);
    if (result == 0)
        net_notify(fixture, queue);
    return result;
}

static inline int net_send(struct net_fixture *fixture, unsigned queue, const void *bytes, uint32_t length,
                           uint64_t *token)
{
    return net_send_split(fixture, queue, bytes, length, NULL, 0, false, token);
}

/*
 * One control command (class, command, data) as Linux builds it: the 2-byte
 * header and the data in separate readable descriptors, one writable ack
 * byte. Returns the ack, 0xfe when nothing came back, 0xfd when the device
 * used the chain without writing the ack.
 */
static inline uint8_t net_control(struct net_fixture *fixture, uint8_t class, uint8_t command, const void *data,
                                  uint32_t length)
{
    unsigned queue = fixture->control_queue;
    uint64_t header_gpa = net_alloc(fixture, 2), ack_gpa = net_alloc(fixture, 1);
    uint8_t *header = net_host(fixture, header_gpa, 2);
    header[0] = class;
    header[1] = command;
    uint8_t *ack = net_host(fixture, ack_gpa, 1);
    *ack = 0xee;
    struct virtq_driver_buffer readable[2] = {{header_gpa, 2}, {0, length}};
    if (length) {
        readable[1].gpa = net_alloc(fixture, length);
        memcpy(net_host(fixture, readable[1].gpa, length), data, length);
    }
    const struct virtq_driver_buffer writable = {ack_gpa, 1};
    const struct virtq_driver_request request = {
        .readable = readable, .readable_count = length ? 2 : 1, .writable = &writable, .writable_count = 1};
    uint64_t token = fixture->next_token++, got = 0;
    uint32_t written = 0;
    if (virtq_driver_add(&fixture->drivers[queue], &request, token) < 0)
        abort();
    net_notify(fixture, queue);
    if (net_wait_used(fixture, queue, &got, &written) != 1 || got != token)
        return 0xfe;
    if (written != 1)
        return 0xfd;
    return __atomic_load_n(ack, __ATOMIC_ACQUIRE);
}

/* A frame of `length` bytes to `destination` from a fixed source, its payload a pattern of `seed`. */
static inline void net_frame_fill(uint8_t *frame, uint32_t length, const uint8_t destination[6], uint8_t seed)
{
    static const uint8_t source[6] = {0x02, 0, 0, 0, 0, 0x01};
    for (uint32_t i = 0; i < length; i++)
        frame[i] = (uint8_t)(seed + i * 7u + (i >> 8));
    memcpy(frame, destination, 6);
    memcpy(frame + 6, source, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
}

#endif
