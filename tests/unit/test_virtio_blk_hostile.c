/* KESTREL_TSAN_TEST (the device's I/O thread runs beside the driver's).
 * virtio-blk against a hostile driver: headers split anywhere or too short,
 * no status byte, data on the wrong side, lengths that are not whole sectors,
 * ranges past the end or overflowing, bad DISCARD/WRITE_ZEROES ranges and
 * flags, unknown types, a read-only disk, and a chain outside RAM. Each fails
 * the one request (IOERR, UNSUPP, or returned with nothing written) or breaks
 * the queue, the disk is not written, and the device carries on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_blk_fixture.h"

#define IMAGE_SIZE (256ul << 10)
#define CAPACITY (IMAGE_SIZE / 512)

static uint64_t next_token = 1;

static struct blk_fixture *start(enum virtq_layout layout, bool read_only)
{
    const struct blk_fixture_options options = {.image_size = IMAGE_SIZE, .read_only = read_only};
    struct blk_fixture *fixture = blk_fixture_create(&options);
    uint8_t status = blk_fixture_start(fixture, layout, 1, 64, 1ull << VIRTIO_RING_F_INDIRECT_DESC);
    assert_true(status & VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

static int setup_split(void **state)
{
    *state = start(VIRTQ_LAYOUT_SPLIT, false);
    return 0;
}

static int setup_packed(void **state)
{
    *state = start(VIRTQ_LAYOUT_PACKED, false);
    return 0;
}

static int setup_read_only(void **state)
{
    *state = start(VIRTQ_LAYOUT_SPLIT, true);
    return 0;
}

static int teardown(void **state)
{
    blk_fixture_destroy(*state);
    return 0;
}

static uint64_t alloc(struct blk_fixture *fixture, uint64_t size)
{
    uint64_t gpa = guest_allocator_alloc(&fixture->allocator, size, 16);
    assert_int_not_equal(gpa, GUEST_ALLOCATION_FAILED);
    return gpa;
}

/* Adds a chain as given, notifies, waits; returns the used length (UINT32_MAX when nothing came back). */
static uint32_t run_chain(struct blk_fixture *fixture, const struct virtq_driver_buffer *readable,
                          unsigned readable_count, const struct virtq_driver_buffer *writable, unsigned writable_count)
{
    const struct virtq_driver_request request = {readable, readable_count, writable, writable_count, false};
    uint64_t token = next_token++;
    assert_int_equal(virtq_driver_add(&fixture->drivers[0], &request, token), 0);
    blk_notify(fixture, 0);
    uint64_t got;
    uint32_t written;
    if (blk_wait_used(fixture, 0, &got, &written) != 1 || got != token)
        return UINT32_MAX;
    return written;
}

static void write_header(struct blk_fixture *fixture, uint64_t gpa, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr header = {.type = type, .sector = sector};
    memcpy(blk_host(fixture, gpa, sizeof(header)), &header, sizeof(header));
}

/* A well-formed read still works afterwards: the device carried on. */
static void assert_device_alive(struct blk_fixture *fixture)
{
    struct blk_io in;
    blk_io_alloc(fixture, &in, 512);
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 1, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(in.data[0], disk_pattern_byte(512));
}

static void test_header_split_into_pieces(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), data = alloc(fixture, 512), status = alloc(fixture, 1);
    write_header(fixture, header, VIRTIO_BLK_T_IN, 3);
    struct virtq_driver_buffer readable[8];
    for (unsigned i = 0; i < 8; i++)
        readable[i] = (struct virtq_driver_buffer){header + 2 * i, 2};
    const struct virtq_driver_buffer writable[2] = {{data, 512}, {status, 1}};
    assert_int_equal(run_chain(fixture, readable, 8, writable, 2), 513);
    assert_int_equal(*(uint8_t *)blk_host(fixture, status, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(*(uint8_t *)blk_host(fixture, data + 7, 1), disk_pattern_byte(3 * 512 + 7));
}

static void test_status_shares_the_data_segment(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), data = alloc(fixture, 513);
    write_header(fixture, header, VIRTIO_BLK_T_IN, 2);
    const struct virtq_driver_buffer readable = {header, 16}, writable = {data, 513};
    assert_int_equal(run_chain(fixture, &readable, 1, &writable, 1), 513);
    uint8_t *host = blk_host(fixture, data, 513);
    assert_int_equal(host[511], disk_pattern_byte(2 * 512 + 511));
    assert_int_equal(host[512], VIRTIO_BLK_S_OK);
}

static void test_short_header_is_ioerr(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), status = alloc(fixture, 1);
    write_header(fixture, header, VIRTIO_BLK_T_FLUSH, 0);
    const struct virtq_driver_buffer readable = {header, 8}, writable = {status, 1};
    assert_int_equal(run_chain(fixture, &readable, 1, &writable, 1), 1);
    assert_int_equal(*(uint8_t *)blk_host(fixture, status, 1), VIRTIO_BLK_S_IOERR);
    assert_device_alive(fixture);
}

