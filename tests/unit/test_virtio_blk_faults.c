/* KESTREL_TSAN_TEST (the device's I/O thread runs beside the driver's).
 * virtio-blk with host faults injected at the backend boundary (the disk
 * engine's result seam, which replaces what io_uring returned): EIO and
 * ENOSPC answer IOERR, a short transfer is resubmitted and completes fully,
 * EOPNOTSUPP answers UNSUPP and is remembered. The device keeps serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (256ul << 10)

enum fault {
    FAULT_NONE,
    FAULT_EIO,
    FAULT_ENOSPC,
    FAULT_SHORT,
    FAULT_NOT_SUPPORTED,
};

/* Set by the test thread, read by the I/O thread at each completion. */
static atomic_int fault = FAULT_NONE;
static atomic_uint write_zeroes_seen;
static atomic_uint short_transfers;

static int inject(void *context, enum disk_request_type type, uint64_t offset, uint64_t length, int result)
{
    (void)context, (void)offset;
    if (type == DISK_REQUEST_WRITE_ZEROES)
        atomic_fetch_add(&write_zeroes_seen, 1);
    switch ((enum fault)atomic_load(&fault)) {
    case FAULT_EIO:
        return -EIO;
    case FAULT_ENOSPC:
        return type == DISK_REQUEST_WRITE ? -ENOSPC : result;
    case FAULT_SHORT:
        /* Half of whatever is asked, each time: the device must continue from where it stopped. */
        if ((type == DISK_REQUEST_READ || type == DISK_REQUEST_WRITE) && result > 1 && (uint64_t)result == length) {
            atomic_fetch_add(&short_transfers, 1);
            return result / 2;
        }
        return result;
    case FAULT_NOT_SUPPORTED:
        return type == DISK_REQUEST_WRITE_ZEROES ? -EOPNOTSUPP : result;
    case FAULT_NONE:
        break;
    }
    return result;
}

static int setup(void **state)
{
    atomic_store(&fault, FAULT_NONE);
    atomic_store(&write_zeroes_seen, 0);
    atomic_store(&short_transfers, 0);
    /* Installed before the I/O thread starts, and never changed while it runs. */
    disk_engine_result_hook = inject;
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 64, 1ull << VIRTIO_RING_F_EVENT_IDX) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    blk_fixture_destroy(*state);
    disk_engine_result_hook = NULL;
    return 0;
}

static void test_eio_is_ioerr_and_the_device_carries_on(void **state)
{
    struct blk_fixture *fixture = *state;
    struct blk_io in;
    blk_io_alloc(fixture, &in, 4096);
    atomic_store(&fault, FAULT_EIO);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_IOERR);
    struct blk_io flush;
    blk_io_alloc(fixture, &flush, 0);
    assert_int_equal(blk_do(fixture, 0, &flush, VIRTIO_BLK_T_FLUSH, 0, NULL), VIRTIO_BLK_S_IOERR);
    atomic_store(&fault, FAULT_NONE);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(in.data[100], disk_pattern_byte(100));
}

static void test_enospc_is_ioerr(void **state)
{
    struct blk_fixture *fixture = *state;
    struct blk_io out;
    blk_io_alloc(fixture, &out, 4096);
    memset(out.data, 0x31, 4096);
    atomic_store(&fault, FAULT_ENOSPC);
    assert_int_equal(blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, 8, NULL), VIRTIO_BLK_S_IOERR);
    atomic_store(&fault, FAULT_NONE);
    assert_int_equal(blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, 8, NULL), VIRTIO_BLK_S_OK);
}

static void test_short_transfers_complete_fully(void **state)
{
    struct blk_fixture *fixture = *state;
    struct blk_io out, in;
    blk_io_alloc(fixture, &out, 16384);
    blk_io_alloc(fixture, &in, 16384);
    for (unsigned i = 0; i < 16384; i++)
        out.data[i] = (uint8_t)(i ^ (i >> 8));
    atomic_store(&fault, FAULT_SHORT);
    uint32_t written = 0;
    assert_int_equal(blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, 16, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 16, &written), VIRTIO_BLK_S_OK);
    atomic_store(&fault, FAULT_NONE);
    assert_true(atomic_load(&short_transfers) >= 2);
    assert_int_equal(written, 16384 + 1);
    assert_memory_equal(in.data, out.data, 16384);
    uint8_t file[16384];
    assert_int_equal(pread(fixture->image.fd, file, sizeof(file), 16 * 512), sizeof(file));
    assert_memory_equal(file, out.data, sizeof(file));
}

static uint8_t write_zeroes(struct blk_fixture *fixture)
{
    struct blk_io request;
    blk_io_alloc(fixture, &request, 16);
    *(struct virtio_blk_discard_write_zeroes *)request.data =
        (struct virtio_blk_discard_write_zeroes){.sector = 0, .num_sectors = 8};
    return blk_do(fixture, 0, &request, VIRTIO_BLK_T_WRITE_ZEROES, 0, NULL);
}

static void test_not_supported_is_remembered(void **state)
{
    struct blk_fixture *fixture = *state;
    atomic_store(&fault, FAULT_NOT_SUPPORTED);
    assert_int_equal(write_zeroes(fixture), VIRTIO_BLK_S_UNSUPP);
    unsigned seen = atomic_load(&write_zeroes_seen);
    assert_int_equal(seen, 1);
    /* Remembered: the next one is answered without reaching the host, even with the fault gone. */
    atomic_store(&fault, FAULT_NONE);
    assert_int_equal(write_zeroes(fixture), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(atomic_load(&write_zeroes_seen), seen);
    /* Other requests are unaffected. */
    struct blk_io in;
    blk_io_alloc(fixture, &in, 512);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eio_is_ioerr_and_the_device_carries_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_is_ioerr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_transfers_complete_fully, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_supported_is_remembered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
