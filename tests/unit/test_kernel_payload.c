/* The bzImage payload: finding it, recognising its compression, decompressing it with bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/kernel_payload.h"
#include "unit/boot_fixture.h"
#include "unit/compressed_kernel.h"

#define MAX_OUTPUT (16ull << 20)

static const enum kernel_compression formats[] = {
    KERNEL_COMPRESSION_XZ,   KERNEL_COMPRESSION_LZMA, KERNEL_COMPRESSION_ZSTD,
    KERNEL_COMPRESSION_GZIP, KERNEL_COMPRESSION_LZ4,
};
#define FORMAT_COUNT (sizeof(formats) / sizeof(formats[0]))

static uint8_t *expected_elf(size_t *size)
{
    return test_elf_create(size, 8);
}

/* Decompresses `image`; returns -1 with `error` set, or 0 with `output` compared against the test ELF. */
static int unpack(const uint8_t *image, size_t size, uint64_t max_output, struct error *error)
{
    struct kernel_payload payload;
    struct kernel_decompressed output;
    memset(error, 0, sizeof(*error));
    if (kernel_payload_locate(image, size, &payload, error) < 0 ||
        kernel_payload_decompress(&payload, max_output, &output, error) < 0)
        return -1;
    size_t elf_size;
    uint8_t *elf = expected_elf(&elf_size);
    assert_int_equal(output.size, elf_size);
    assert_memory_equal(output.data, elf, elf_size);
    free(elf);
    kernel_decompressed_release(&output);
    return 0;
}

static void test_every_format_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        size_t size;
        uint8_t *image = compressed_kernel_pvh_bzimage(formats[i], true, &size);
        assert_non_null(image);
        struct kernel_payload payload;
        struct error error;
        assert_int_equal(kernel_payload_locate(image, size, &payload, &error), 0);
        assert_int_equal(payload.compression, formats[i]);
        assert_int_equal(payload.size_hint, TEST_ELF_SIZE);
        if (unpack(image, size, MAX_OUTPUT, &error) < 0)
            fail_msg("%s: %s", kernel_compression_name(formats[i]), error.message);
        free(image);
    }
}

/* The size trailer is a hint: too small, too large or absurd, the output is still right. */
static void test_lying_size_hint(void **state)
{
    (void)state;
    const uint32_t hints[] = {0, 1, TEST_ELF_SIZE - 1, 0x7fffffff, 0xffffffff};
    size_t elf_size;
    uint8_t *elf = expected_elf(&elf_size);
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        for (size_t j = 0; j < sizeof(hints) / sizeof(hints[0]); j++) {
            size_t size;
            uint8_t *image = compressed_kernel_bzimage(formats[i], elf, elf_size, hints[j], &size);
            struct error error;
            if (unpack(image, size, MAX_OUTPUT, &error) < 0)
                fail_msg("%s with hint %u: %s", kernel_compression_name(formats[i]), hints[j], error.message);
            free(image);
        }
    }
    free(elf);
}

/* An output larger than the cap fails rather than growing without bound. */
static void test_output_cap(void **state)
{
    (void)state;
    size_t big_size = 3u << 20;
    uint8_t *big = calloc(1, big_size); /* zeros: tiny when compressed, a "bomb" */
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        size_t size;
        uint8_t *image = compressed_kernel_bzimage(formats[i], big, big_size, 4096, &size);
        struct kernel_payload payload;
        struct kernel_decompressed output;
        struct error error;
        assert_int_equal(kernel_payload_locate(image, size, &payload, &error), 0);
        assert_int_equal(kernel_payload_decompress(&payload, 1u << 20, &output, &error), -1);
        assert_null(output.data);
        if (!strstr(error.message, "more than 1 MiB") && !strstr(error.message, "corrupt"))
            fail_msg("%s: %s", kernel_compression_name(formats[i]), error.message);
        /* With room, the same payload decompresses in full, past its lying 4 KiB hint. */
        assert_int_equal(kernel_payload_decompress(&payload, MAX_OUTPUT, &output, &error), 0);
        assert_int_equal(output.size, big_size);
        kernel_decompressed_release(&output);
        free(image);
    }
    free(big);
}

/* Cut the stream short (keeping a trailer so the payload still looks whole): every format notices. */
static void test_truncated_streams(void **state)
{
    (void)state;
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        size_t size;
        uint8_t *image = compressed_kernel_pvh_bzimage(formats[i], true, &size);
        struct setup_header *header = test_bzimage_header(image);
        uint32_t full = header->payload_length;
        for (uint32_t keep = 8; keep < full; keep += full / 7 + 1) {
            header->payload_length = keep;
            struct error error;
            if (unpack(image, size, MAX_OUTPUT, &error) == 0)
                fail_msg("%s cut to %u of %u bytes decompressed", kernel_compression_name(formats[i]), keep, full);
            assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        }
        free(image);
    }
}

static void test_corrupt_streams(void **state)
{
    (void)state;
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        size_t size;
        uint8_t *image = compressed_kernel_pvh_bzimage(formats[i], true, &size);
        const struct setup_header *header = test_bzimage_header(image);
        uint8_t *payload = image + TEST_BZIMAGE_SETUP_SIZE + header->payload_offset;
        /* Past the magic: the format is still recognised, the data is wrong. */
        for (uint32_t at = 8; at + 4 < header->payload_length; at += 3)
            payload[at] ^= 0xa5;
        struct error error;
        if (unpack(image, size, MAX_OUTPUT, &error) == 0)
            fail_msg("corrupt %s decompressed", kernel_compression_name(formats[i]));
        free(image);
    }
}

static void test_unknown_and_unsupported_compression(void **state)
{
    (void)state;
    size_t size;
    uint8_t *image = compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_XZ, true, &size);
    const struct setup_header *header = test_bzimage_header(image);
    uint8_t *payload = image + TEST_BZIMAGE_SETUP_SIZE + header->payload_offset;
    struct error error;
    memcpy(payload, "\x11\x22\x33\x44", 4);
    assert_int_equal(unpack(image, size, MAX_OUTPUT, &error), -1);
    assert_usage_error(&error, "unknown compression (magic 11 22 33 44)");
    memcpy(payload, "BZh9", 4);
    assert_int_equal(unpack(image, size, MAX_OUTPUT, &error), -1);
    assert_usage_error(&error, "bzip2-compressed, which kestrel cannot decompress");
    free(image);
}

static void test_payload_outside_the_code(void **state)
{
    (void)state;
    size_t size;
    uint8_t *image = compressed_kernel_pvh_bzimage(KERNEL_COMPRESSION_GZIP, true, &size);
    struct setup_header *header = test_bzimage_header(image);
    struct kernel_payload payload;
    struct error error;
    uint32_t length = header->payload_length;
    header->payload_length = 0xfffffff0u;
    assert_int_equal(kernel_payload_locate(image, size, &payload, &error), -1);
    assert_usage_error(&error, "lies outside the");
    header->payload_length = length;
    header->payload_offset = 0xfffffff0u;
    assert_int_equal(kernel_payload_locate(image, size, &payload, &error), -1);
    assert_usage_error(&error, "lies outside the");
    header->payload_offset = 0;
    header->payload_length = 4;
    assert_int_equal(kernel_payload_locate(image, size, &payload, &error), -1);
    assert_usage_error(&error, "too short");
    free(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_format_round_trips),
        cmocka_unit_test(test_lying_size_hint),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_truncated_streams),
        cmocka_unit_test(test_corrupt_streams),
        cmocka_unit_test(test_unknown_and_unsupported_compression),
        cmocka_unit_test(test_payload_outside_the_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
