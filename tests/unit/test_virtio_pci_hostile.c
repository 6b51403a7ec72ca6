/*
 * The virtio-pci transport against a hostile driver: feature negotiation
 * refusals, DRIVER_OK out of order, queue registers out of range, refused
 * queue sizes and ring addresses (DEVICE_NEEDS_RESET with a configuration
 * interrupt, never an exit), registers frozen while a queue is enabled, MSI-X
 * vectors past the table, a broken queue beside working ones, odd widths and
 * offsets in every region, and the PCI_CFG window with any BAR, offset and
 * length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_pci_fixture.h"

#define FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_TEST_FEATURE_DEVICE_BIT))
#define NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET

static int setup(void **state)
{
    struct virtio_fixture *fixture = virtio_fixture_create();
    bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    virtio_fixture_destroy(*state);
    return 0;
}

static void test_features_ok_needs_version_1(void **state)
{
    struct virtio_fixture *fixture = *state;
    uint8_t status = fixture_negotiate(fixture, 1ull << VIRTIO_TEST_FEATURE_DEVICE_BIT);
    assert_false(status & VIRTIO_CONFIG_S_FEATURES_OK);
    assert_int_equal(status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

static void test_features_ok_refuses_unoffered_bits(void **state)
{
    struct virtio_fixture *fixture = *state;
    /* RING_RESET: the device asked for it, the transport does not offer it. */
    uint8_t status = fixture_negotiate(fixture, FEATURES | (1ull << VIRTIO_F_RING_RESET));
    assert_false(status & VIRTIO_CONFIG_S_FEATURES_OK);
    /* What the driver wrote is masked to what was offered. */
    bar_write(fixture, COMMON_DRIVER_FEATURE_SELECT, 1, 4);
    assert_int_equal(bar_read(fixture, COMMON_DRIVER_FEATURE, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
}

static void test_features_ok_refuses_bits_past_64(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_DRIVER_FEATURE_SELECT, 2, 4);
    bar_write(fixture, COMMON_DRIVER_FEATURE, 1, 4);
    assert_false(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_features_frozen_after_features_ok(void **state)
{
    struct virtio_fixture *fixture = *state;
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    bar_write(fixture, COMMON_DRIVER_FEATURE_SELECT, 1, 4);
    bar_write(fixture, COMMON_DRIVER_FEATURE, 1u << (VIRTIO_F_RING_PACKED - 32), 4);
    assert_int_equal(bar_read(fixture, COMMON_DRIVER_FEATURE, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
}

static void test_driver_ok_before_features_ok(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK,
              1);
    assert_int_equal(fixture_status(fixture), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    assert_int_equal(fixture->device.activations, 0);
    /* Nor can the driver set NEEDS_RESET itself, or clear bits without a reset. */
    bar_write(fixture, COMMON_STATUS, NEEDS_RESET, 1);
    assert_int_equal(fixture_status(fixture), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

static void test_queue_select_out_of_range(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_QUEUE_SELECT, VIRTIO_TEST_QUEUES, 2);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), 0);
    bar_write(fixture, COMMON_QUEUE_SIZE, 16, 2);
    bar_write(fixture, COMMON_QUEUE_DESC, 0x200000, 8);
    bar_write(fixture, COMMON_QUEUE_MSIX_VECTOR, 1, 2);
    bar_write(fixture, COMMON_QUEUE_ENABLE, 1, 2);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), 0);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DESC, 8), 0);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 0);
    bar_write(fixture, COMMON_QUEUE_SELECT, 0xffff, 2);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), 0);
    assert_int_equal(fixture_status(fixture) & NEEDS_RESET, 0);
}

static void make_rings(struct virtio_fixture *fixture, struct virtq_driver *driver, uint16_t size)
{
    const struct virtq_driver_options options = {.layout = VIRTQ_LAYOUT_SPLIT, .size = size};
    assert_int_equal(virtq_driver_init(driver, &fixture->allocator, &options), 0);
}

/* Enabling queue 0 with `size` (rings sized for 64) must fail with NEEDS_RESET and a config interrupt. */
static void expect_enable_refused(struct virtio_fixture *fixture, struct virtq_config *rings)
{
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    unsigned interrupts = fixture->device.deliveries[0];
    fixture_setup_queue(fixture, 0, rings, 1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 0);
    assert_true(fixture_status(fixture) & NEEDS_RESET);
    assert_int_equal(fixture->device.deliveries[0], interrupts + 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_CONFIG);
    /* DRIVER_OK on a device that needs a reset starts nothing. */
    fixture_driver_ok(fixture);
    assert_int_equal(fixture->device.activations, 0);
}

