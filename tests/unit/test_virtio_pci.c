/*
 * The virtio-pci transport driven as a guest driver drives it, through the
 * PCI bus's ECAM and MMIO dispatch: identity and capabilities, the whole
 * initialisation sequence with the real virtqueue core on guest memory, a
 * request popped after a notify write and completed with an MSI-X interrupt,
 * ioeventfds at each queue's notify address that move with the BAR, the
 * packed layout when negotiated, the device-config region, the ISR, and reset.
 * The hostile cases are in test_virtio_pci_hostile.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/eventfd.h>

#include "virtio_pci_fixture.h"

#define FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_TEST_FEATURE_DEVICE_BIT))

static int setup(void **state)
{
    *state = virtio_fixture_create();
    return 0;
}

static int teardown(void **state)
{
    virtio_fixture_destroy(*state);
    return 0;
}

static void test_identity_and_capabilities(void **state)
{
    struct virtio_fixture *fixture = *state;
    assert_int_equal(fixture_ecam_read(fixture, PCI_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(fixture_ecam_read(fixture, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_TEST_DEVICE_TYPE);
    assert_int_equal(fixture_ecam_read(fixture, PCI_REVISION_ID, 1), 1);
    assert_int_equal(fixture_ecam_read(fixture, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    assert_true(fixture_ecam_read(fixture, PCI_SUBSYSTEM_ID, 2) >= 0x40);
    const struct {
        uint8_t type;
        uint32_t offset, length;
    } expected[] = {
        {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE},
        {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET, VIRTIO_TEST_QUEUES * VIRTIO_PCI_NOTIFY_MULTIPLIER},
        {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1},
        {VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, VIRTIO_TEST_CONFIG_SIZE},
        {VIRTIO_PCI_CAP_PCI_CFG, 0, 0},
    };
    for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        unsigned cap = fixture_find_capability(fixture, 0x09, expected[i].type);
        assert_int_not_equal(cap, 0);
        assert_int_equal(fixture_ecam_read(fixture, cap + 4, 1), 0);
        assert_int_equal(fixture_ecam_read(fixture, cap + 8, 4), expected[i].offset);
        assert_int_equal(fixture_ecam_read(fixture, cap + 12, 4), expected[i].length);
        if (expected[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            assert_int_equal(fixture_ecam_read(fixture, cap + 2, 1), 20);
            assert_int_equal(fixture_ecam_read(fixture, cap + 16, 4), VIRTIO_PCI_NOTIFY_MULTIPLIER);
        }
    }
    assert_int_not_equal(fixture_find_capability(fixture, 0x11, 0), 0);
    /* 64-bit memory BAR. */
    assert_int_equal(fixture_ecam_read(fixture, PCI_BASE_ADDRESS_0, 4) & 0x6, PCI_BAR_MEMORY_64);
}

