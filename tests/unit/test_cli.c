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

enum { MAX_ARGUMENTS = 64, ARGUMENT_BYTES = 8192 };

/*
 * Writable copies of the arguments, as main's argv is (--disk is split in
 * place). Static: the parsed config points into them until the next parse.
 */
static char argument_text[ARGUMENT_BYTES];
static char *argument_vector[MAX_ARGUMENTS + 1];

/* Parses a NULL-terminated argument list (argv[0] included). */
static struct parsed parse_list(const char *const *arguments)
{
    struct parsed parsed;
    memset(&parsed, 0, sizeof(parsed));
    int argc = 0;
    size_t used = 0;
    for (; arguments[argc]; argc++) {
        size_t length = strlen(arguments[argc]) + 1;
        assert_true(argc < MAX_ARGUMENTS && length <= sizeof(argument_text) - used);
        argument_vector[argc] = memcpy(argument_text + used, arguments[argc], length);
        used += length;
    }
    argument_vector[argc] = NULL;
    parsed.result = cli_parse(argc, argument_vector, &parsed.command, &parsed.config, &parsed.error);
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

static void test_memory_overcommit(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel=k", "--memory=64M");
    assert_int_equal(parsed.result, 0);
    assert_false(parsed.config.memory_overcommit);
    parsed = PARSE("run", "--kernel=k", "--memory=6G,overcommit=on");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.memory_size, 6ull << 30);
    assert_true(parsed.config.memory_overcommit);
    parsed = PARSE("run", "--kernel", "k", "--memory", "6G,overcommit=off");
    assert_int_equal(parsed.result, 0);
    assert_false(parsed.config.memory_overcommit);
    assert_false(parsed.config.memory_huge_pages);
    parsed = PARSE("run", "--kernel", "k", "--memory", "6G,hugepages=on,overcommit=on");
    assert_int_equal(parsed.result, 0);
    assert_true(parsed.config.memory_huge_pages);
    assert_true(parsed.config.memory_overcommit);
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

static void test_on_reboot(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "k");
    assert_int_equal(parsed.result, 0);
    assert_false(parsed.config.exit_on_reboot);
    parsed = PARSE("run", "--kernel", "k", "--on-reboot", "exit");
    assert_int_equal(parsed.result, 0);
    assert_true(parsed.config.exit_on_reboot);
    parsed = PARSE("run", "--on-reboot=exit", "--kernel", "k", "--on-reboot=reset");
    assert_int_equal(parsed.result, 0);
    assert_false(parsed.config.exit_on_reboot);
    parsed = PARSE("run", "--kernel", "k", "--on-reboot", "poweroff");
    assert_usage_error(&parsed, "--on-reboot: 'poweroff' is not reset or exit");
    parsed = PARSE("run", "--kernel", "k", "--on-reboot");
    assert_usage_error(&parsed, "--on-reboot needs a value");
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
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,overcommit=yes");
    assert_usage_error(&parsed, "--memory: overcommit must be on or off, not 'yes'");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,hugepages=1");
    assert_usage_error(&parsed, "--memory: hugepages must be on or off, not '1'");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,hugepages=on,hugepages=off");
    assert_usage_error(&parsed, "--memory: hugepages= given twice");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,hugepage=on");
    assert_usage_error(&parsed, "--memory: unknown option 'hugepage=on'");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,overcommitted=on");
    assert_usage_error(&parsed, "--memory: unknown option 'overcommitted=on'");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,overcommit");
    assert_usage_error(&parsed, "--memory: unknown option 'overcommit'");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,");
    assert_usage_error(&parsed, "--memory: nothing after the comma");
    parsed = PARSE("run", "--kernel", "k", "--memory", "1G,overcommit=on,overcommit=on");
    assert_usage_error(&parsed, "--memory: overcommit= given twice");
    parsed = PARSE("run", "--kernel", "k", "--memory", ",overcommit=on");
    assert_usage_error(&parsed, "--memory: '' is not a size");
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

/* Parses `run --kernel k` followed by the given arguments. */
#define PARSE_DISK(...) PARSE("run", "--kernel", "k", __VA_ARGS__)

/* Parses `run --kernel k` followed by `option value` `times` times. */
static struct parsed parse_repeated(const char *option, const char *value, unsigned times)
{
    const char *arguments[MAX_ARGUMENTS + 1] = {"kestrel", "run", "--kernel", "k"};
    size_t count = 4;
    assert_true(count + 2 * (size_t)times <= MAX_ARGUMENTS);
    for (unsigned i = 0; i < times; i++) {
        arguments[count++] = option;
        arguments[count++] = value;
    }
    arguments[count] = NULL;
    return parse_list(arguments);
}

static void test_disk_defaults(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "k");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.disk_count, 0);
    parsed = PARSE_DISK("--disk", "disk.img");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.disk_count, 1);
    const struct disk_spec *disk = &parsed.config.disks[0];
    assert_string_equal(disk->path, "disk.img");
    assert_false(disk->read_only);
    assert_int_equal(disk->cache, DISK_CACHE_WRITEBACK);
    assert_int_equal(disk->queues, 0);     /* one per vCPU */
    assert_int_equal(disk->io_threads, 0); /* one per queue */
    assert_null(disk->serial);
    assert_true(disk->packed);
    assert_int_equal(disk->poll_us, 0);
}