static void test_queue_size_refused(void **state)
{
    struct virtio_fixture *fixture = *state;
    const uint16_t sizes[] = {0, 48, VIRTIO_TEST_QUEUE_MAX * 2, 0xffff};
    struct virtq_driver driver;
    make_rings(fixture, &driver, 64);
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct virtq_config rings = driver.config;
        rings.size = sizes[i];
        expect_enable_refused(fixture, &rings);
        bar_write(fixture, COMMON_STATUS, 0, 1);
        bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
    }
    virtq_driver_destroy(&driver);
}

static void test_queue_addresses_refused(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    make_rings(fixture, &driver, 64);
    const uint64_t bad[] = {VIRTIO_FIXTURE_BAR, 0, GUEST_HIGH_RAM_START + VIRTIO_FIXTURE_RAM - 8, UINT64_MAX - 7};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (unsigned area = 0; area < 3; area++) {
            struct virtq_config rings = driver.config;
            uint64_t *address = area == 0 ? &rings.desc_gpa : area == 1 ? &rings.driver_gpa : &rings.device_gpa;
            *address = bad[i];
            expect_enable_refused(fixture, &rings);
            bar_write(fixture, COMMON_STATUS, 0, 1);
            bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
        }
    }
    virtq_driver_destroy(&driver);
}

static void test_enable_before_features_ok_refused(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    make_rings(fixture, &driver, 64);
    bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
    fixture_setup_queue(fixture, 0, &driver.config, 1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 0);
    assert_true(fixture_status(fixture) & NEEDS_RESET);
    virtq_driver_destroy(&driver);
}

static void test_registers_frozen_while_enabled(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver driver;
    make_rings(fixture, &driver, 64);
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    fixture_setup_queue(fixture, 0, &driver.config, 1);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 1);
    bar_write(fixture, COMMON_QUEUE_SIZE, 16, 2);
    bar_write(fixture, COMMON_QUEUE_DESC, 0x12340000, 4);
    bar_write(fixture, COMMON_QUEUE_DRIVER + 4, 1, 4);
    bar_write(fixture, COMMON_QUEUE_DEVICE, 0x5000, 8);
    bar_write(fixture, COMMON_QUEUE_ENABLE, 0, 2); /* reserved without RING_RESET */
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), 64);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DESC, 8), driver.config.desc_gpa);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DRIVER, 8), driver.config.driver_gpa);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DEVICE, 8), driver.config.device_gpa);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_ENABLE, 2), 1);
    struct virtq *queue = virtio_test_device_queue(&fixture->device, 0);
    assert_int_equal(queue->config.desc_gpa, driver.config.desc_gpa);
    assert_int_equal(queue->config.size, 64);
    /* Enabling again changes nothing (no new generation). */
    uint64_t generation = queue->generation;
    bar_write(fixture, COMMON_QUEUE_ENABLE, 1, 2);
    assert_int_equal(queue->generation, generation);
    virtq_driver_destroy(&driver);
}

