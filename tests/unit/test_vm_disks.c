/* vm_disks_open: --disk images opened in order, one image under two names refused, the opened count honest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "disk_fixture.h"
#include "vm_disks.h"

struct fixture {
    struct disk_scratch scratch;
    char second[PATH_MAX + 16]; /* a second image next to the first ("empty" is one the fixture removes) */
    char other_name[PATH_MAX + 16];
};

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    if (!fixture || disk_scratch_create(&fixture->scratch, 1 << 20, 1) < 0)
        return -1;
    snprintf(fixture->second, sizeof(fixture->second), "%s/empty", fixture->scratch.directory);
    int fd = open(fixture->second, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) < 0)
        return -1;
    close(fd);
    /* The same image spelt another way: through "." in its directory. */
    snprintf(fixture->other_name, sizeof(fixture->other_name), "%s/./image", fixture->scratch.directory);
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    disk_scratch_remove(&fixture->scratch);
    free(fixture);
    return 0;
}

static struct vm_config config_with(const char *first, bool first_read_only, const char *second,
                                    bool second_read_only)
{
    struct vm_config config = {.disk_count = 2};
    config.disks[0] = (struct disk_spec){.path = first, .read_only = first_read_only, .packed = true};
    config.disks[1] = (struct disk_spec){.path = second, .read_only = second_read_only, .packed = true};
    return config;
}

static void test_two_images_open_in_order(void **state)
{
    struct fixture *fixture = *state;
    struct vm_config config = config_with(fixture->scratch.path, false, fixture->second, true);
    struct disk_image images[CLI_MAX_DISKS];
    unsigned opened = 99;
    struct error error = {0};
    assert_int_equal(vm_disks_open(&config, images, &opened, &error), 0);
    assert_int_equal(opened, 2);
    assert_int_equal(images[0].size, 1 << 20);
    assert_false(images[0].read_only);
    assert_int_equal(images[1].size, 4096);
    assert_true(images[1].read_only);
    vm_disks_close(images, &opened);
    assert_int_equal(opened, 0);
    assert_int_equal(images[0].fd, -1);
    /* Closed means unlocked: the images open again. */
    assert_int_equal(vm_disks_open(&config, images, &opened, &error), 0);
    vm_disks_close(images, &opened);
}

static void test_one_image_twice(void **state)
{
    struct fixture *fixture = *state;
    /* Both read-only: the locks alone would let this through, sharing one file between two devices. */
    const bool read_only[][2] = {{false, false}, {false, true}, {true, true}};
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        struct vm_config config =
            config_with(fixture->scratch.path, read_only[i][0], fixture->other_name, read_only[i][1]);
        struct disk_image images[CLI_MAX_DISKS];
        unsigned opened = 0;
        struct error error = {0};
        assert_int_equal(vm_disks_open(&config, images, &opened, &error), -1);
        assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        assert_non_null(strstr(error.message, "is given twice"));
        assert_non_null(strstr(error.message, fixture->other_name));
        assert_int_equal(opened, 1);
        vm_disks_close(images, &opened);
    }
}

static void test_failure_keeps_count_of_opened(void **state)
{
    struct fixture *fixture = *state;
    struct vm_config config = config_with(fixture->scratch.path, false, "/nonexistent/kestrel.img", false);
    struct disk_image images[CLI_MAX_DISKS];
    unsigned opened = 0;
    struct error error = {0};
    assert_int_equal(vm_disks_open(&config, images, &opened, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "/nonexistent/kestrel.img does not exist"));
    assert_int_equal(opened, 1);
    vm_disks_close(images, &opened);
    /* The first image's lock went with the close. */
    config.disk_count = 1;
    assert_int_equal(vm_disks_open(&config, images, &opened, &error), 0);
    vm_disks_close(images, &opened);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_images_open_in_order, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_one_image_twice, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_failure_keeps_count_of_opened, set_up, tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