static void test_disk_every_key(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--kernel", "k", "--cpus", "8", "--disk",
                                 "/var/lib/a.img,readonly=on,cache=none,queues=4,iothreads=2,serial=SN-0001,"
                                 "packed=off,poll_us=32");
    assert_int_equal(parsed.result, 0);
    const struct disk_spec *disk = &parsed.config.disks[0];
    assert_string_equal(disk->path, "/var/lib/a.img");
    assert_true(disk->read_only);
    assert_int_equal(disk->cache, DISK_CACHE_NONE);
    assert_int_equal(disk->queues, 4);
    assert_int_equal(disk->io_threads, 2);
    assert_string_equal(disk->serial, "SN-0001");
    assert_false(disk->packed);
    assert_int_equal(disk->poll_us, 32);

    /* The other value of each switch, the limits, and the --disk= form. */
    parsed = PARSE("run", "--kernel", "k", "--cpus", "64",
                   "--disk=b.img,readonly=off,packed=on,cache=writeback,queues=64,iothreads=64,poll_us=1000000,"
                   "serial=12345678901234567890");
    assert_int_equal(parsed.result, 0);
    disk = &parsed.config.disks[0];
    assert_string_equal(disk->path, "b.img");
    assert_false(disk->read_only);
    assert_true(disk->packed);
    assert_int_equal(disk->cache, DISK_CACHE_WRITEBACK);
    assert_int_equal(disk->queues, 64);
    assert_int_equal(disk->io_threads, 64);
    assert_int_equal(disk->poll_us, CLI_DISK_MAX_POLL_US);
    assert_string_equal(disk->serial, "12345678901234567890");
    assert_int_equal(strlen(disk->serial), CLI_DISK_SERIAL_MAX);
    parsed = PARSE_DISK("--disk", "c.img,poll_us=0");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.disks[0].poll_us, 0);
}

static void test_disk_trace_key(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--disk", "a.img,trace=/tmp/a.trace");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.disks[0].trace_path, "/tmp/a.trace");
    assert_null(PARSE_DISK("--disk", "a.img").config.disks[0].trace_path);
    /* A comma in the trace's path is written ",,", as in the image's. */
    parsed = PARSE_DISK("--disk", "a,,b.img,trace=t,,1.trace,readonly=on");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.disks[0].path, "a,b.img");
    assert_string_equal(parsed.config.disks[0].trace_path, "t,1.trace");
    assert_true(parsed.config.disks[0].read_only);
    parsed = PARSE_DISK("--disk", "a.img,trace=");
    assert_usage_error(&parsed, "--disk a.img: trace= is empty");
    parsed = PARSE_DISK("--disk", "a.img,trace=x,trace=y");
    assert_usage_error(&parsed, "--disk a.img: key 'trace' is given twice");
}

