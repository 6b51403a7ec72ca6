/* Scatter-gather copies: offsets across segment boundaries, bounds, and request wrappers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mem/iovec.h"
#include "virtio/virtq_request.h"

/* Three segments of 3, 0 and 5 bytes over separate arrays, with canaries around each. */
struct split_buffer {
    uint8_t a[3 + 2];
    uint8_t b[1];
    uint8_t c[5 + 2];
    struct iovec segments[3];
};

static void split_buffer_init(struct split_buffer *buffer)
{
    memset(buffer, 0xee, sizeof(*buffer));
    memcpy(buffer->a + 1, "ABC", 3);
    memcpy(buffer->c + 1, "DEFGH", 5);
    buffer->segments[0] = (struct iovec){ buffer->a + 1, 3 };
    buffer->segments[1] = (struct iovec){ buffer->b, 0 };
    buffer->segments[2] = (struct iovec){ buffer->c + 1, 5 };
}

static void assert_canaries_intact(const struct split_buffer *buffer)
{
    assert_int_equal(buffer->a[0], 0xee);
    assert_int_equal(buffer->a[4], 0xee);
    assert_int_equal(buffer->b[0], 0xee);
    assert_int_equal(buffer->c[0], 0xee);
    assert_int_equal(buffer->c[6], 0xee);
}

static void test_total_length(void **state)
{
    (void)state;
    struct split_buffer buffer;
    split_buffer_init(&buffer);
    assert_int_equal(iovec_total_length(buffer.segments, 3), 8);
    assert_int_equal(iovec_total_length(buffer.segments, 0), 0);
    struct iovec huge[2] = { { NULL, SIZE_MAX }, { NULL, 2 } };
    assert_int_equal(iovec_total_length(huge, 2), UINT64_MAX);
}

static void test_copy_from_across_segments(void **state)
{
    (void)state;
    struct split_buffer buffer;
    split_buffer_init(&buffer);
    char out[16];

    memset(out, 0, sizeof(out));
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 0, out, 8), 8);
    assert_string_equal(out, "ABCDEFGH");

    memset(out, 0, sizeof(out));
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 2, out, 3), 3); /* spans the empty segment */
    assert_string_equal(out, "CDE");

    memset(out, 0, sizeof(out));
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 3, out, 2), 2); /* starts exactly at a boundary */
    assert_string_equal(out, "DE");
    assert_canaries_intact(&buffer);
}

static void test_copy_from_is_bounded(void **state)
{
    (void)state;
    struct split_buffer buffer;
    split_buffer_init(&buffer);
    char out[16];
    memset(out, 0, sizeof(out));
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 6, out, sizeof(out)), 2); /* short: segments end */
    assert_string_equal(out, "GH");
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 8, out, 1), 0);           /* offset at the end */
    assert_int_equal(iovec_copy_from(buffer.segments, 3, UINT64_MAX, out, 4), 0);  /* far past it */
    assert_int_equal(iovec_copy_from(buffer.segments, 3, 1, out, 0), 0);           /* nothing asked */
    assert_int_equal(iovec_copy_from(buffer.segments, 0, 0, out, 4), 0);           /* no segments */
    assert_canaries_intact(&buffer);
}

static void test_copy_to_across_segments_and_bounded(void **state)
{
    (void)state;
    struct split_buffer buffer;
    split_buffer_init(&buffer);
    assert_int_equal(iovec_copy_to(buffer.segments, 3, 1, "xyz", 3), 3);
    assert_memory_equal(buffer.a + 1, "Axy", 3);
    assert_int_equal(buffer.c[1], 'z');
    /* A write longer than what is left stops at the last segment's end. */
    assert_int_equal(iovec_copy_to(buffer.segments, 3, 5, "0123456789", 10), 3);
    assert_memory_equal(buffer.c + 1, "zE012", 5);
    assert_int_equal(iovec_copy_to(buffer.segments, 3, 8, "!", 1), 0);
    assert_int_equal(iovec_copy_to(buffer.segments, 3, UINT64_MAX - 1, "!", 1), 0);
    assert_canaries_intact(&buffer);
}

/* A 16-byte header split into 16 one-byte segments reads back whole. */
static void test_header_split_byte_by_byte(void **state)
{
    (void)state;
    uint8_t bytes[16];
    struct iovec segments[16];
    for (int i = 0; i < 16; i++) {
        bytes[i] = (uint8_t)(0xa0 + i);
        segments[i] = (struct iovec){ &bytes[i], 1 };
    }
    struct header {
        uint32_t type;
        uint32_t reserved;
        uint64_t sector;
    } header;
    assert_int_equal(iovec_copy_from(segments, 16, 0, &header, sizeof(header)), sizeof(header));
    assert_memory_equal(&header, bytes, sizeof(header));
    uint8_t tail[4];
    assert_int_equal(iovec_copy_from(segments, 16, 13, tail, sizeof(tail)), 3);
    assert_memory_equal(tail, bytes + 13, 3);
}

static void test_request_readable_and_writable_sides(void **state)
{
    (void)state;
    char header[4] = "HDR", payload[6] = "DATA!", status[8];
    memset(status, '.', sizeof(status));
    struct iovec segments[3] = {
        { header, 3 },
        { payload, 5 },
        { status, 8 },
    };
    struct virtq_request request = {
        .readable_count = 2, .writable_count = 1, .readable_bytes = 8, .writable_bytes = 8,
        .segments = segments, .segment_capacity = 3,
    };
    char out[9] = { 0 };
    assert_int_equal(virtq_request_read(&request, 0, out, 8), 8);
    assert_string_equal(out, "HDRDATA!");
    /* Reads never reach the writable segments. */
    assert_int_equal(virtq_request_read(&request, 6, out, 8), 2);
    /* Writes land in the writable segment only, offsets relative to it. */
    assert_int_equal(virtq_request_write(&request, 2, "ok", 2), 2);
    assert_memory_equal(status, "..ok....", 8);
    assert_int_equal(virtq_request_write(&request, 7, "xyz", 3), 1);
    assert_memory_equal(status, "..ok...x", 8);
    assert_string_equal(header, "HDR");
    assert_string_equal(payload, "DATA!");
    assert_ptr_equal(virtq_request_writable(&request), &segments[2]);
    assert_ptr_equal(virtq_request_readable(&request), &segments[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_length),
        cmocka_unit_test(test_copy_from_across_segments),
        cmocka_unit_test(test_copy_from_is_bounded),
        cmocka_unit_test(test_copy_to_across_segments_and_bounded),
        cmocka_unit_test(test_header_split_byte_by_byte),
        cmocka_unit_test(test_request_readable_and_writable_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
