/*
 * KESTREL_TSAN_TEST
 * The calls a device makes from its I/O threads (queue interrupts,
 * configuration changes, broken queues) race with a vCPU driving the
 * register file, resetting the device and reading the ISR: they must not
 * take the transport's lock (a reset op may join those threads) and must not
 * race. Run under ThreadSanitizer as well as ASan+UBSan.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_pci_fixture.h"

enum { ROUNDS = 2000 };

static void *io_thread(void *opaque)
{
    struct virtio_pci *transport = opaque;
    for (unsigned i = 0; i < ROUNDS; i++) {
        virtio_pci_queue_interrupt(transport, (uint16_t)(i % VIRTIO_TEST_QUEUES));
        if (i % 7 == 0)
            virtio_pci_config_changed(transport);
        if (i % 101 == 0)
            virtio_pci_queue_broken(transport, 0);
    }
    return NULL;
}

static void test_device_events_race_registers(void **state)
{
    (void)state;
    struct virtio_fixture *fixture = virtio_fixture_create();
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, io_thread, &fixture->device.transport), 0);
    for (unsigned i = 0; i < ROUNDS; i++) {
        bar_write(fixture, COMMON_MSIX_CONFIG, i % 2 ? 0 : VIRTIO_MSI_NO_VECTOR, 2);
        bar_write(fixture, COMMON_QUEUE_SELECT, (uint16_t)(i % VIRTIO_TEST_QUEUES), 2);
        bar_write(fixture, COMMON_QUEUE_MSIX_VECTOR, (uint16_t)(i % (VIRTIO_TEST_QUEUES + 2)), 2);
        (void)bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1);
        (void)bar_read(fixture, COMMON_CONFIG_GENERATION, 1);
        if (i % 50 == 0)
            bar_write(fixture, COMMON_STATUS, 0, 1);
        else
            bar_write(fixture, COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
    }
    assert_int_equal(pthread_join(thread, NULL), 0);
    /* Afterwards the transport still works: a reset, a vector, an event, its interrupt. */
    bar_write(fixture, COMMON_STATUS, 0, 1);
    assert_int_equal(fixture_status(fixture), 0);
    bar_write(fixture, COMMON_MSIX_CONFIG, 0, 2);
    unsigned deliveries = fixture->device.deliveries[0];
    virtio_pci_config_changed(&fixture->device.transport);
    assert_int_equal(fixture->device.deliveries[0], deliveries + 1);
    assert_int_equal(bar_read(fixture, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_CONFIG);
    virtio_fixture_destroy(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_events_race_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
