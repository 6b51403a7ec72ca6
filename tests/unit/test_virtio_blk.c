/* KESTREL_TSAN_TEST (the device's I/O thread runs beside the driver's).
 * virtio-blk driven as a guest drives it (PCI config space, the transport's
 * registers, the harness driver's rings) over a real scratch file and real
 * io_uring I/O threads: identity and configuration, then every request type
 * on both ring layouts. Malformed requests are in test_virtio_blk_hostile.c,
 * host faults in test_virtio_blk_faults.c, reset and multi-queue in
 * test_virtio_blk_threads.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (1ul << 20)
#define RING_FEATURES ((1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))

struct test_state {
    struct blk_fixture *fixture;
    enum virtq_layout layout;
};

static int start_on(void **state, enum virtq_layout layout, bool sparse)
{
    struct test_state *test = calloc(1, sizeof(*test));
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE, .sparse = sparse, .serial = "kestrel-disk-0"};
    test->fixture = blk_fixture_create(&options);
    test->layout = layout;
    uint8_t status = blk_fixture_start(test->fixture, layout, 1, 64, RING_FEATURES);
    if (!(status & VIRTIO_CONFIG_S_DRIVER_OK))
        return -1;
    *state = test;
    return 0;
}

static int setup_split(void **state) { return start_on(state, VIRTQ_LAYOUT_SPLIT, false); }
static int setup_packed(void **state) { return start_on(state, VIRTQ_LAYOUT_PACKED, false); }
static int setup_split_sparse(void **state) { return start_on(state, VIRTQ_LAYOUT_SPLIT, true); }
static int setup_packed_sparse(void **state) { return start_on(state, VIRTQ_LAYOUT_PACKED, true); }

static int teardown(void **state)
{
    struct test_state *test = *state;
    blk_fixture_destroy(test->fixture);
    free(test);
    return 0;
}

static void test_identity_and_config(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    assert_int_equal(virtio_pci_guest_ecam_read(&fixture->guest, PCI_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(virtio_pci_guest_ecam_read(&fixture->guest, PCI_DEVICE_ID, 2), 0x1042);
    assert_int_equal(virtio_pci_guest_ecam_read(&fixture->guest, 0x08, 4) >> 8, 0x018000);
    uint64_t offered = blk_offered_features(fixture);
    const unsigned wanted[] = {VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY,
                               VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_F_VERSION_1,
                               VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_F_RING_PACKED};
    for (unsigned i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
        assert_true(offered & (1ull << wanted[i]));
    /* Writeback image: no size_max needed; writable: not RO; no writeback toggle. */
    assert_false(offered & (1ull << VIRTIO_BLK_F_RO));
    assert_false(offered & (1ull << VIRTIO_BLK_F_SIZE_MAX));
    assert_false(offered & (1ull << VIRTIO_BLK_F_CONFIG_WCE));
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, capacity), 8), IMAGE_SIZE / 512);
    /* Queue size 64: Linux's indirect table of seg_max + 2 must fit. */
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, seg_max), 4), 62);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, blk_size), 4), 512);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, num_queues), 2), 1);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, max_discard_seg), 4), 1);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, max_write_zeroes_seg), 4), 1);
    assert_int_equal(blk_config_read(fixture, offsetof(struct virtio_blk_config, write_zeroes_may_unmap), 1), 1);
    /* Config writes are ignored. */
    virtio_pci_guest_bar_write(&fixture->guest, VIRTIO_PCI_DEVICE_OFFSET, 0x1234, 8);
    assert_int_equal(blk_config_read(fixture, 0, 8), IMAGE_SIZE / 512);
}

static void test_write_then_read(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct blk_io out, in;
    blk_io_alloc(fixture, &out, 8192);
    blk_io_alloc(fixture, &in, 8192);
    for (unsigned i = 0; i < 8192; i++)
        out.data[i] = (uint8_t)(i * 7 + 3);
    uint32_t written = 0;
    assert_int_equal(blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, 24, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 1);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 24, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 8192 + 1);
    assert_memory_equal(in.data, out.data, 8192);
    /* And on the file, at sector 24. */
    uint8_t file[8192];
    assert_int_equal(pread(fixture->image.fd, file, sizeof(file), 24 * 512), sizeof(file));
    assert_memory_equal(file, out.data, 8192);
    /* The bytes around it kept the image's pattern. */
    uint8_t before;
    assert_int_equal(pread(fixture->image.fd, &before, 1, 24 * 512 - 1), 1);
    assert_int_equal(before, disk_pattern_byte(24 * 512 - 1));
}

