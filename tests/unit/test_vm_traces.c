/*
 * vm_traces_create: --disk ...,trace=PATH checked against the images and each
 * other, refused in one usage-error line, with nothing left on disk; good
 * traces appear only once started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "block_trace_fixture.h"

#include "disk_fixture.h"
#include "vm_disks.h"
#include "vm_traces.h"

struct fixture {
    struct disk_scratch scratch;
    struct vm_config config;
    struct disk_image images[CLI_MAX_DISKS];
    unsigned opened;
    struct block_trace_writer *traces[CLI_MAX_DISKS];
    char paths[4][PATH_MAX + 32];
};

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    if (!fixture || disk_scratch_create(&fixture->scratch, 1 << 20, 0) < 0)
        return -1;
    /* Two disks on one image would be refused first: the second disk is the first read-only under "empty". */
    snprintf(fixture->paths[0], sizeof(fixture->paths[0]), "%s/empty", fixture->scratch.directory);
    int fd = open(fixture->paths[0], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        return -1;
    close(fd);
    fixture->config.disk_count = 2;
    fixture->config.disks[0] = (struct disk_spec){.path = fixture->scratch.path, .packed = true};
    fixture->config.disks[1] = (struct disk_spec){.path = fixture->paths[0], .packed = true};
    struct error error = {0};
    if (vm_disks_open(&fixture->config, fixture->images, &fixture->opened, &error) < 0)
        return -1;
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    vm_traces_close(fixture->traces);
    vm_disks_close(fixture->images, &fixture->opened);
    for (unsigned i = 1; i < 4; i++)
        unlink(fixture->paths[i]);
    disk_scratch_remove(&fixture->scratch);
    free(fixture);
    return 0;
}

static void expect_refusal(struct fixture *fixture, const char *fragment)
{
    struct error error = {0};
    assert_int_equal(vm_traces_create(&fixture->config, fixture->images, fixture->traces, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, fragment))
        fail_msg("'%s' does not mention '%s'", error.message, fragment);
    vm_traces_close(fixture->traces);
    /* The image and "empty": no trace, no temporary. */
    assert_int_equal(trace_directory_entries(fixture->scratch.directory), 2);
}

static void test_a_trace_on_a_disk_image_is_refused(void **state)
{
    struct fixture *fixture = *state;
    fixture->config.disks[1].trace_path = fixture->scratch.path;
    char expected[PATH_MAX * 4];
    snprintf(expected, sizeof(expected), "--disk %s: trace=%s is the disk image of --disk %s", fixture->paths[0],
             fixture->scratch.path, fixture->scratch.path);
    expect_refusal(fixture, expected);
    /* Its own image too, spelt another way. */
    snprintf(fixture->paths[1], sizeof(fixture->paths[1]), "%s/./image", fixture->scratch.directory);
    fixture->config.disks[1].trace_path = NULL;
    fixture->config.disks[0].trace_path = fixture->paths[1];
    expect_refusal(fixture, "is the disk image of --disk");
}

static void test_a_trace_on_the_kernel_or_initrd_is_refused(void **state)
{
    struct fixture *fixture = *state;
    snprintf(fixture->paths[1], sizeof(fixture->paths[1]), "%s/dir", fixture->scratch.directory);
    FILE *kernel = fopen(fixture->paths[1], "w");
    assert_non_null(kernel);
    fclose(kernel);
    fixture->config.kernel_path = fixture->paths[1];
    fixture->config.disks[0].trace_path = fixture->paths[1];
    char expected[PATH_MAX * 4];
    snprintf(expected, sizeof(expected), "trace=%s is the --kernel file", fixture->paths[1]);
    struct error error = {0};
    assert_int_equal(vm_traces_create(&fixture->config, fixture->images, fixture->traces, &error), -1);
    assert_non_null(strstr(error.message, expected));
    fixture->config.kernel_path = "k";
    fixture->config.initrd_path = fixture->paths[1];
    assert_int_equal(vm_traces_create(&fixture->config, fixture->images, fixture->traces, &error), -1);
    assert_non_null(strstr(error.message, "is the --initrd file"));
    unlink(fixture->paths[1]);
}

static void test_two_disks_tracing_to_one_file_are_refused(void **state)
{
    struct fixture *fixture = *state;
    snprintf(fixture->paths[1], sizeof(fixture->paths[1]), "%s/one.trace", fixture->scratch.directory);
    snprintf(fixture->paths[2], sizeof(fixture->paths[2]), "%s/../%s/one.trace", fixture->scratch.directory,
             strrchr(fixture->scratch.directory, '/') + 1);
    fixture->config.disks[0].trace_path = fixture->paths[1];
    fixture->config.disks[1].trace_path = fixture->paths[2];
    expect_refusal(fixture, "is also the trace of --disk");
}

static void test_a_missing_directory_names_the_disk(void **state)
{
    struct fixture *fixture = *state;
    snprintf(fixture->paths[1], sizeof(fixture->paths[1]), "%s/no/such.trace", fixture->scratch.directory);
    fixture->config.disks[1].trace_path = fixture->paths[1];
    char expected[PATH_MAX * 4];
    snprintf(expected, sizeof(expected), "--disk %s: trace file %s: directory %s/no does not exist",
             fixture->paths[0], fixture->paths[1], fixture->scratch.directory);
    expect_refusal(fixture, expected);
}

static void test_good_traces_appear_once_started(void **state)
{
    struct fixture *fixture = *state;
    snprintf(fixture->paths[1], sizeof(fixture->paths[1]), "%s/a.trace", fixture->scratch.directory);
    snprintf(fixture->paths[2], sizeof(fixture->paths[2]), "%s/b.trace", fixture->scratch.directory);
    fixture->config.disks[0].trace_path = fixture->paths[1];
    fixture->config.disks[1].trace_path = fixture->paths[2];
    struct error error = {0};
    assert_int_equal(vm_traces_create(&fixture->config, fixture->images, fixture->traces, &error), 0);
    assert_int_equal(trace_directory_entries(fixture->scratch.directory), 2);
    assert_int_equal(block_trace_writer_start(fixture->traces[0], 1 << 20, 1, &error), 0);
    assert_int_equal(trace_directory_entries(fixture->scratch.directory), 3);
    vm_traces_close(fixture->traces);
    /* The started one stays, finished; the other never existed. */
    assert_int_equal(access(fixture->paths[1], F_OK), 0);
    assert_int_equal(access(fixture->paths[2], F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_trace_on_a_disk_image_is_refused, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_trace_on_the_kernel_or_initrd_is_refused, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_two_disks_tracing_to_one_file_are_refused, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_missing_directory_names_the_disk, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_good_traces_appear_once_started, set_up, tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
