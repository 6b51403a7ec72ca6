#ifndef KESTREL_TESTS_BOOT_FIXTURE_H
#define KESTREL_TESTS_BOOT_FIXTURE_H

/*
 * What the kernel-loader tests share: guest RAM plus one synthetic kernel
 * image (tests/unit/boot_test_images.h) that each test edits into a bad case,
 * and the check that an error is a one-line usage error naming the problem.
 * Include after <cmocka.h>.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_image.h"
#include "mem/guest_memory.h"
#include "util/error.h"

struct boot_fixture {
    struct guest_memory memory;
    uint8_t *image;
    size_t size;
    struct error error;
    struct boot_entry entry;
};

/* `image` (malloc'd, `size` bytes) becomes the fixture's; the teardown frees it. */
static inline int boot_fixture_setup(void **state, uint64_t ram_size, uint8_t *image, size_t size)
{
    struct boot_fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    if (!fixture || guest_memory_create(&fixture->memory, ram_size, &error) < 0) {
        free(fixture);
        free(image);
        return -1;
    }
    fixture->image = image;
    fixture->size = size;
    *state = fixture;
    return 0;
}

static inline int boot_fixture_teardown(void **state)
{
    struct boot_fixture *fixture = *state;
    guest_memory_destroy(&fixture->memory);
    free(fixture->image);
    free(fixture);
    return 0;
}

/* The whole in-memory load path, the kernel image named `name` in messages. */
static inline int boot_fixture_load(struct boot_fixture *fixture, const char *name, const struct boot_image *initrd,
                                    const char *cmdline, unsigned cpu_count)
{
    struct boot_image kernel = {.data = fixture->image, .size = fixture->size, .name = name};
    return boot_load_images(&fixture->memory, &kernel, initrd, cmdline, cpu_count, &fixture->entry,
                            &fixture->error);
}

/*
 * For the tests that go through files: guest RAM and a fresh directory made
 * from `directory` (a mkdtemp template, replaced by the name), removed whole
 * by the teardown.
 */
static inline int boot_scratch_setup(struct guest_memory *memory, uint64_t ram_size, char *directory)
{
    struct error error;
    if (guest_memory_create(memory, ram_size, &error) < 0)
        return -1;
    return mkdtemp(directory) ? 0 : -1;
}

static inline int boot_scratch_teardown(struct guest_memory *memory, const char *directory)
{
    char command[160];
    snprintf(command, sizeof(command), "rm -rf %s", directory);
    int result = system(command) == 0 ? 0 : -1;
    guest_memory_destroy(memory);
    return result;
}

/* `error` is EXIT_STATUS_USAGE and its message contains `needle`. */
static inline void assert_usage_error(const struct error *error, const char *needle)
{
    assert_int_equal(error->exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error->message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", error->message, needle);
}

#endif
