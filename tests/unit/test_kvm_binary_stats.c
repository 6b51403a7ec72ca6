/*
 * KVM's binary statistics (kvm/kvm_binary_stats.h): the schema parser on
 * crafted files (well-formed, truncated, impossible, hostile names and
 * types), the reader on a memfd holding such a file, the fallback when the
 * ioctl is missing, and, where /dev/kvm has them, the host's real VM and
 * vCPU statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm_binary_stats.h"
#include "unit/kvm_stats_file.h"

static uint8_t file[KVM_STATS_FILE_MAX];
static struct kvm_binary_stats_schema schema;

static const struct kvm_stats_file_entry usual[] = {
    {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 1000},
    {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8, 600},
    {"halt_poll_fail_hist", KVM_STATS_TYPE_LOG_HIST, 32, 16, 0},
    {"guest_mode", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 1, 16 + 32 * 8, 1},
    {"max_mmu_page_hash_collisions", KVM_STATS_TYPE_PEAK, 1, 16 + 33 * 8, 7},
};

static int parse(size_t length)
{
    struct error error = {0};
    return kvm_binary_stats_parse(file, length, &schema, &error);
}

static void test_well_formed_file_keeps_the_scalars(void **state)
{
    (void)state;
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, usual, 5, &data_offset);
    assert_int_equal(parse(length), 0);
    assert_int_equal(schema.field_count, 4); /* the histogram is skipped */
    assert_string_equal(schema.fields[0].name, "exits");
    assert_int_equal(schema.fields[0].kind, KVM_BINARY_STATS_COUNTER);
    assert_string_equal(schema.fields[2].name, "guest_mode");
    assert_int_equal(schema.fields[2].kind, KVM_BINARY_STATS_GAUGE);
    assert_int_equal(schema.fields[2].unit, KVM_STATS_UNIT_BOOLEAN);
    assert_int_equal(schema.fields[3].kind, KVM_BINARY_STATS_GAUGE);
    assert_int_equal(schema.data_offset, data_offset);
    assert_int_equal(schema.data_size, 16 + 33 * 8 + 8);
    assert_int_equal(kvm_binary_stats_schema_length(file, 24), data_offset);
}

static void test_truncated_files_are_refused(void **state)
{
    (void)state;
    uint32_t data_offset;
    kvm_stats_file_build(file, usual, 5, &data_offset);
    for (size_t length = 0; length < data_offset; length += 7)
        assert_int_equal(parse(length), -1);
    assert_int_equal(parse(data_offset), 0);
}

static void test_impossible_headers_are_refused(void **state)
{
    (void)state;
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, usual, 5, &data_offset);
    struct kvm_stats_header header;
    memcpy(&header, file, sizeof(header));
    const struct kvm_stats_header bad[] = {
        {.name_size = 0, .num_desc = 1, .desc_offset = 24, .data_offset = data_offset},
        {.name_size = 48, .num_desc = 0xffffffff, .desc_offset = 24, .data_offset = data_offset},
        {.name_size = 0xffffffff, .num_desc = 2, .desc_offset = 24, .data_offset = data_offset},
        {.name_size = 48, .num_desc = 5, .desc_offset = 0xfffffff0, .data_offset = data_offset},
        {.name_size = 48, .num_desc = 5, .desc_offset = header.desc_offset, .data_offset = 0xffffff00},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(file, &bad[i], sizeof(bad[i]));
        assert_int_equal(parse(length), -1);
    }
    assert_int_equal(kvm_binary_stats_schema_length(file, 10), 0);
}

static void test_hostile_descriptors_are_skipped(void **state)
{
    (void)state;
    const struct kvm_stats_file_entry hostile[] = {
        {"Bad-Name", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 1},   /* not [a-z0-9_] */
        {"", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 1},           /* empty */
        {"misaligned", KVM_STATS_TYPE_CUMULATIVE, 1, 4, 1}, /* offset not a multiple of 8 */
        {"far", KVM_STATS_TYPE_CUMULATIVE, 1, 0x7ffffff8, 1},
        {"unknown_type", 0xf, 1, 0, 1},
        {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 5},
        {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8, 6}, /* a second "exits": the first wins */
        {"quote\"name", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 1},
    };
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, hostile, 8, &data_offset);
    assert_int_equal(parse(length), 0);
    assert_int_equal(schema.field_count, 1);
    assert_string_equal(schema.fields[0].name, "exits");
    assert_int_equal(schema.fields[0].offset, 0);
}

static void test_name_without_terminator_is_skipped(void **state)
{
    (void)state;
    char long_name[KVM_STATS_FILE_NAME_SIZE + 1];
    memset(long_name, 'a', KVM_STATS_FILE_NAME_SIZE);
    long_name[KVM_STATS_FILE_NAME_SIZE] = 0;
    const struct kvm_stats_file_entry entries[] = {{long_name, KVM_STATS_TYPE_CUMULATIVE, 1, 0, 1}};
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, entries, 1, &data_offset);
    assert_int_equal(parse(length), 0);
    assert_int_equal(schema.field_count, 0);
}

