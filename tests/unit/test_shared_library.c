/* Optional libraries loaded with dlopen: all symbols or none, a failure kept and worded with its purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/shared_library.h"

static void test_load_fills_every_slot_or_none(void **state)
{
    (void)state;
    char problem[256] = "";
    void *found = NULL, *missing = NULL;
    struct shared_library_symbol good[] = {{"strlen", &found}};
    assert_int_equal(shared_library_load("libc.so.6", good, 1, problem, sizeof(problem)), 0);
    assert_non_null(found);

    found = NULL;
    struct shared_library_symbol bad[] = {{"strlen", &found}, {"kestrel_no_such_symbol", &missing}};
    assert_int_equal(shared_library_load("libc.so.6", bad, 2, problem, sizeof(problem)), -1);
    assert_string_equal(problem, "libc.so.6 has no kestrel_no_such_symbol");
    assert_null(found); /* no half-filled table */
    assert_null(missing);

    assert_int_equal(shared_library_load("libkestrel-missing.so.9", good, 1, problem, sizeof(problem)), -1);
    assert_non_null(strstr(problem, "cannot load libkestrel-missing.so.9"));
}

static void *strlen_slot;
static const struct shared_library_symbol libc_symbols[] = {{"strlen", &strlen_slot}};
static void *missing_slot;
static const struct shared_library_symbol missing_symbols[] = {{"anything", &missing_slot}};

static void test_get_loads_once_and_keeps_a_failure(void **state)
{
    (void)state;
    static struct shared_library libc = SHARED_LIBRARY_INIT("libc.so.6", libc_symbols);
    struct error error = {0};
    assert_int_equal(shared_library_get(&libc, "testing", &error), 0);
    assert_non_null(strlen_slot);
    assert_int_equal(shared_library_get(&libc, "testing", NULL), 0);

    static struct shared_library missing = SHARED_LIBRARY_INIT("libkestrel-missing.so.9", missing_symbols);
    for (int attempt = 0; attempt < 2; attempt++) {
        memset(&error, 0, sizeof(error));
        assert_int_equal(shared_library_get(&missing, "--net user", &error), -1);
        assert_int_equal(error.exit_status, EXIT_STATUS_FAILURE);
        assert_non_null(strstr(error.message, "--net user: cannot load libkestrel-missing.so.9"));
    }
    assert_null(missing_slot);
    assert_int_equal(shared_library_get(&missing, "--net user", NULL), -1);
}

static void *cos_slot;
static const struct shared_library_symbol libm_symbols[] = {{"cos", &cos_slot}};

/* Last: the seal is for the process's life. A library loaded before it stays usable; a new one is refused. */
static void test_seal_refuses_new_loads_only(void **state)
{
    (void)state;
    static struct shared_library libc = SHARED_LIBRARY_INIT("libc.so.6", libc_symbols);
    assert_int_equal(shared_library_get(&libc, "testing", NULL), 0);
    shared_library_seal();
    assert_int_equal(shared_library_get(&libc, "testing", NULL), 0);
    static struct shared_library libm = SHARED_LIBRARY_INIT("libm.so.6", libm_symbols);
    struct error error = {0};
    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_equal(shared_library_get(&libm, "decompressing", &error), -1);
        assert_non_null(strstr(error.message, "decompressing: libm.so.6 was not loaded before kestrel's sandbox went on"));
    }
    assert_null(cos_slot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_fills_every_slot_or_none),
        cmocka_unit_test(test_get_loads_once_and_keeps_a_failure),
        cmocka_unit_test(test_seal_refuses_new_loads_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