static void test_disk_escaped_comma(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--disk", "a,,b.img,readonly=on");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.disks[0].path, "a,b.img");
    assert_true(parsed.config.disks[0].read_only);
    parsed = PARSE_DISK("--disk", "a,,,,b,,");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.disks[0].path, "a,,b,");
    /* A path may hold '=': only the fields after it are key=value. */
    parsed = PARSE_DISK("--disk", "dir/x=y.img");
    assert_int_equal(parsed.result, 0);
    assert_string_equal(parsed.config.disks[0].path, "dir/x=y.img");
}

static void test_disk_several(void **state)
{
    (void)state;
    struct parsed parsed = PARSE("run", "--disk", "a.img,queues=2", "--kernel", "k", "--disk", "b.img,readonly=on",
                                 "--cpus", "2");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.disk_count, 2);
    assert_string_equal(parsed.config.disks[0].path, "a.img");
    assert_int_equal(parsed.config.disks[0].queues, 2);
    assert_false(parsed.config.disks[0].read_only);
    assert_string_equal(parsed.config.disks[1].path, "b.img");
    assert_true(parsed.config.disks[1].read_only);
    assert_int_equal(parsed.config.disks[1].queues, 0);

    parsed = parse_repeated("--disk", "d.img", CLI_MAX_DISKS);
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.disk_count, CLI_MAX_DISKS);
    parsed = parse_repeated("--disk", "d.img", CLI_MAX_DISKS + 1);
    assert_usage_error(&parsed, "--disk: at most 8 disks");
}

static void test_disk_syntax_errors(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--disk");
    assert_usage_error(&parsed, "--disk needs a value");
    parsed = PARSE_DISK("--disk", "");
    assert_usage_error(&parsed, "--disk needs a path");
    parsed = PARSE_DISK("--disk", ",readonly=on");
    assert_usage_error(&parsed, "--disk needs a path");
    parsed = PARSE_DISK("--disk", "a.img,bogus=1");
    assert_usage_error(&parsed, "--disk a.img: unknown key 'bogus'");
    parsed = PARSE_DISK("--disk", "a.img,READONLY=on");
    assert_usage_error(&parsed, "unknown key 'READONLY'");
    parsed = PARSE_DISK("--disk", "a.img,=on");
    assert_usage_error(&parsed, "unknown key ''");
    parsed = PARSE_DISK("--disk", "a.img,readonly");
    assert_usage_error(&parsed, "--disk a.img: 'readonly' is not key=value");
    parsed = PARSE_DISK("--disk", "a.img,");
    assert_usage_error(&parsed, "--disk a.img: an empty key=value");
    parsed = PARSE_DISK("--disk", "a.img,readonly=on,,");
    assert_usage_error(&parsed, "readonly='on,' is not on or off");
    parsed = PARSE_DISK("--disk", "a.img,queues=1,queues=1");
    assert_usage_error(&parsed, "--disk a.img: key 'queues' is given twice");
    parsed = PARSE_DISK("--disk", "a.img,readonly=on,cache=none,readonly=off");
    assert_usage_error(&parsed, "key 'readonly' is given twice");
    parsed = PARSE_DISK("--disk", "a.img,serial=ab,cd");
    assert_usage_error(&parsed, "'cd' after serial= is not key=value: commas separate keys, so a serial cannot");
    parsed = PARSE_DISK("--disk", "a.img,serial=ab,,cd");
    assert_usage_error(&parsed, "serial='ab,cd' contains a comma");
}

