/*
 * Landlock (src/sandbox/landlock.c) and the VM's file set (src/vm_landlock.c).
 * The access masks per ABI are checked as data; the sandboxes themselves are
 * enforced in a forked child (Landlock cannot be undone), which reports each
 * check as a bit of its exit status. On a kernel without Landlock those
 * tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/kernel_cache.h"
#include "sandbox/landlock.h"
#include "stats/vm_stats.h"
#include "vm_landlock.h"

#define TRUNCATE_ACCESS  (1ULL << 14)
#define IOCTL_DEV_ACCESS (1ULL << 15)

struct scratch {
    char directory[64];
    char allowed[96];
    char outside[96];
    char publish[96];
};

static void scratch_create(struct scratch *scratch)
{
    snprintf(scratch->directory, sizeof(scratch->directory), "/tmp/kestrel-landlock-XXXXXX");
    assert_non_null(mkdtemp(scratch->directory));
    snprintf(scratch->allowed, sizeof(scratch->allowed), "%s/allowed", scratch->directory);
    snprintf(scratch->outside, sizeof(scratch->outside), "%s/outside", scratch->directory);
    snprintf(scratch->publish, sizeof(scratch->publish), "%s/publish", scratch->directory);
    const char *files[] = {scratch->allowed, scratch->outside};
    for (unsigned i = 0; i < 2; i++) {
        int fd = open(files[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
    }
    assert_int_equal(mkdir(scratch->publish, 0700), 0);
}

static void scratch_remove(struct scratch *scratch)
{
    char command[160];
    snprintf(command, sizeof(command), "rm -rf '%s'", scratch->directory);
    assert_int_equal(system(command), 0);
}

static bool landlock_present(void)
{
    return landlock_abi_version() >= 1;
}

/* Runs `child` in a fork; its exit status is the mask of failed checks (0: all passed). */
static int run_in_child(int (*child)(const struct scratch *scratch, int argument), const struct scratch *scratch,
                        int argument)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(scratch, argument));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Skips without Landlock; else runs `child` in a fork on a fresh scratch directory and expects every check to pass. */
static void expect_child_passes(int (*child)(const struct scratch *scratch, int argument), int argument)
{
    if (!landlock_present())
        skip();
    struct scratch scratch;
    scratch_create(&scratch);
    assert_int_equal(run_in_child(child, &scratch, argument), 0);
    scratch_remove(&scratch);
}

static int open_errno(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static void *open_outside_thread(void *path)
{
    return (void *)(intptr_t)open_errno(path, O_RDONLY);
}

static void test_known_access_per_abi(void **state)
{
    (void)state;
    assert_int_equal(landlock_known_fs_access(0), 0);
    assert_int_equal(landlock_known_fs_access(1), (1ULL << 13) - 1);
    assert_int_equal(landlock_known_fs_access(2), (1ULL << 13) - 1 + LANDLOCK_ACCESS_FS_REFER);
    assert_int_equal(landlock_known_fs_access(3), (1ULL << 15) - 1);
    assert_int_equal(landlock_known_fs_access(4), (1ULL << 15) - 1);
    assert_int_equal(landlock_known_fs_access(5), (1ULL << 16) - 1);
    assert_int_equal(landlock_known_fs_access(7), (1ULL << 16) - 1);
}

static void test_grants_ask_only_what_the_abi_knows(void **state)
{
    (void)state;
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_READ_WRITE_FILE, 1, false),
                     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_READ_WRITE_FILE, 3, false),
                     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | TRUNCATE_ACCESS);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_DEVICE, 4, false),
                     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_DEVICE, 5, false),
                     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | IOCTL_DEV_ACCESS);
    /* A rule on a file may hold only file rights: the kernel refuses the others with EINVAL. */
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_OWN_FILES, 5, false),
                     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | TRUNCATE_ACCESS);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_PUBLISH_FILES, 5, false), 0);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_PUBLISH_FILES, 1, true),
                     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE);
    assert_int_equal(landlock_grant_access(LANDLOCK_GRANT_READ_TREE, 1, true),
                     LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_READ_FILE);
}

