/* The origin of --stats' startup time: KESTREL_EXEC_TIME_NS when given and sane, else main()'s entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/startup_clock.h"

static void test_without_the_variable_main_is_the_origin(void **state)
{
    (void)state;
    struct startup_origin origin;
    struct error error = {0};
    assert_int_equal(startup_origin_resolve(5000, NULL, &origin, &error), 0);
    assert_int_equal(origin.ns, 5000);
    assert_false(origin.from_exec);
}

static void test_exec_time_is_used(void **state)
{
    (void)state;
    struct startup_origin origin;
    struct error error = {0};
    assert_int_equal(startup_origin_resolve(5000, "4000", &origin, &error), 0);
    assert_int_equal(origin.ns, 4000);
    assert_true(origin.from_exec);
    assert_int_equal(startup_origin_resolve(5000, "5000", &origin, &error), 0);
    assert_int_equal(origin.ns, 5000);
}

static void test_bad_exec_times_are_usage_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "abc", "12x", "-5", " 12", "12 ", "6000", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct startup_origin origin;
        struct error error = {0};
        if (startup_origin_resolve(5000, bad[i], &origin, &error) != -1)
            fail_msg("accepted KESTREL_EXEC_TIME_NS '%s'", bad[i]);
        assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        assert_non_null(strstr(error.message, "KESTREL_EXEC_TIME_NS"));
        assert_false(origin.from_exec);
    }
}

static void test_clock_is_monotonic(void **state)
{
    (void)state;
    uint64_t first = startup_clock_now_ns();
    uint64_t second = startup_clock_now_ns();
    assert_true(first > 0);
    assert_true(second >= first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_the_variable_main_is_the_origin),
        cmocka_unit_test(test_exec_time_is_used),
        cmocka_unit_test(test_bad_exec_times_are_usage_errors),
        cmocka_unit_test(test_clock_is_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
