/*
 * KESTREL_TSAN_TEST: virtio-blk's I/O threads against the driver's thread(s):
 * a device reset with requests in flight (threads stopped, I/O drained, no
 * completion reaches the rings afterwards, then the device is used again),
 * several queues on two I/O threads driven at once from two driver threads,
 * adaptive polling (poll_us), and a flood of kicks from another thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (1ul << 20)

static atomic_uint slow_completions;

/* Every completion waits 2 ms in the I/O thread, so requests are still in flight when the reset comes. */
static int slow(void *context, enum disk_request_type type, uint64_t offset, uint64_t length, int result)
{
    (void)context, (void)type, (void)offset, (void)length;
    atomic_fetch_add(&slow_completions, 1);
    usleep(2000);
    return result;
}

static void test_reset_with_requests_in_flight(enum virtq_layout layout)
{
    disk_engine_result_hook = slow;
    atomic_store(&slow_completions, 0);
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, layout, 1, 64, 1ull << VIRTIO_RING_F_EVENT_IDX) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    enum { COUNT = 16 }; /* three descriptors each in a ring of 64 */
    struct blk_io in[COUNT];
    for (unsigned i = 0; i < COUNT; i++) {
        blk_io_alloc(fixture, &in[i], 4096);
        assert_int_equal(blk_submit(fixture, 0, &in[i], VIRTIO_BLK_T_IN, i * 8, i), 0);
    }
    while (atomic_load(&slow_completions) == 0)
        usleep(100);
    /* The reset returns only when the I/O threads stopped and nothing is in the kernel. */
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
    assert_int_equal(virtio_pci_guest_status(&fixture->guest), 0);
    unsigned after_reset = atomic_load(&slow_completions);
    assert_true(after_reset < COUNT * 2);
    /* Nothing completes into the old rings any more. */
    uint8_t snapshot[COUNT];
    for (unsigned i = 0; i < COUNT; i++)
        snapshot[i] = *in[i].status;
    usleep(50000);
    for (unsigned i = 0; i < COUNT; i++)
        assert_int_equal(*in[i].status, snapshot[i]);

    /* The driver initialises the device again and uses it. */
    disk_engine_result_hook = NULL;
    assert_true(blk_fixture_start(fixture, layout, 1, 64, 1ull << VIRTIO_RING_F_EVENT_IDX) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    struct blk_io again;
    blk_io_alloc(fixture, &again, 512);
    assert_int_equal(blk_do(fixture, 0, &again, VIRTIO_BLK_T_IN, 5, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(again.data[9], disk_pattern_byte(5 * 512 + 9));
    /* Only the new request came back on the new ring. */
    uint64_t token;
    uint32_t written;
    assert_int_equal(virtq_driver_get_used(&fixture->drivers[0], &token, &written), 0);
    blk_fixture_destroy(fixture);
}

static void test_reset_in_flight_split(void **state)
{
    (void)state;
    test_reset_with_requests_in_flight(VIRTQ_LAYOUT_SPLIT);
}

static void test_reset_in_flight_packed(void **state)
{
    (void)state;
    test_reset_with_requests_in_flight(VIRTQ_LAYOUT_PACKED);
}

struct driver_thread {
    struct blk_fixture *fixture;
    pthread_mutex_t *mmio_lock; /* the harness driver's MMIO helpers share the fixture's selects */
    unsigned queue;
    unsigned failures;
};

enum { ROUNDS = 100 };

static void *drive_queue(void *opaque)
{
    struct driver_thread *driver = opaque;
    struct blk_fixture *fixture = driver->fixture;
    struct blk_io io[ROUNDS];
    pthread_mutex_lock(driver->mmio_lock);
    for (unsigned i = 0; i < ROUNDS; i++)
        blk_io_alloc(fixture, &io[i], 512);
    pthread_mutex_unlock(driver->mmio_lock);
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t sector = (driver->queue * ROUNDS + i) % (IMAGE_SIZE / 512);
        pthread_mutex_lock(driver->mmio_lock);
        int result = blk_submit(fixture, driver->queue, &io[i], VIRTIO_BLK_T_IN, sector, i);
        pthread_mutex_unlock(driver->mmio_lock);
        uint64_t token;
        uint32_t written;
        if (result < 0 || blk_wait_used(fixture, driver->queue, &token, &written) != 1 || token != i ||
            written != 513 || *io[i].status != VIRTIO_BLK_S_OK || io[i].data[3] != disk_pattern_byte(sector * 512 + 3))
            driver->failures++;
    }
    return NULL;
}

static void run_queues(unsigned queues, unsigned io_threads, unsigned poll_us, enum virtq_layout layout)
{
    const struct blk_fixture_options options = {
        .image_size = IMAGE_SIZE, .queues = queues, .io_threads = io_threads, .poll_us = poll_us};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, num_queues), 2), queues);
    uint64_t features = 1ull << VIRTIO_BLK_F_MQ | 1ull << VIRTIO_RING_F_EVENT_IDX;
    assert_true(blk_fixture_start(fixture, layout, queues, 64, features) & VIRTIO_CONFIG_S_DRIVER_OK);
    pthread_mutex_t mmio_lock = PTHREAD_MUTEX_INITIALIZER;
    struct driver_thread drivers[BLK_FIXTURE_MAX_QUEUES];
    pthread_t threads[BLK_FIXTURE_MAX_QUEUES];
    for (unsigned q = 0; q < queues; q++) {
        drivers[q] = (struct driver_thread){fixture, &mmio_lock, q, 0};
        assert_int_equal(pthread_create(&threads[q], NULL, drive_queue, &drivers[q]), 0);
    }
    for (unsigned q = 0; q < queues; q++) {
        pthread_join(threads[q], NULL);
        assert_int_equal(drivers[q].failures, 0);
        /* Each queue completed through its own vector. */
        assert_true(blk_fixture_wait_deliveries(fixture, q + 1, 1) >= 1);
    }
    blk_fixture_destroy(fixture);
}

