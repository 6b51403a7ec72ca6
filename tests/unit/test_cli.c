#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

struct parsed {
    int result;
    enum cli_command command;
    struct vm_config config;
    struct error error;
};

/* Parses a NULL-terminated argument list (argv[0] included). */
static struct parsed parse_list(const char *const *arguments)
{
    struct parsed parsed;
    memset(&parsed, 0, sizeof(parsed));
    int argc = 0;
    while (arguments[argc])
        argc++;
    parsed.result = cli_parse(argc, (char *const *)arguments, &parsed.command, &parsed.config, &parsed.error);
    return parsed;
}

#define PARSE(...) parse_list((const char *const[]){"kestrel", __VA_ARGS__, NULL})

static void assert_usage_error(const struct parsed *parsed, const char *expected_fragment)
{
    assert_int_equal(parsed->result, -1);
    assert_int_equal(parsed->error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(parsed->error.message, expected_fragment))
        fail_msg("message '%s' lacks '%s'", parsed->error.message, expected_fragment);
    assert_null(strchr(parsed->error.message, '\n'));
}

static void test_defaults(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "bzImage");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.command, CLI_COMMAND_RUN);
    assert_string_equal(parsed.config.kernel_path, "bzImage");
    assert_null(parsed.config.initrd_path);
    assert_string_equal(parsed.config.cmdline, CLI_DEFAULT_CMDLINE);
    assert_int_equal(parsed.config.memory_size, 512ull << 20);
    assert_int_equal(parsed.config.cpu_count, 1);
    assert_int_equal(parsed.config.console.kind, CONSOLE_STDIO);
    assert_false(parsed.config.stats);
}

static void test_every_option(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "k", "--initrd", "i", "--cmdline", "console=ttyS0 quiet",
                                 "--memory", "2G", "--cpus", "4", "--console", "file:/tmp/log", "--stats");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.kernel_path, "k");
    assert_string_equal(parsed.config.initrd_path, "i");
    assert_string_equal(parsed.config.cmdline, "console=ttyS0 quiet");
    assert_int_equal(parsed.config.memory_size, 2ull << 30);
    assert_int_equal(parsed.config.cpu_count, 4);
    assert_int_equal(parsed.config.console.kind, CONSOLE_FILE);
    assert_string_equal(parsed.config.console.path, "/tmp/log");
    assert_true(parsed.config.stats);
}

static void test_equals_form(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel=k", "--memory=64M", "--cpus=2", "--console=none", "--cmdline=");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.kernel_path, "k");
    assert_int_equal(parsed.config.memory_size, 64ull << 20);
    assert_int_equal(parsed.config.cpu_count, 2);
    assert_int_equal(parsed.config.console.kind, CONSOLE_NONE);
    assert_string_equal(parsed.config.cmdline, "");
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t size;
    assert_int_equal(cli_parse_size("4096K", &size), 0);
    assert_int_equal(size, 4096ull << 10);
    assert_int_equal(cli_parse_size("512m", &size), 0);
    assert_int_equal(size, 512ull << 20);
    assert_int_equal(cli_parse_size("1T", &size), 0);
    assert_int_equal(size, 1ull << 40);
    assert_int_equal(cli_parse_size("256", &size), 0); /* bare number: MiB */
    assert_int_equal(size, 256ull << 20);
    assert_int_equal(cli_parse_size("12X", &size), -1);
    assert_int_equal(cli_parse_size("", &size), -1);
    assert_int_equal(cli_parse_size("-1G", &size), -1);
    assert_int_equal(cli_parse_size(" 1G", &size), -1);
    assert_int_equal(cli_parse_size("1GB", &size), -1);
    assert_int_equal(cli_parse_size("1.5G", &size), -1);
    assert_int_equal(cli_parse_size("16777216T", &size), -1);           /* 2^64: overflows */
    assert_int_equal(cli_parse_size("99999999999999999999999", &size), -1); /* beyond strtoull */
    assert_int_equal(cli_parse_size("16777215T", &size), 0);
}