static void test_no_status_byte_returns_nothing_written(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), data = alloc(fixture, 512);
    write_header(fixture, header, VIRTIO_BLK_T_OUT, 0);
    memset(blk_host(fixture, data, 512), 0x77, 512);
    const struct virtq_driver_buffer readable[2] = {{header, 16}, {data, 512}};
    assert_int_equal(run_chain(fixture, readable, 2, NULL, 0), 0);
    /* Not written to the disk. */
    uint8_t byte;
    assert_int_equal(pread(fixture->image.fd, &byte, 1, 0), 1);
    assert_int_equal(byte, disk_pattern_byte(0));
    assert_device_alive(fixture);
}

static void test_data_on_the_wrong_side_is_ioerr(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), data = alloc(fixture, 512), status = alloc(fixture, 1);
    /* IN whose data buffer is device-readable. */
    write_header(fixture, header, VIRTIO_BLK_T_IN, 0);
    const struct virtq_driver_buffer in_readable[2] = {{header, 16}, {data, 512}}, in_writable = {status, 1};
    assert_int_equal(run_chain(fixture, in_readable, 2, &in_writable, 1), 1);
    assert_int_equal(*(uint8_t *)blk_host(fixture, status, 1), VIRTIO_BLK_S_IOERR);
    /* OUT whose data buffer is device-writable: the disk is not written. */
    write_header(fixture, header, VIRTIO_BLK_T_OUT, 0);
    memset(blk_host(fixture, data, 512), 0x66, 512);
    const struct virtq_driver_buffer out_readable = {header, 16}, out_writable[2] = {{data, 512}, {status, 1}};
    assert_int_equal(run_chain(fixture, &out_readable, 1, out_writable, 2), 1);
    assert_int_equal(*(uint8_t *)blk_host(fixture, status, 1), VIRTIO_BLK_S_IOERR);
    uint8_t byte;
    assert_int_equal(pread(fixture->image.fd, &byte, 1, 0), 1);
    assert_int_equal(byte, disk_pattern_byte(0));
    assert_device_alive(fixture);
}

static void test_partial_sector_is_ioerr(void **state)
{
    struct blk_fixture *fixture = *state;
    struct blk_io in;
    blk_io_alloc(fixture, &in, 1024);
    in.data_length = 700;
    assert_int_equal(blk_do(fixture, 0, &in, VIRTIO_BLK_T_IN, 0, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_unknown_types_are_unsupported(void **state)
{
    struct blk_fixture *fixture = *state;
    const uint32_t types[] = {2, 3, 10, 14, 99, 0x80000000u};
    for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct blk_io request;
        blk_io_alloc(fixture, &request, 0);
        uint32_t written = 0;
        assert_int_equal(blk_do(fixture, 0, &request, types[i], 0, &written), VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(written, 1);
    }
    assert_device_alive(fixture);
}

static void test_ranges_past_the_end(void **state)
{
    struct blk_fixture *fixture = *state;
    const struct {
        uint32_t type;
        uint64_t sector;
        uint32_t length;
    } cases[] = {
        {VIRTIO_BLK_T_IN, CAPACITY, 512},
        {VIRTIO_BLK_T_IN, CAPACITY - 1, 1024},
        {VIRTIO_BLK_T_OUT, CAPACITY - 1, 1024},
        {VIRTIO_BLK_T_IN, UINT64_MAX, 512},
        {VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512}, /* sector * 512 wraps to 0 */
        {VIRTIO_BLK_T_IN, UINT64_MAX / 512, 512},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct blk_io io;
        blk_io_alloc(fixture, &io, cases[i].length);
        memset(io.data, 0x99, cases[i].length);
        assert_int_equal(blk_do(fixture, 0, &io, cases[i].type, cases[i].sector, NULL), VIRTIO_BLK_S_IOERR);
    }
    /* Nothing was written: the first and last sectors keep their pattern. */
    uint8_t first, last;
    assert_int_equal(pread(fixture->image.fd, &first, 1, 0), 1);
    assert_int_equal(pread(fixture->image.fd, &last, 1, IMAGE_SIZE - 1), 1);
    assert_int_equal(first, disk_pattern_byte(0));
    assert_int_equal(last, disk_pattern_byte(IMAGE_SIZE - 1));
    assert_device_alive(fixture);
}

static uint8_t range_request(struct blk_fixture *fixture, uint32_t type, uint64_t sector, uint32_t sectors,
                             uint32_t flags, unsigned ranges)
{
    struct blk_io request;
    blk_io_alloc(fixture, &request, 16 * ranges);
    struct virtio_blk_discard_write_zeroes *range = (void *)request.data;
    for (unsigned i = 0; i < ranges; i++)
        range[i] = (struct virtio_blk_discard_write_zeroes){.sector = sector, .num_sectors = sectors, .flags = flags};
    return blk_do(fixture, 0, &request, type, 0, NULL);
}

static void test_bad_discard_and_write_zeroes(void **state)
{
    struct blk_fixture *fixture = *state;
    /* UNMAP is a write-zeroes flag only; reserved flags are never allowed. */
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
                     VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0x2, 1), VIRTIO_BLK_S_UNSUPP);
    /* More ranges than max_*_seg (1). */
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 2), VIRTIO_BLK_S_IOERR);
    /* Past the end, and a sector + count that wraps. */
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_WRITE_ZEROES, CAPACITY - 4, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_DISCARD, UINT64_MAX - 2, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    /* More sectors than max_discard_sectors. */
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_DISCARD, 0, UINT32_MAX, 0, 1), VIRTIO_BLK_S_IOERR);
    /* A range struct cut short. */
    struct blk_io request;
    blk_io_alloc(fixture, &request, 12);
    assert_int_equal(blk_do(fixture, 0, &request, VIRTIO_BLK_T_DISCARD, 0, NULL), VIRTIO_BLK_S_IOERR);
    uint8_t byte;
    assert_int_equal(pread(fixture->image.fd, &byte, 1, IMAGE_SIZE - 1), 1);
    assert_int_equal(byte, disk_pattern_byte(IMAGE_SIZE - 1));
    assert_device_alive(fixture);
}