static void test_features_offered(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_DEVICE_FEATURE_SELECT, 0, 4);
    uint64_t low = bar_read(fixture, COMMON_DEVICE_FEATURE, 4);
    bar_write(fixture, COMMON_DEVICE_FEATURE_SELECT, 1, 4);
    uint64_t high = bar_read(fixture, COMMON_DEVICE_FEATURE, 4);
    uint64_t offered = low | high << 32;
    assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    assert_true(offered & (1ull << VIRTIO_TEST_FEATURE_DEVICE_BIT));
    assert_true(offered & (1ull << VIRTIO_F_RING_PACKED));
    /* The device asked for RING_RESET; this transport cannot do it, so it is not offered. */
    assert_false(offered & (1ull << VIRTIO_F_RING_RESET));
    bar_write(fixture, COMMON_DEVICE_FEATURE_SELECT, 2, 4);
    assert_int_equal(bar_read(fixture, COMMON_DEVICE_FEATURE, 4), 0);
    assert_int_equal(bar_read(fixture, COMMON_NUM_QUEUES, 2), VIRTIO_TEST_QUEUES);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), VIRTIO_TEST_QUEUE_MAX);
    assert_int_equal(bar_read(fixture, COMMON_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
}

/* The whole sequence on `layout`; returns with the driver set up on queue 0, vector 1. */
static void bring_up(struct virtio_fixture *fixture, struct virtq_driver *driver, enum virtq_layout layout,
                     uint16_t size, uint64_t features)
{
    const struct virtq_driver_options options = {.layout = layout, .size = size};
    assert_int_equal(virtq_driver_init(driver, &fixture->allocator, &options), 0);
    unsigned activations = fixture->device.activations;
    uint8_t status = fixture_negotiate(fixture, features);
    assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
    bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
    assert_int_equal(bar_read(fixture, COMMON_MSIX_CONFIG, 2), 0);
    fixture_setup_queue(fixture, 0, &driver->config, 1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_MSIX_VECTOR, 2), 1);
    fixture_driver_ok(fixture);
    assert_int_equal(fixture_status(fixture), status | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(fixture->device.activations, activations + 1);
    assert_int_equal(fixture->device.activated_features, features);
}

/* One request through queue 0: add, notify by MMIO, pop, push, interrupt, reap. */
static void round_trip(struct virtio_fixture *fixture, struct virtq_driver *driver)
{
    uint64_t buffer = guest_allocator_alloc(&fixture->allocator, 64, 16);
    const struct virtq_driver_buffer writable = {.gpa = buffer, .len = 64};
    const struct virtq_driver_request request = {.writable = &writable, .writable_count = 1};
    assert_int_equal(virtq_driver_add(driver, &request, 77), 0);
    virtq_driver_publish(driver);
    unsigned kicks = fixture->device.kicks[0], deliveries = fixture->device.deliveries[1];
    fixture_notify(fixture, 0);
    assert_int_equal(fixture->device.kicks[0], kicks + 1);

    struct iovec segments[4];
    struct virtq_request popped = {.segments = segments, .segment_capacity = 4};
    struct virtq *queue = virtio_test_device_queue(&fixture->device, 0);
    assert_int_equal(virtq_pop(queue, &popped), VIRTQ_POP_OK);
    assert_int_equal(popped.writable_bytes, 64);
    memset(segments[0].iov_base, 0x5a, 64);
    assert_int_equal(virtq_push(queue, &popped, 64), 0);
    if (virtq_should_notify(queue))
        virtio_pci_queue_interrupt(&fixture->device.transport, 0);
    assert_int_equal(fixture->device.deliveries[1], deliveries + 1);

    uint64_t token;
    uint32_t written;
    assert_int_equal(virtq_driver_get_used(driver, &token, &written), 1);
    assert_int_equal(token, 77);
    assert_int_equal(written, 64);
}

static void test_split_request_round_trip(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    bring_up(fixture, &driver, VIRTQ_LAYOUT_SPLIT, 64, FEATURES);
    round_trip(fixture, &driver);
    round_trip(fixture, &driver);
    virtq_driver_destroy(&driver);
}

static void test_packed_when_negotiated(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    /* Packed rings need not be a power of two. */
    bring_up(fixture, &driver, VIRTQ_LAYOUT_PACKED, 100, FEATURES | (1ull << VIRTIO_F_RING_PACKED));
    assert_int_equal(virtio_test_device_queue(&fixture->device, 0)->config.layout, VIRTQ_LAYOUT_PACKED);
    round_trip(fixture, &driver);
    virtq_driver_destroy(&driver);
}

static void test_ring_flags_follow_negotiation(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    bring_up(fixture, &driver, VIRTQ_LAYOUT_SPLIT, 64,
             FEATURES | (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC));
    struct virtq *queue = virtio_test_device_queue(&fixture->device, 0);
    assert_true(queue->config.event_idx);
    assert_true(queue->config.indirect);
    virtq_driver_destroy(&driver);
}

static void test_ioeventfds_follow_bar(void **state)
{
    struct virtio_fixture *fixture = *state;
    for (unsigned i = 0; i < VIRTIO_TEST_QUEUES; i++)
        assert_int_equal(fixture->device.ioeventfd_address[i],
                         VIRTIO_FIXTURE_BAR + VIRTIO_PCI_NOTIFY_OFFSET + 4 * i);
    assert_true(virtio_pci_queue_kick_fd(&fixture->device.transport, 0) >= 0);
    assert_int_equal(virtio_pci_queue_kick_fd(&fixture->device.transport, VIRTIO_TEST_QUEUES), -1);
    fixture_ecam_write(fixture, PCI_COMMAND, 0, 2);
    for (unsigned i = 0; i < VIRTIO_TEST_QUEUES; i++)
        assert_int_equal(fixture->device.ioeventfd_address[i], PCI_BAR_UNMAPPED);
    fixture_ecam_write(fixture, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
    fixture_ecam_write(fixture, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    assert_int_equal(fixture->device.ioeventfd_address[2], 0xd0000000u + VIRTIO_PCI_NOTIFY_OFFSET + 8);
}

/* Kicks counted from the eventfd's value (every write since the last read), interrupts as raised: the live stats. */
static void test_queue_kicks_and_interrupts_are_counted(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtio_pci *transport = &fixture->device.transport;
    int kick_fd = virtio_pci_queue_kick_fd(transport, 1);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(eventfd_write(kick_fd, 1), 0);
    virtio_pci_queue_kick_forward(transport, 1); /* the MMIO slow path writes the same eventfd */
    virtio_pci_queue_kick_drain(transport, 1);
    virtio_pci_queue_kick_drain(transport, 1); /* empty now: counts nothing */
    virtio_pci_queue_interrupt(transport, 1);
    virtio_pci_queue_interrupt(transport, 1);
    virtio_pci_queue_interrupt(transport, 0xffff); /* no such queue: nothing counted anywhere */
    virtio_pci_queue_kicks_received(transport, 0xffff, 9);
    struct virtq_stats_snapshot queue1, queue0;
    virtq_stats_snapshot(virtq_stats_of(&transport->queues[1]), &queue1);
    virtq_stats_snapshot(virtq_stats_of(&transport->queues[0]), &queue0);
    assert_int_equal(queue1.kicks, 4);
    assert_int_equal(queue1.interrupts, 2);
    assert_int_equal(queue0.kicks, 0);
    assert_int_equal(queue0.interrupts, 0);
}

static void test_device_config_region(void **state)
{
    struct virtio_fixture *fixture = *state;
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_DEVICE_OFFSET, 4), 0xa3a2a1a0u);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_DEVICE_OFFSET + 7, 1), 0xa7);
    bar_write(fixture, VIRTIO_PCI_DEVICE_OFFSET + 8, 0x1122334455667788ull, 8);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_DEVICE_OFFSET + 8, 8), 0x1122334455667788ull);
    /* Past the device's 16 bytes: reads 0, writes never reach the device (it aborts if they do). */
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_DEVICE_OFFSET + 14, 4), 0);
    bar_write(fixture, VIRTIO_PCI_DEVICE_OFFSET + 14, 0xffffffff, 4);
    bar_write(fixture, VIRTIO_PCI_DEVICE_OFFSET + 0x800, 0xffffffff, 4);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_DEVICE_OFFSET + 14, 2), 0x1122);
}