static void test_disk_value_errors(void **state)
{
    (void)state;
    static const struct {
        const char *disk;
        const char *fragment;
    } cases[] = {
        {"a.img,readonly=yes", "--disk a.img: readonly='yes' is not on or off"},
        {"a.img,readonly=", "readonly='' is not on or off"},
        {"a.img,readonly=ON", "readonly='ON' is not on or off"},
        {"a.img,packed=1", "packed='1' is not on or off"},
        {"a.img,cache=unsafe", "cache='unsafe' is not none or writeback"},
        {"a.img,cache=", "cache='' is not none or writeback"},
        {"a.img,queues=0", "--disk a.img: queues must be at least 1"},
        {"a.img,queues=65", "queues=65 is more than a virtio-blk device's queue limit (64)"},
        {"a.img,queues=99999999999999999999999", "queues=99999999999999999999999 is more than"},
        {"a.img,queues=4294967297", "queues=4294967297 is more than"},
        {"a.img,queues=two", "queues='two' is not a number"},
        {"a.img,queues=2x", "queues='2x' is not a number"},
        {"a.img,queues=-1", "queues='-1' is not a number"},
        {"a.img,queues= 1", "queues=' 1' is not a number"},
        {"a.img,queues=", "queues='' is not a number"},
        {"a.img,iothreads=0", "iothreads must be at least 1"},
        {"a.img,iothreads=65", "iothreads=65 is more than"},
        {"a.img,iothreads=x", "iothreads='x' is not a number"},
        {"a.img,queues=2,iothreads=3", "--disk a.img: iothreads=3 is more than queues=2"},
        {"a.img,iothreads=3,queues=2", "iothreads=3 is more than queues=2"},
        {"a.img,poll_us=1000001", "poll_us=1000001 is more than the polling limit (1000000)"},
        {"a.img,poll_us=1e3", "poll_us='1e3' is not a number"},
        {"a.img,serial=", "--disk a.img: serial= is empty"},
        {"a.img,serial=123456789012345678901", "is longer than 20 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct parsed parsed = PARSE("run", "--kernel", "k", "--cpus", "64", "--disk", cases[i].disk);
        assert_usage_error(&parsed, cases[i].fragment);
    }
}

static void test_disk_against_cpus(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--disk", "a.img,queues=2");
    assert_usage_error(&parsed, "--disk a.img: queues=2 is more than the 1 vCPUs");
    /* --cpus after --disk counts: the check runs once every option is read. */
    parsed = PARSE("run", "--disk", "a.img,queues=4", "--kernel", "k", "--cpus", "4");
    assert_int_equal(parsed.result, 0);
    parsed = PARSE("run", "--disk", "a.img,queues=4", "--kernel", "k", "--cpus", "8", "--cpus", "3");
    assert_usage_error(&parsed, "queues=4 is more than the 3 vCPUs");
    /* iothreads against the default queue count: one per vCPU, at most the device's 64. */
    parsed = PARSE("run", "--kernel", "k", "--cpus", "2", "--disk", "a.img,iothreads=3");
    assert_usage_error(&parsed, "--disk a.img: iothreads=3 is more than its 2 queues");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "2", "--disk", "a.img,iothreads=2");
    assert_int_equal(parsed.result, 0);
    parsed = PARSE("run", "--kernel", "k", "--cpus", "100", "--disk", "a.img,iothreads=64");
    assert_int_equal(parsed.result, 0);
    /* The second disk is checked too, and named. */
    parsed = PARSE("run", "--kernel", "k", "--cpus", "2", "--disk", "a.img", "--disk", "b.img,queues=3");
    assert_usage_error(&parsed, "--disk b.img: queues=3 is more than the 2 vCPUs");
}