static void test_vectors_past_the_table(void **state)
{
    struct virtio_fixture *fixture = *state;
    bar_write(fixture, COMMON_MSIX_CONFIG, VIRTIO_TEST_QUEUES + 1, 2);
    assert_int_equal(bar_read(fixture, COMMON_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
    bar_write(fixture, COMMON_MSIX_CONFIG, VIRTIO_TEST_QUEUES, 2);
    assert_int_equal(bar_read(fixture, COMMON_MSIX_CONFIG, 2), VIRTIO_TEST_QUEUES);
    bar_write(fixture, COMMON_QUEUE_SELECT, 1, 2);
    bar_write(fixture, COMMON_QUEUE_MSIX_VECTOR, 0x7fff, 2);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
    virtio_pci_queue_interrupt(&fixture->device.transport, 1);
    virtio_pci_queue_interrupt(&fixture->device.transport, 0xffff);
    assert_int_equal(fixture->device.delivery_count, 0);
}

static void test_broken_queue_leaves_others_working(void **state)
{
    struct virtio_fixture *fixture = *state;
    struct virtq_driver first, second;
    make_rings(fixture, &first, 64);
    make_rings(fixture, &second, 64);
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    fixture_setup_queue(fixture, 0, &first.config, 1);
    fixture_setup_queue(fixture, 1, &second.config, 2);
    fixture_driver_ok(fixture);
    assert_int_equal(fixture->device.activations, 1);

    /* The driver publishes 200 entries in a 64-entry ring: queue 0 breaks. */
    first.split.avail->idx = 200;
    struct iovec segments[4];
    struct virtq_request popped = {.segments = segments, .segment_capacity = 4};
    fixture_notify(fixture, 0);
    assert_int_equal(virtq_pop(virtio_test_device_queue(&fixture->device, 0), &popped), VIRTQ_POP_BROKEN);
    virtio_pci_queue_broken(&fixture->device.transport, 0);
    assert_true(fixture_status(fixture) & NEEDS_RESET);
    assert_true(fixture_status(fixture) & VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(fixture->device.deliveries[0], 1);

    uint64_t buffer = guest_allocator_alloc(&fixture->allocator, 32, 16);
    const struct virtq_driver_buffer readable = {.gpa = buffer, .len = 32};
    const struct virtq_driver_request request = {.readable = &readable, .readable_count = 1};
    assert_int_equal(virtq_driver_add(&second, &request, 5), 0);
    virtq_driver_publish(&second);
    fixture_notify(fixture, 1);
    assert_int_equal(fixture->device.kicks[1], 1);
    assert_int_equal(virtq_pop(virtio_test_device_queue(&fixture->device, 1), &popped), VIRTQ_POP_OK);
    assert_int_equal(virtq_push(virtio_test_device_queue(&fixture->device, 1), &popped, 0), 0);
    virtq_driver_destroy(&first);
    virtq_driver_destroy(&second);
}

static void test_activate_failure(void **state)
{
    struct virtio_fixture *fixture = *state;
    fixture->device.fail_activate = true;
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    fixture_driver_ok(fixture);
    assert_true(fixture_status(fixture) & NEEDS_RESET);
    assert_int_equal(fixture->device.deliveries[0], 1);
}

static void test_notify_hostile(void **state)
{
    struct virtio_fixture *fixture = *state;
    /* Before DRIVER_OK, past the queues, unaligned, odd widths: no kick reaches the device (it aborts if one does). */
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET, 0, 2);
    struct virtq_driver driver;
    make_rings(fixture, &driver, 64);
    assert_true(fixture_negotiate(fixture, FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
    fixture_setup_queue(fixture, 0, &driver.config, 1);
    fixture_driver_ok(fixture);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET + 4 * VIRTIO_TEST_QUEUES, 0, 2);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET + 4, 1, 2); /* queue 1 is not enabled */
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET + 1, 0, 2);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET, 0, 1);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET, 0, 8);
    bar_write(fixture, VIRTIO_PCI_MSIX_TABLE_OFFSET - 2, 0, 2);
    assert_int_equal(fixture->device.kicks[0] + fixture->device.kicks[1] + fixture->device.kicks[2], 0);
    bar_write(fixture, VIRTIO_PCI_NOTIFY_OFFSET, 0, 4);
    assert_int_equal(fixture->device.kicks[0], 1);
    virtq_driver_destroy(&driver);
}

static void test_odd_widths_in_common_config(void **state)
{
    struct virtio_fixture *fixture = *state;
    /* Reads compose byte by byte; past the fields they read 0. */
    assert_int_equal(bar_read(fixture, COMMON_NUM_QUEUES, 1), VIRTIO_TEST_QUEUES);
    assert_int_equal(bar_read(fixture, COMMON_NUM_QUEUES + 1, 1), 0);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE - 1, 4), (uint32_t)VIRTIO_TEST_QUEUE_MAX << 8 | 0xff000000u);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_COMMON_SIZE, 8), 0);
    assert_int_equal(bar_read(fixture, 0xff8, 8), 0);
    /* Writes other than whole fields (or halves of the 64-bit addresses) are ignored. */
    bar_write(fixture, COMMON_QUEUE_SIZE, 0x10, 1);
    bar_write(fixture, COMMON_QUEUE_SIZE + 1, 0x10, 1);
    bar_write(fixture, COMMON_QUEUE_SIZE, 0x10, 4);
    bar_write(fixture, COMMON_QUEUE_SELECT, 0x00100001, 4); /* spans queue_select and queue_size */
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SIZE, 2), VIRTIO_TEST_QUEUE_MAX);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_SELECT, 2), 0);
    bar_write(fixture, COMMON_QUEUE_DESC + 2, 0x1000, 4);
    bar_write(fixture, COMMON_QUEUE_DESC + 4, 0x2, 2);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DESC, 8), 0);
    bar_write(fixture, COMMON_QUEUE_DESC + 4, 0x2, 4);
    bar_write(fixture, COMMON_QUEUE_DESC, 0x3000, 4);
    assert_int_equal(bar_read(fixture, COMMON_QUEUE_DESC, 8), 0x200003000ull);
    bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 2); /* spans status and generation */
    assert_int_equal(fixture_status(fixture), 0);
    bar_write(fixture, COMMON_NUM_QUEUES, 99, 2);
    assert_int_equal(bar_read(fixture, COMMON_NUM_QUEUES, 2), VIRTIO_TEST_QUEUES);
    bar_write(fixture, 0x0ffc, 0xffffffff, 4);
    /* ISR: only its first byte means anything, and writes do nothing. */
    virtio_pci_config_changed(&fixture->device.transport);
    bar_write(fixture, VIRTIO_PCI_ISR_OFFSET, 0, 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET + 1, 1), 0);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_CONFIG);
}