static int memfd_with(const uint8_t *bytes, size_t length)
{
    int fd = memfd_create("kvm-stats", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, length), (ssize_t)length);
    return fd;
}

static void test_reader_takes_snapshots_from_the_data_block(void **state)
{
    (void)state;
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, usual, 5, &data_offset);
    struct kvm_binary_stats stats;
    struct error error = {0};
    assert_int_equal(kvm_binary_stats_open_fd(&stats, memfd_with(file, length), &error), 0);
    uint64_t values[KVM_BINARY_STATS_MAX_FIELDS];
    uint8_t scratch[KVM_BINARY_STATS_MAX_DATA];
    assert_int_equal(kvm_binary_stats_read(&stats, values, scratch), 0);
    assert_int_equal(values[0], 1000);
    assert_int_equal(values[1], 600);
    assert_int_equal(values[2], 1);
    assert_int_equal(values[3], 7);
    /* The kernel rewrites the data block; the next snapshot sees it. */
    uint64_t later = 1234;
    assert_int_equal(pwrite(stats.fd, &later, 8, data_offset), 8);
    assert_int_equal(kvm_binary_stats_read(&stats, values, scratch), 0);
    assert_int_equal(values[0], 1234);
    /* A data block cut short fails the snapshot rather than reading garbage. */
    assert_int_equal(ftruncate(stats.fd, data_offset + 16), 0);
    assert_int_equal(kvm_binary_stats_read(&stats, values, scratch), -1);
    kvm_binary_stats_close(&stats);
    assert_int_equal(kvm_binary_stats_read(&stats, values, scratch), -1);
}

static void test_reader_refuses_a_malformed_file(void **state)
{
    (void)state;
    uint32_t data_offset;
    kvm_stats_file_build(file, usual, 5, &data_offset);
    struct kvm_binary_stats stats;
    struct error error = {0};
    /* The descriptors are cut off by the end of the file. */
    assert_int_equal(kvm_binary_stats_open_fd(&stats, memfd_with(file, data_offset - 30), &error), -1);
    assert_int_equal(errno, EBADMSG);
    assert_int_equal(stats.fd, -1);
}

static void test_missing_ioctl_falls_back(void **state)
{
    (void)state;
    /* Not a KVM fd: the ioctl fails as on a host without binary stats. */
    int fd = eventfd(0, EFD_CLOEXEC);
    struct kvm_binary_stats stats;
    struct error error = {0};
    assert_int_equal(kvm_binary_stats_open(&stats, fd, &error), -1);
    assert_true(errno == ENOTTY || errno == EINVAL);
    assert_int_equal(stats.fd, -1);
    uint64_t values[1];
    uint8_t scratch[8];
    assert_int_equal(kvm_binary_stats_read(&stats, values, scratch), -1);
    close(fd);
}

/* On a host with KVM_CAP_BINARY_STATS_FD: the real files parse and hold the usual statistics. */
static void test_host_statistics_when_present(void **state)
{
    (void)state;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0 || ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0) {
        if (kvm >= 0)
            close(kvm);
        /* cmocka's skip() reads as a failure in the TAP runner; the fallback path is tested above. */
        printf("# host has no KVM binary statistics: nothing more to check\n");
        return;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    assert_true(vm >= 0);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    assert_true(vcpu >= 0);
    struct kvm_binary_stats vm_stats, vcpu_stats;
    struct error error = {0};
    assert_int_equal(kvm_binary_stats_open(&vm_stats, vm, &error), 0);
    assert_int_equal(kvm_binary_stats_open(&vcpu_stats, vcpu, &error), 0);
    assert_true(vm_stats.schema.field_count > 0);
    bool has_exits = false;
    for (unsigned i = 0; i < vcpu_stats.schema.field_count; i++)
        has_exits |= strcmp(vcpu_stats.schema.fields[i].name, "exits") == 0;
    assert_true(has_exits);
    uint64_t values[KVM_BINARY_STATS_MAX_FIELDS];
    uint8_t scratch[KVM_BINARY_STATS_MAX_DATA];
    assert_int_equal(kvm_binary_stats_read(&vcpu_stats, values, scratch), 0);
    kvm_binary_stats_close(&vm_stats);
    kvm_binary_stats_close(&vcpu_stats);
    close(vcpu);
    close(vm);
    close(kvm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed_file_keeps_the_scalars),
        cmocka_unit_test(test_truncated_files_are_refused),
        cmocka_unit_test(test_impossible_headers_are_refused),
        cmocka_unit_test(test_hostile_descriptors_are_skipped),
        cmocka_unit_test(test_name_without_terminator_is_skipped),
        cmocka_unit_test(test_reader_takes_snapshots_from_the_data_block),
        cmocka_unit_test(test_reader_refuses_a_malformed_file),
        cmocka_unit_test(test_missing_ioctl_falls_back),
        cmocka_unit_test(test_host_statistics_when_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