static void test_chain_outside_ram_breaks_the_queue(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t header = alloc(fixture, 16), status = alloc(fixture, 1);
    write_header(fixture, header, VIRTIO_BLK_T_IN, 0);
    /* A data buffer in the MMIO hole: the virtqueue core refuses the chain and the queue is broken. */
    const struct virtq_driver_buffer readable = {header, 16}, writable[2] = {{0xd0000000ull, 512}, {status, 1}};
    const struct virtq_driver_request request = {&readable, 1, writable, 2, false};
    assert_int_equal(virtq_driver_add(&fixture->drivers[0], &request, 1), 0);
    blk_notify(fixture, 0);
    for (unsigned waited = 0; waited < 10000 && !(virtio_pci_guest_status(&fixture->guest) & VIRTIO_CONFIG_S_NEEDS_RESET); waited++)
        usleep(1000);
    assert_true(virtio_pci_guest_status(&fixture->guest) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_int_equal(*(uint8_t *)blk_host(fixture, status, 1), 0);
    /* The config interrupt (vector 0) told the driver. */
    assert_true(blk_fixture_wait_deliveries(fixture, 0, 1) >= 1);
    /* A reset brings it back. */
    virtio_pci_guest_bar_write(&fixture->guest, COMMON_STATUS, 0, 1);
    assert_int_equal(virtio_pci_guest_status(&fixture->guest), 0);
    assert_true(blk_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 1, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK);
    assert_device_alive(fixture);
}

static void test_read_only(void **state)
{
    struct blk_fixture *fixture = *state;
    uint64_t offered = blk_offered_features(fixture);
    assert_true(offered & (1ull << VIRTIO_BLK_F_RO));
    assert_false(offered & (1ull << VIRTIO_BLK_F_DISCARD));
    assert_false(offered & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
    struct blk_io out;
    blk_io_alloc(fixture, &out, 512);
    memset(out.data, 0x42, 512);
    assert_int_equal(blk_do(fixture, 0, &out, VIRTIO_BLK_T_OUT, 0, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(range_request(fixture, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    uint8_t byte;
    assert_int_equal(pread(fixture->image.fd, &byte, 1, 0), 1);
    assert_int_equal(byte, disk_pattern_byte(0));
    struct blk_io flush;
    blk_io_alloc(fixture, &flush, 0);
    assert_int_equal(blk_do(fixture, 0, &flush, VIRTIO_BLK_T_FLUSH, 0, NULL), VIRTIO_BLK_S_OK);
    assert_device_alive(fixture);
}

#define BOTH(test) \
    cmocka_unit_test_setup_teardown(test, setup_split, teardown), \
    cmocka_unit_test_setup_teardown(test, setup_packed, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_header_split_into_pieces),
        BOTH(test_status_shares_the_data_segment),
        BOTH(test_short_header_is_ioerr),
        BOTH(test_no_status_byte_returns_nothing_written),
        BOTH(test_data_on_the_wrong_side_is_ioerr),
        BOTH(test_partial_sector_is_ioerr),
        BOTH(test_unknown_types_are_unsupported),
        BOTH(test_ranges_past_the_end),
        BOTH(test_bad_discard_and_write_zeroes),
        cmocka_unit_test_setup_teardown(test_chain_outside_ram_breaks_the_queue, setup_split, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup_read_only, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