static void test_missing_landlock_is_reported_not_an_error(void **state)
{
    (void)state;
    const int reasons[] = {ENOSYS, EOPNOTSUPP};
    for (unsigned i = 0; i < 2; i++) {
        landlock_test_abi_override = -reasons[i];
        struct landlock_sandbox sandbox;
        struct error error = {0};
        assert_int_equal(landlock_sandbox_begin(&sandbox, true, &error), 0);
        assert_int_equal(sandbox.abi, 0);
        assert_int_equal(sandbox.unavailable_errno, reasons[i]);
        assert_int_equal(landlock_sandbox_allow(&sandbox, "/nonexistent", LANDLOCK_GRANT_READ_FILE, false, &error), 0);
        assert_int_equal(landlock_sandbox_enforce(&sandbox, &error), 0);
        /* Nothing was enforced: this process still opens what it could. */
        assert_int_equal(open_errno("/proc/self/status", O_RDONLY), 0);
    }
    landlock_test_abi_override = 0;
}

enum {
    CHECK_SETUP = 1 << 0,
    CHECK_ALLOWED_READ = 1 << 1,
    CHECK_OUTSIDE_REFUSED = 1 << 2,
    CHECK_WRITE_REFUSED = 1 << 3,
    CHECK_THREAD_REFUSED = 1 << 4,
    CHECK_PUBLISH = 1 << 5,
    CHECK_CREATE_OUTSIDE_REFUSED = 1 << 6,
    CHECK_OPEN_FD_KEPT = 1 << 7,
};

/* The child: a read rule, a publish directory, then what passes and what does not. abi: 0, or one to pretend. */
static int sandbox_child(const struct scratch *scratch, int abi)
{
    landlock_test_abi_override = abi;
    int failed = 0;
    /* Opened before enforcement: keeps its access, as the disks and the console do. */
    int held = open(scratch->outside, O_RDWR | O_CLOEXEC);
    char staged[128];
    snprintf(staged, sizeof(staged), "%s/.staged", scratch->publish);
    int staged_fd = open(staged, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    struct landlock_sandbox sandbox;
    struct error error = {0};
    if (held < 0 || staged_fd < 0 || landlock_sandbox_begin(&sandbox, false, &error) != 1 ||
        landlock_sandbox_allow(&sandbox, scratch->allowed, LANDLOCK_GRANT_READ_FILE, false, &error) < 0 ||
        landlock_sandbox_allow(&sandbox, scratch->publish, LANDLOCK_GRANT_PUBLISH_FILES, false, &error) < 0 ||
        landlock_sandbox_enforce(&sandbox, &error) < 0)
        return CHECK_SETUP;
    if (open_errno(scratch->allowed, O_RDONLY) != 0)
        failed |= CHECK_ALLOWED_READ;
    if (open_errno(scratch->outside, O_RDONLY) != EACCES)
        failed |= CHECK_OUTSIDE_REFUSED;
    if (open_errno(scratch->allowed, O_WRONLY) != EACCES)
        failed |= CHECK_WRITE_REFUSED;
    pthread_t thread;
    void *result = NULL;
    if (pthread_create(&thread, NULL, open_outside_thread, (void *)scratch->outside) != 0 ||
        pthread_join(thread, &result) != 0 || (intptr_t)result != EACCES)
        failed |= CHECK_THREAD_REFUSED;
    /* What a trace does at start and exit: rename its staged file into place, and unlink one. */
    char published[128];
    snprintf(published, sizeof(published), "%s/trace", scratch->publish);
    if (rename(staged, published) != 0 || unlink(published) != 0)
        failed |= CHECK_PUBLISH;
    char created[128];
    snprintf(created, sizeof(created), "%s/new", scratch->directory);
    if (open_errno(created, O_WRONLY | O_CREAT) != EACCES)
        failed |= CHECK_CREATE_OUTSIDE_REFUSED;
    char byte;
    if (pread(held, &byte, 1, 0) != 1 || pwrite(held, "y", 1, 0) != 1)
        failed |= CHECK_OPEN_FD_KEPT;
    close(held);
    close(staged_fd);
    return failed;
}

static void test_sandbox_refuses_outside_its_set(void **state)
{
    (void)state;
    expect_child_passes(sandbox_child, 0);
}

/*
 * Older ABIs pretended on this kernel (1 knows neither REFER nor TRUNCATE; the test host's 6.1 has 2): the same
 * sandbox, asked only what each knows, still refuses and allows the same.
 */
static void test_older_abi_sandboxes_work(void **state)
{
    (void)state;
    int newest = landlock_abi_version();
    for (int abi = 1; abi < newest; abi++)
        expect_child_passes(sandbox_child, abi);
}

static int tcp_child(const struct scratch *scratch, int refuse_tcp)
{
    (void)scratch;
    struct landlock_sandbox sandbox;
    struct error error = {0};
    if (landlock_sandbox_begin(&sandbox, refuse_tcp, &error) != 1 || landlock_sandbox_enforce(&sandbox, &error) < 0)
        return CHECK_SETUP;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(0)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof(address));
    int code = errno;
    close(fd);
    if (refuse_tcp)
        return bound == -1 && code == EACCES ? 0 : CHECK_OUTSIDE_REFUSED;
    return bound == 0 ? 0 : CHECK_ALLOWED_READ;
}

