#ifndef KESTREL_TESTS_HARNESS_VIRTIO_TEST_DEVICE_H
#define KESTREL_TESTS_HARNESS_VIRTIO_TEST_DEVICE_H

/*
 * A virtio device behind the virtio-pci transport, for tests and fuzzing:
 * the example of a device plugging in through struct virtio_device_ops. It
 * has VIRTIO_TEST_QUEUES queues of at most VIRTIO_TEST_QUEUE_MAX entries, a
 * 16-byte device configuration (bytes 0-7 read-only, 8-15 writable), offers
 * VIRTIO_TEST_FEATURES, and records what the transport tells it: activations
 * (with the negotiated features), kicks per queue, resets. Its MSI-X
 * deliveries and ioeventfd registrations are recorded too (the recorder
 * aborts on a second registration of one address or an unknown removal, as
 * KVM would refuse them).
 *
 * It does no I/O by itself: a test pops from virtio_test_device_queue() after
 * a kick, as an I/O thread would.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_pci.h"

enum {
    VIRTIO_TEST_DEVICE_TYPE = 0x1f, /* outside the types Linux drives, so no guest driver binds it */
    VIRTIO_TEST_QUEUES = 3,
    VIRTIO_TEST_QUEUE_MAX = 256,
    VIRTIO_TEST_CONFIG_SIZE = 16,
    VIRTIO_TEST_FEATURE_DEVICE_BIT = 3, /* a device-specific bit it offers */
    VIRTIO_TEST_MAX_RECORDS = 64,
};

#define VIRTIO_TEST_FEATURES                                                                   \
    ((1ull << VIRTIO_TEST_FEATURE_DEVICE_BIT) | (1ull << 28 /* INDIRECT_DESC */) |             \
     (1ull << 29 /* EVENT_IDX */) | (1ull << 34 /* RING_PACKED */) | (1ull << 40 /* RING_RESET: not by this transport */))

struct virtio_test_device {
    struct virtio_pci transport;
    pthread_mutex_t lock; /* guards everything below */
    uint8_t config[VIRTIO_TEST_CONFIG_SIZE];
    bool fail_activate;   /* make activate refuse (tests of DEVICE_NEEDS_RESET) */
    unsigned activations;
    uint64_t activated_features;
    unsigned kicks[VIRTIO_TEST_QUEUES];
    unsigned resets;
    bool active;
    unsigned pauses, resumes; /* pause and resume ops received */
    unsigned deliveries[VIRTIO_TEST_QUEUES + 1]; /* per MSI-X vector */
    unsigned delivery_count;
    uint64_t ioeventfd_address[VIRTIO_TEST_QUEUES]; /* PCI_BAR_UNMAPPED while unregistered */
    unsigned ioeventfd_assigns;
};

/* Aborts on setup failure (a test bug). */
void virtio_test_device_init(struct virtio_test_device *device, const struct guest_memory *memory);
void virtio_test_device_destroy(struct virtio_test_device *device);

/* Queue `index` as the device sees it (valid to pop after activation). */
struct virtq *virtio_test_device_queue(struct virtio_test_device *device, uint16_t index);

#endif