static void test_config_change_and_isr(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
    uint8_t generation = (uint8_t)bar_read(fixture, COMMON_CONFIG_GENERATION, 1);
    virtio_pci_config_changed(&fixture->device.transport);
    assert_int_equal((uint8_t)bar_read(fixture, COMMON_CONFIG_GENERATION, 1), (uint8_t)(generation + 1));
    assert_int_equal(fixture->device.deliveries[0], 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), 0); /* read-to-clear */
    virtio_pci_queue_interrupt(&fixture->device.transport, 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 4), 1);
    /* With no vector chosen nothing is delivered, but the ISR still says so. */
    bar_write(fixture, COMMON_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR, 2);
    virtio_pci_config_changed(&fixture->device.transport);
    assert_int_equal(fixture->device.deliveries[0], 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_CONFIG);
}

static void test_reset(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    bring_up(fixture, &driver, VIRTQ_LAYOUT_SPLIT, 64, FEATURES);
    uint64_t buffer = guest_allocator_alloc(&fixture->allocator, 64, 16);
    const struct virtq_driver_buffer writable = {.gpa = buffer, .len = 64};
    const struct virtq_driver_request request = {.writable = &writable, .writable_count = 1};
    assert_int_equal(virtq_driver_add(&driver, &request, 1), 0);
    virtq_driver_publish(&driver);
    struct iovec segments[4];
    struct virtq_request popped = {.segments = segments, .segment_capacity = 4};
    struct virtq *queue = virtio_test_device_queue(&fixture->device, 0);
    assert_int_equal(virtq_pop(queue, &popped), VIRTQ_POP_OK);

    bar_write(fixture, COMMON_STATUS, 0, 1);
    assert_int_equal(fixture->device.resets, 1);
    assert_int_equal(fixture_status(fixture), 0);
    assert_false(fixture->device.active);
    /* The request in flight across the reset cannot complete. */
    assert_int_equal(virtq_push(queue, &popped, 0), -1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 0);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DESC, 8), 0);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), VIRTIO_TEST_QUEUE_MAX);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(bar_read(fixture, COMMON_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
    bar_write(fixture, COMMON_DRIVER_FEATURE_SELECT, 0, 4);
    assert_int_equal(bar_read(fixture, COMMON_DRIVER_FEATURE, 4), 0);
    /* Kicks after the reset reach nothing (the test device aborts on a kick while inactive). */
    fixture_notify(fixture, 0);
    virtq_driver_destroy(&driver);

    /* And the device comes up again. */
    struct virtq_driver again;
    bring_up(fixture, &again, VIRTQ_LAYOUT_SPLIT, 32, FEATURES);
    round_trip(fixture, &again);
    virtq_driver_destroy(&again);
}

static void test_pci_function_reset(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    bring_up(fixture, &driver, VIRTQ_LAYOUT_SPLIT, 64, FEATURES);
    pci_bus_reset(&fixture->bus);
    assert_int_equal(fixture->device.resets, 1);
    assert_int_equal(fixture->device.transport.status, 0);
    assert_false(fixture->device.transport.queue_registers[0].enabled);
    virtq_driver_destroy(&driver);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_and_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_request_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packed_when_negotiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_flags_follow_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioeventfds_follow_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_kicks_and_interrupts_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_config_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_change_and_isr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_function_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