static void test_tcp_refused_only_when_asked(void **state)
{
    (void)state;
    if (landlock_abi_version() < 4)
        skip();
    assert_int_equal(run_in_child(tcp_child, NULL, 1), 0);
    assert_int_equal(run_in_child(tcp_child, NULL, 0), 0);
}

/* The VM's set: the kernel reads, the console writes, a disk reads and writes, a trace publishes; nothing else. */
static int vm_child(const struct scratch *scratch, int unused)
{
    (void)unused;
    static struct vm_config config;
    char trace[128];
    snprintf(trace, sizeof(trace), "%s/disk.trace", scratch->publish);
    config = (struct vm_config){
        .kernel_path = scratch->allowed,
        .kernel_entry = BOOT_KERNEL_ENTRY_BZIMAGE,
        .console = {.kind = CONSOLE_FILE},
        .disk_count = 1,
        .disks = {{.path = scratch->outside, .read_only = true, .trace_path = trace}},
    };
    snprintf(config.console.path, sizeof(config.console.path), "%s/console", scratch->publish);
    int console = open(config.console.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (console < 0)
        return CHECK_SETUP;
    close(console);
    struct vm_landlock landlock;
    struct error error = {0};
    if (vm_landlock_apply(&config, NULL, &landlock, &error) < 0 || landlock.state != VM_LANDLOCK_ON)
        return CHECK_SETUP;
    int failed = 0;
    if (open_errno(scratch->allowed, O_RDONLY) != 0 || open_errno(config.console.path, O_WRONLY) != 0 ||
        open_errno(scratch->outside, O_RDONLY) != 0)
        failed |= CHECK_ALLOWED_READ;
    /* The kernel is read only, the disk is readonly=on, the console is never read. */
    if (open_errno(scratch->allowed, O_RDWR) != EACCES || open_errno(scratch->outside, O_RDWR) != EACCES ||
        open_errno(config.console.path, O_RDONLY) != EACCES || open_errno("/etc/hostname", O_RDONLY) != EACCES)
        failed |= CHECK_OUTSIDE_REFUSED;
    return failed;
}

static void test_vm_set_is_the_vm_files(void **state)
{
    (void)state;
    expect_child_passes(vm_child, 0);
}

/*
 * What a reboot does with the kernel cache under the sandbox: open the cache (its base only O_PATH), find the
 * entry it booted from, store a new one; the base directory's other files stay out of reach.
 */
static int cache_child(const struct scratch *scratch, int unused)
{
    (void)unused;
    setenv("XDG_CACHE_HOME", scratch->publish, 1);
    uint8_t key[KERNEL_CACHE_HASH_SIZE] = {1};
    uint8_t other_key[KERNEL_CACHE_HASH_SIZE] = {2};
    static const uint8_t content[] = "a vmlinux, as far as the cache knows";
    struct kernel_cache cache;
    struct error error = {0};
    if (kernel_cache_open(&cache, &error) < 0 || kernel_cache_store(&cache, key, content, sizeof(content), &error) < 0)
        return CHECK_SETUP;
    kernel_cache_close(&cache);
    char beside[128];
    snprintf(beside, sizeof(beside), "%s/beside", scratch->publish);
    int fd = open(beside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return CHECK_SETUP;
    close(fd);
    static struct vm_config config;
    config = (struct vm_config){.kernel_path = scratch->allowed, .kernel_entry = BOOT_KERNEL_ENTRY_AUTO};
    struct vm_landlock landlock;
    if (vm_landlock_apply(&config, NULL, &landlock, &error) < 0 || landlock.state != VM_LANDLOCK_ON)
        return CHECK_SETUP;
    int failed = 0;
    struct kernel_cache_entry entry;
    if (kernel_cache_open(&cache, &error) < 0)
        return CHECK_ALLOWED_READ;
    if (kernel_cache_lookup(&cache, key, 1u << 20, &entry, &error) != 1 || entry.size != sizeof(content))
        failed |= CHECK_ALLOWED_READ;
    else
        kernel_cache_entry_release(&entry);
    if (kernel_cache_store(&cache, other_key, content, sizeof(content), &error) < 0)
        failed |= CHECK_PUBLISH;
    kernel_cache_close(&cache);
    if (open_errno(beside, O_RDONLY) != EACCES)
        failed |= CHECK_OUTSIDE_REFUSED;
    return failed;
}

static void test_kernel_cache_usable_under_the_sandbox(void **state)
{
    (void)state;
    expect_child_passes(cache_child, 0);
}

static void test_stats_line(void **state)
{
    (void)state;
    char line[128];
    const struct {
        struct vm_landlock landlock;
        const char *expected;
    } cases[] = {
        {{.state = VM_LANDLOCK_ON, .abi = 4}, "landlock: ABI 4, on\n"},
        {{.state = VM_LANDLOCK_UNAVAILABLE, .unavailable_errno = ENOSYS}, "landlock: not available (ENOSYS)\n"},
        {{.state = VM_LANDLOCK_UNAVAILABLE, .unavailable_errno = EOPNOTSUPP},
         "landlock: not available (EOPNOTSUPP)\n"},
        {{.state = VM_LANDLOCK_OFF}, "landlock: off (--landlock off)\n"},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *out = fmemopen(line, sizeof(line), "w");
        assert_non_null(out);
        vm_landlock_print(&cases[i].landlock, out);
        fclose(out);
        assert_string_equal(line, cases[i].expected);
    }
}

/* GET /stats says the sandbox's state when the VMM gives it, and nothing otherwise. */
static void test_stats_json_field(void **state)
{
    (void)state;
    struct vm_stats_sources sources = {.uptime_ns = 1, .landlock = "ABI 2, on"};
    size_t length = 0;
    char *text = vm_stats_render(&sources, VM_STATS_JSON, &length);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"landlock\":\"ABI 2, on\""));
    free(text);
    sources.landlock = NULL;
    text = vm_stats_render(&sources, VM_STATS_JSON, &length);
    assert_non_null(text);
    assert_null(strstr(text, "landlock"));
    free(text);
}