/* The PCI_CFG window: program bar/offset/length through configuration space, then access pci_cfg_data. */
static unsigned window(struct virtio_fixture *fixture, uint8_t bar, uint32_t offset, uint32_t length)
{
    unsigned cap = fixture_find_capability(fixture, 0x09, VIRTIO_PCI_CAP_PCI_CFG);
    assert_int_not_equal(cap, 0);
    fixture_ecam_write(fixture, cap + 4, bar, 1);
    fixture_ecam_write(fixture, cap + 8, offset, 4);
    fixture_ecam_write(fixture, cap + 12, length, 4);
    return cap + 16;
}

static void test_pci_cfg_window(void **state)
{
    struct virtio_fixture *fixture = *state;
    unsigned data = window(fixture, 0, COMMON_NUM_QUEUES, 2);
    assert_int_equal(fixture_ecam_read(fixture, data, 2), VIRTIO_TEST_QUEUES);
    data = window(fixture, 0, COMMON_STATUS, 1);
    fixture_ecam_write(fixture, data, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    assert_int_equal(fixture_status(fixture), VIRTIO_CONFIG_S_ACKNOWLEDGE);
    data = window(fixture, 0, VIRTIO_PCI_DEVICE_OFFSET, 4);
    assert_int_equal(fixture_ecam_read(fixture, data, 4), 0xa3a2a1a0u);
    /* The MSI-X table through the window too. */
    data = window(fixture, 0, VIRTIO_PCI_MSIX_TABLE_OFFSET + 8, 4);
    assert_int_equal(fixture_ecam_read(fixture, data, 4), 0x40);

    /* Hostile targets: another BAR, bad lengths, misaligned, past the BAR, wrapping. */
    const struct {
        uint8_t bar;
        uint32_t offset, length;
    } bad[] = {
        {1, COMMON_STATUS, 1}, {5, 0, 4}, {0xff, 0, 4}, {0, COMMON_STATUS, 0}, {0, COMMON_STATUS, 3},
        {0, COMMON_STATUS, 8}, {0, COMMON_STATUS, 0xffffffff}, {0, COMMON_STATUS + 1, 2},
        {0, VIRTIO_PCI_BAR_SIZE, 4}, {0, VIRTIO_PCI_BAR_SIZE - 2, 4}, {0, 0xfffffffc, 4}, {0, 0xffffffff, 1},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        data = window(fixture, bad[i].bar, bad[i].offset, bad[i].length);
        fixture_ecam_write(fixture, data, 0, 4);
        fixture_ecam_write(fixture, data, 0xff, 1);
        assert_int_equal(fixture_status(fixture), VIRTIO_CONFIG_S_ACKNOWLEDGE);
        (void)fixture_ecam_read(fixture, data, 4);
    }
    /* The window reads what was last written there when the target is refused. */
    data = window(fixture, 0, 3, 4);
    fixture_ecam_write(fixture, data, 0x12345678, 4);
    assert_int_equal(fixture_ecam_read(fixture, data, 4), 0x12345678);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_features_ok_needs_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_ok_refuses_unoffered_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_ok_refuses_bits_past_64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_frozen_after_features_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_driver_ok_before_features_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_select_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_size_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_addresses_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_before_features_ok_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registers_frozen_while_enabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectors_past_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_queue_leaves_others_working, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_widths_in_common_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