static void test_read_pattern_and_last_sector(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct blk_io in;
    blk_io_alloc(fixture, &in, 512);
    uint64_t last = IMAGE_SIZE / 512 - 1;
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, last, NULL), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(in.data[i], disk_pattern_byte(last * 512 + i));
}

static void test_flush(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct blk_io flush;
    blk_io_alloc(fixture, &flush, 0);
    uint32_t written = 0;
    assert_int_equal(blk_do(fixture, 0, &flush, VIRTIO_BLK_T_FLUSH, 0, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 1);
}

static void test_get_id(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct blk_io id;
    blk_io_alloc(fixture, &id, 20);
    memset(id.data, 0xaa, 20);
    uint32_t written = 0;
    assert_int_equal(blk_do(fixture, 0, &id, VIRTIO_BLK_T_GET_ID, 0, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 21);
    uint8_t expected[20] = "kestrel-disk-0";
    assert_memory_equal(id.data, expected, 20);
    /* A shorter buffer gets the first bytes only, and nothing past it is written. */
    struct blk_io short_id;
    blk_io_alloc(fixture, &short_id, 4096);
    memset(short_id.data, 0xaa, 4096);
    short_id.data_length = 8;
    assert_int_equal(blk_do(fixture, 0, &short_id, VIRTIO_BLK_T_GET_ID, 0, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 9);
    assert_memory_equal(short_id.data, "kestrel-", 8);
    assert_int_equal(short_id.data[8], 0xaa);
}

static void test_long_serial_is_truncated(void **state)
{
    (void)state;
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE, .serial = "0123456789abcdefghijKLMNOP"};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    struct blk_io id;
    blk_io_alloc(fixture, &id, 64);
    memset(id.data, 0xaa, 64);
    id.data_length = 32;
    uint32_t written = 0;
    assert_int_equal(blk_do(fixture, 0, &id, VIRTIO_BLK_T_GET_ID, 0, &written), VIRTIO_BLK_S_OK);
    /* 20 bytes at most (VIRTIO_BLK_ID_BYTES), without a terminating zero, and nothing after them. */
    assert_int_equal(written, 21);
    assert_memory_equal(id.data, "0123456789abcdefghij", 20);
    assert_int_equal(id.data[20], 0xaa);
    blk_fixture_destroy(fixture);
}

static void test_discard_frees_blocks(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct stat before, after;
    assert_int_equal(fstat(fixture->image.fd, &before), 0);
    struct blk_io discard;
    blk_io_alloc(fixture, &discard, 16);
    struct virtio_blk_discard_write_zeroes *range = (void *)discard.data;
    *range = (struct virtio_blk_discard_write_zeroes){.sector = 0, .num_sectors = 1024, .flags = 0};
    assert_int_equal(blk_do(fixture, 0, &discard, VIRTIO_BLK_T_DISCARD, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(fstat(fixture->image.fd, &after), 0);
    if (fixture->image.punch_hole_unsupported)
        skip();
    assert_true(after.st_blocks < before.st_blocks);
    /* Discarded sectors of a file read as zero. */
    struct blk_io in;
    blk_io_alloc(fixture, &in, 4096);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 8, NULL), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(in.data[i], 0);
}

static uint8_t write_zeroes(struct blk_fixture *fixture, uint64_t sector, uint32_t sectors, uint32_t flags)
{
    struct blk_io request;
    blk_io_alloc(fixture, &request, 16);
    struct virtio_blk_discard_write_zeroes *range = (void *)request.data;
    *range = (struct virtio_blk_discard_write_zeroes){.sector = sector, .num_sectors = sectors, .flags = flags};
    return blk_do(fixture, 0, &request, VIRTIO_BLK_T_WRITE_ZEROES, 0, NULL);
}

static void assert_zeroes(struct blk_fixture *fixture, uint64_t offset, size_t length)
{
    uint8_t buffer[4096];
    assert_true(length <= sizeof(buffer));
    assert_int_equal(pread(fixture->image.fd, buffer, length, (off_t)offset), (ssize_t)length);
    for (size_t i = 0; i < length; i++)
        assert_int_equal(buffer[i], 0);
}

static void test_write_zeroes_keeps_blocks(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct stat before, after;
    assert_int_equal(fstat(fixture->image.fd, &before), 0);
    uint8_t status = write_zeroes(fixture, 64, 64, 0);
    if (status == VIRTIO_BLK_S_UNSUPP && fixture->image.zero_range_unsupported)
        skip();
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    assert_zeroes(fixture, 64 * 512, 4096);
    assert_int_equal(fstat(fixture->image.fd, &after), 0);
    /* Without UNMAP the blocks stay allocated. */
    assert_true(after.st_blocks >= before.st_blocks);
}

static void test_write_zeroes_unmap_frees_blocks(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct stat before, after;
    assert_int_equal(fstat(fixture->image.fd, &before), 0);
    assert_int_equal(write_zeroes(fixture, 128, 256, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_OK);
    assert_zeroes(fixture, 128 * 512, 4096);
    assert_int_equal(fstat(fixture->image.fd, &after), 0);
    if (fixture->image.punch_hole_unsupported)
        skip();
    assert_true(after.st_blocks < before.st_blocks);
}

static void test_sparse_image_reads_zero(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    struct blk_io in;
    blk_io_alloc(fixture, &in, 4096);
    memset(in.data, 0x55, 4096);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 100, NULL), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(in.data[i], 0);
}

static void test_many_requests_one_kick(void **state)
{
    struct blk_fixture *fixture = ((struct test_state *)*state)->fixture;
    enum { COUNT = 16 };
    struct blk_io in[COUNT];
    struct virtq_driver *driver = &fixture->drivers[0];
    /* Added and published together, one notify for all. */
    for (unsigned i = 0; i < COUNT; i++) {
        blk_io_alloc(fixture, &in[i], 512);
        in[i].header->type = VIRTIO_BLK_T_IN;
        in[i].header->sector = i * 3;
        struct virtq_driver_buffer readable = {in[i].header_gpa, 16};
        struct virtq_driver_buffer writable[2] = {{in[i].data_gpa, 512}, {in[i].status_gpa, 1}};
        struct virtq_driver_request request = {&readable, 1, writable, 2, false};
        assert_int_equal(virtq_driver_add(driver, &request, i), 0);
    }
    blk_notify(fixture, 0);
    unsigned seen = 0;
    for (unsigned i = 0; i < COUNT; i++) {
        uint64_t token;
        uint32_t written;
        assert_int_equal(blk_wait_used(fixture, 0, &token, &written), 1);
        if (token < COUNT)
            seen |= 1u << token;
    }
    assert_int_equal(seen, (1u << COUNT) - 1);
    for (unsigned i = 0; i < COUNT; i++) {
        assert_int_equal(*in[i].status, VIRTIO_BLK_S_OK);
        assert_int_equal(in[i].data[5], disk_pattern_byte(i * 3 * 512 + 5));
    }
    /*
     * The I/O thread publishes a batch, then raises its interrupt and adds to --stats' counters: the used ring
     * can be seen before either, so wait (bounded) for them.
     */
    /* At least one interrupt came on the queue's vector, and far fewer than one per request are possible. */
    assert_true(blk_fixture_wait_deliveries(fixture, 1, 1) >= 1);
    for (unsigned wait = 0; wait < 2000 && atomic_load(&fixture->device.requests_completed) < COUNT; wait++)
        usleep(1000);
    assert_int_equal(atomic_load(&fixture->device.requests_completed), COUNT);
    uint64_t interrupts = __atomic_load_n(&fixture->device.transport.queue_interrupts, __ATOMIC_RELAXED);
    assert_true(interrupts >= 1 && interrupts <= COUNT);
}

#define BOTH(test) \
    cmocka_unit_test_setup_teardown(test, setup_split, teardown), \
    cmocka_unit_test_setup_teardown(test, setup_packed, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_identity_and_config),
        BOTH(test_write_then_read),
        BOTH(test_read_pattern_and_last_sector),
        BOTH(test_flush),
        BOTH(test_get_id),
        BOTH(test_discard_frees_blocks),
        BOTH(test_write_zeroes_keeps_blocks),
        BOTH(test_write_zeroes_unmap_frees_blocks),
        BOTH(test_many_requests_one_kick),
        cmocka_unit_test(test_long_serial_is_truncated),
        cmocka_unit_test_setup_teardown(test_sparse_image_reads_zero, setup_split_sparse, teardown),
        cmocka_unit_test_setup_teardown(test_sparse_image_reads_zero, setup_packed_sparse, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