static void test_landlock_option(void **state)
{
    (void)state;
    char arguments[][16] = {"kestrel", "run", "--kernel", "k", "--landlock", "off"};
    char *argv[] = {arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], arguments[5], NULL};
    enum cli_command command;
    struct vm_config config;
    struct error error = {0};
    assert_int_equal(cli_parse(4, argv, &command, &config, &error), 0);
    assert_false(config.landlock_off);
    assert_int_equal(cli_parse(6, argv, &command, &config, &error), 0);
    assert_true(config.landlock_off);
    snprintf(arguments[5], sizeof(arguments[5]), "on");
    assert_int_equal(cli_parse(6, argv, &command, &config, &error), 0);
    assert_false(config.landlock_off);
    snprintf(arguments[5], sizeof(arguments[5]), "0");
    assert_int_equal(cli_parse(6, argv, &command, &config, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_string_equal(error.message, "--landlock: '0' is not on or off");
    assert_int_equal(cli_parse(5, argv, &command, &config, &error), -1);
    assert_string_equal(error.message, "--landlock needs a value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_access_per_abi),
        cmocka_unit_test(test_grants_ask_only_what_the_abi_knows),
        cmocka_unit_test(test_missing_landlock_is_reported_not_an_error),
        cmocka_unit_test(test_sandbox_refuses_outside_its_set),
        cmocka_unit_test(test_older_abi_sandboxes_work),
        cmocka_unit_test(test_tcp_refused_only_when_asked),
        cmocka_unit_test(test_vm_set_is_the_vm_files),
        cmocka_unit_test(test_kernel_cache_usable_under_the_sandbox),
        cmocka_unit_test(test_stats_line),
        cmocka_unit_test(test_stats_json_field),
        cmocka_unit_test(test_landlock_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