static void test_net_options(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--cpus", "1");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.net_count, 0);
    /* Both spellings, repeated, in order, among other options; queues above --cpus is the user's choice. */
    parsed = PARSE("run", "--net", "user,hostfwd=tcp::2222-:22", "--kernel", "k", "--net=tap,ifname=tap0,queues=16",
                   "--cpus", "1", "--disk", "a.img", "--net", "tap,mac=52:54:00:12:34:56");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.net_count, 3);
    assert_int_equal(parsed.config.nets[0].backend, NET_BACKEND_USER);
    assert_int_equal(parsed.config.nets[0].hostfwd_count, 1);
    assert_int_equal(parsed.config.nets[0].hostfwds[0].host_port, 2222);
    assert_int_equal(parsed.config.nets[1].backend, NET_BACKEND_TAP);
    assert_string_equal(parsed.config.nets[1].ifname, "tap0");
    assert_int_equal(parsed.config.nets[1].queue_pairs, 16);
    assert_true(parsed.config.nets[2].mac_given);
    assert_int_equal(parsed.config.disk_count, 1);

    parsed = PARSE_DISK("--net");
    assert_usage_error(&parsed, "--net needs a value");
    parsed = PARSE_DISK("--net=");
    assert_usage_error(&parsed, "--net: no backend given");
    parsed = PARSE_DISK("--net", "tap,queues=0");
    assert_usage_error(&parsed, "--net tap: queues=0: must be at least 1");
    /* iothreads= against the pairs --cpus gives, wherever --cpus comes. */
    parsed = PARSE("run", "--kernel", "k", "--net", "tap,iothreads=3", "--cpus", "2");
    assert_usage_error(&parsed, "--net tap: iothreads=3 is more than its 2 queue pairs");
    parsed = PARSE("run", "--kernel", "k", "--cpus", "3", "--net", "tap,iothreads=3");
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.nets[0].io_threads, 3);
    /* A --net error stops the parse even when a later option is fine. */
    parsed = PARSE_DISK("--net", "slirp", "--cpus", "2");
    assert_usage_error(&parsed, "--net: unknown backend 'slirp'");
}

static void test_net_limit(void **state)
{
    (void)state;
    struct parsed parsed = parse_repeated("--net", "user", CLI_MAX_NETS);
    assert_int_equal(parsed.result, 0);
    assert_int_equal(parsed.config.net_count, CLI_MAX_NETS);
    parsed = parse_repeated("--net", "tap", CLI_MAX_NETS + 1);
    assert_usage_error(&parsed, "--net: at most 8 NICs");
}

/* The NICs are compared once every option is read, whatever their order. */
static void test_net_distinct(void **state)
{
    (void)state;
    struct parsed parsed = PARSE_DISK("--net", "tap,mac=52:54:00:12:34:56", "--net", "user,mac=52-54-00-12-34-56");
    assert_usage_error(&parsed, "--net: mac=52:54:00:12:34:56 is given to two NICs (--net 1 and 2)");
    parsed = PARSE_DISK("--net", "tap,ifname=tap0", "--cpus", "2", "--net", "tap,ifname=tap0,vhost=off");
    assert_usage_error(&parsed, "--net: ifname=tap0 is given to two NICs (--net 1 and 2)");
    parsed = PARSE_DISK("--net", "user,hostfwd=udp::53-:53", "--net", "user,hostfwd=udp:0.0.0.0:53-:5353");
    assert_usage_error(&parsed, "--net: hostfwd: udp host port 53 is forwarded by two NICs (--net 1 and 2)");
    parsed = PARSE_DISK("--net", "user,hostfwd=udp::53-:53", "--net", "user,hostfwd=tcp::53-:53", "--net",
                        "tap,ifname=tap0", "--net", "tap,ifname=tap1");
    assert_int_equal(parsed.result, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_equals_form),
        cmocka_unit_test(test_memory_overcommit),     cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_help_and_version), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_kernel_entry),
        cmocka_unit_test(test_last_value_wins),
        cmocka_unit_test(test_disk_defaults),   cmocka_unit_test(test_disk_every_key),
        cmocka_unit_test(test_disk_trace_key), cmocka_unit_test(test_disk_escaped_comma), cmocka_unit_test(test_disk_several),
        cmocka_unit_test(test_disk_syntax_errors), cmocka_unit_test(test_disk_value_errors),
        cmocka_unit_test(test_disk_against_cpus),
        cmocka_unit_test(test_net_options),     cmocka_unit_test(test_net_limit),
        cmocka_unit_test(test_net_distinct),    cmocka_unit_test(test_on_reboot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