static void test_four_queues_two_threads(void **state)
{
    (void)state;
    run_queues(4, 2, 0, VIRTQ_LAYOUT_SPLIT);
    run_queues(4, 2, 0, VIRTQ_LAYOUT_PACKED);
}

static void test_two_queues_one_thread_each(void **state)
{
    (void)state;
    run_queues(2, 2, 0, VIRTQ_LAYOUT_PACKED);
}

struct kick_flood {
    int kick_fd;
    atomic_bool stop;
    unsigned kicks;
};

static void *flood_kicks(void *opaque)
{
    struct kick_flood *flood = opaque;
    for (unsigned i = 0; i < 1000000 && !atomic_load(&flood->stop); i++, flood->kicks++)
        if (eventfd_write(flood->kick_fd, 1) < 0)
            break;
    return NULL;
}

/* Another guest vCPU writing the doorbell in a loop (KVM turns each write into an eventfd count). */
static void test_flood_of_kicks(void **state)
{
    (void)state;
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_PACKED, 1, 64, 1ull << VIRTIO_RING_F_EVENT_IDX) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    struct kick_flood flood = {.kick_fd = virtio_pci_queue_kick_fd(&fixture->device.transport, 0)};
    atomic_init(&flood.stop, false);
    pthread_t flooder;
    assert_int_equal(pthread_create(&flooder, NULL, flood_kicks, &flood), 0);
    pthread_mutex_t mmio_lock = PTHREAD_MUTEX_INITIALIZER;
    struct driver_thread driver = {fixture, &mmio_lock, 0, 0};
    drive_queue(&driver);
    atomic_store(&flood.stop, true);
    pthread_join(flooder, NULL);
    assert_int_equal(driver.failures, 0);
    assert_true(flood.kicks > 0);
    blk_fixture_destroy(fixture);
}

static void test_polling(void **state)
{
    (void)state;
    run_queues(2, 1, 50, VIRTQ_LAYOUT_SPLIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_in_flight_split),
        cmocka_unit_test(test_reset_in_flight_packed),
        cmocka_unit_test(test_four_queues_two_threads),
        cmocka_unit_test(test_two_queues_one_thread_each),
        cmocka_unit_test(test_polling),
        cmocka_unit_test(test_flood_of_kicks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