static void test_help_and_version(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("--help");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.command, CLI_COMMAND_HELP);
    parsed = PARSE("-h");
    assert_int_equal(parsed.command, CLI_COMMAND_HELP);
    parsed = PARSE("--version");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.command, CLI_COMMAND_VERSION);
    /* run --help wins even without --kernel and after a bad option value would have been seen. */
    parsed = PARSE("run", "--help");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.command, CLI_COMMAND_RUN_HELP);
    assert_non_null(strstr(cli_run_usage(), "--kernel"));
    assert_non_null(strstr(cli_usage(), "run"));
}

static void test_kernel_entry(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "k");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.kernel_entry, BOOT_KERNEL_ENTRY_AUTO);
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry", "bzimage");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.kernel_entry, BOOT_KERNEL_ENTRY_BZIMAGE);
    parsed = PARSE("run", "--kernel-entry=pvh", "--kernel", "k");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.kernel_entry, BOOT_KERNEL_ENTRY_PVH);
    assert_string_equal(parsed.config.kernel_path, "k");
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry", "pvh", "--kernel-entry", "auto");
    assert_int_equal(parsed.config.kernel_entry, BOOT_KERNEL_ENTRY_AUTO);
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry", "elf");
    assert_usage_error(&parsed, "--kernel-entry: 'elf' is not auto, bzimage or pvh");
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry", "PVH");
    assert_usage_error(&parsed, "--kernel-entry: 'PVH' is not auto, bzimage or pvh");
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry=");
    assert_usage_error(&parsed, "--kernel-entry: '' is not auto, bzimage or pvh");
    parsed = PARSE("run", "--kernel", "k", "--kernel-entry");
    assert_usage_error(&parsed, "--kernel-entry needs a value");
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct parsed parsed = parse_list((const char *const[]){"kestrel", NULL});
    assert_usage_error(&parsed, "no command");
    parsed = PARSE("launch");
    assert_usage_error(&parsed, "unknown command 'launch'");
    parsed = PARSE("--bogus");
    assert_usage_error(&parsed, "unknown option '--bogus'");
    parsed = PARSE("run", "--kernel", "k", "--bogus");
    assert_usage_error(&parsed, "unknown option '--bogus'");
    parsed = PARSE("run", "--kernelx", "k");
    assert_usage_error(&parsed, "unknown option '--kernelx'");
    parsed = PARSE("run", "--kernel", "k", "extra");
    assert_usage_error(&parsed, "unexpected argument 'extra'");
    parsed = PARSE("run");
    assert_usage_error(&parsed, "--kernel");
    parsed = PARSE("run", "--kernel");
    assert_usage_error(&parsed, "--kernel needs a value");
    parsed = PARSE("run", "--kernel", "");
    assert_usage_error(&parsed, "--kernel needs a path");
    parsed = PARSE("run", "--kernel", "k", "--memory");
    assert_usage_error(&parsed, "--memory needs a value");
    parsed = PARSE("run", "--kernel", "k", "--memory", "12X");
    assert_usage_error(&parsed, "--memory: '12X' is not a size");
    parsed = PARSE("run", "--kernel", "k", "--memory", "0");
    assert_usage_error(&parsed, "--memory must be greater than 0");
    parsed = PARSE("run", "--kernel", "k", "--memory", "0G");
    assert_usage_error(&parsed, "--memory must be greater than 0");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1001K");
    assert_usage_error(&parsed, "multiple of 4K");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "0");
    assert_usage_error(&parsed, "--cpus must be at least 1");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "two");
    assert_usage_error(&parsed, "--cpus: 'two' is not a number");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "2x");
    assert_usage_error(&parsed, "--cpus: '2x' is not a number");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "-1");
    assert_usage_error(&parsed, "--cpus: '-1' is not a number");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "99999999999999999999");
    assert_usage_error(&parsed, "--cpus");
    parsed = PARSE("run", "--kernel", "k", "--console", "tty");
    assert_usage_error(&parsed, "tty");
    parsed = PARSE("run", "--kernel", "k", "--console", "file:");
    assert_usage_error(&parsed, "file:");
    parsed = PARSE("run", "--kernel", "k", "--stats=yes");
    assert_usage_error(&parsed, "--stats takes no value");
}

static void test_last_value_wins(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "a", "--kernel", "b", "--cpus", "2", "--cpus", "3");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.kernel_path, "b");
    assert_int_equal(parsed.config.cpu_count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_equals_form),     cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_help_and_version), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_kernel_entry),
        cmocka_unit_test(test_last_value_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
