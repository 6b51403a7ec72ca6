#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox/seccomp_lists.h"
#include "util/log.h"

/* x86-64 numbers stay below this; a higher one is printed by number only. */
#define SYSCALL_NAMES 512
#define SYSCALL_NAME_MAX 32

static bool filters_enabled;
static char syscall_names[SYSCALL_NAMES][SYSCALL_NAME_MAX];
static char violation_prefixes[THREAD_KIND_COUNT][96];
static _Thread_local enum thread_kind current_kind = THREAD_KIND_VMM;
#ifdef KESTREL_TEST_SEAMS
static int violating_kind = -1; /* KESTREL_TEST_SECCOMP_VIOLATE */
#endif

static const char *const kind_names[THREAD_KIND_COUNT] = {
    [THREAD_KIND_VMM] = "vmm",         [THREAD_KIND_VCPU] = "vcpu",   [THREAD_KIND_BLOCK_IO] = "block-io",
    [THREAD_KIND_NET] = "net",         [THREAD_KIND_CONSOLE] = "console", [THREAD_KIND_API] = "api",
    [THREAD_KIND_RTC] = "rtc",         [THREAD_KIND_TRACE_WRITER] = "trace-writer",
};

const char *thread_kind_name(enum thread_kind kind)
{
    return (unsigned)kind < THREAD_KIND_COUNT ? kind_names[kind] : "unknown";
}

enum thread_kind sandbox_thread_kind(void)
{
    return current_kind;
}

static size_t append(char *line, size_t used, size_t capacity, const char *text)
{
    while (*text && used + 1 < capacity)
        line[used++] = *text++;
    return used;
}

static size_t append_number(char *line, size_t used, size_t capacity, unsigned long value)
{
    char digits[24];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value && count < sizeof(digits));
    while (count && used + 1 < capacity)
        line[used++] = digits[--count];
    return used;
}

/*
 * SIGSYS from a filter's trap: one line from what was built before any filter
 * (no allocation, no stdio: async-signal-safe calls only), then the whole
 * process ends, since a thread that strays is no longer trusted.
 */
static void on_violation(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number;
    char line[160];
    enum thread_kind kind = current_kind;
    size_t used = append(line, 0, sizeof(line), violation_prefixes[(unsigned)kind < THREAD_KIND_COUNT ? kind : 0]);
    unsigned long number = (unsigned long)(unsigned)info->si_syscall;
    if (number < SYSCALL_NAMES && syscall_names[number][0]) {
        used = append(line, used, sizeof(line), syscall_names[number]);
        used = append(line, used, sizeof(line), " (");
    } else {
        used = append(line, used, sizeof(line), "system call (");
    }
    used = append_number(line, used, sizeof(line), number);
    used = append(line, used, sizeof(line), ")");
    /* Which request: a list allows ioctl by request number. */
    if (number == SYS_ioctl && context) {
        used = append(line, used, sizeof(line), ", request ");
        used = append_number(line, used, sizeof(line), (unsigned long)((ucontext_t *)context)->uc_mcontext.gregs[REG_RSI]);
    }
    used = append(line, used, sizeof(line), "\n");
    ssize_t ignored = write(STDERR_FILENO, line, used);
    (void)ignored;
    syscall(SYS_exit_group, 1);
}

static void build_lines(void)
{
    for (unsigned kind = 0; kind < THREAD_KIND_COUNT; kind++)
        snprintf(violation_prefixes[kind], sizeof(violation_prefixes[kind]),
                 "kestrel: seccomp: %s thread made a forbidden system call: ", kind_names[kind]);
    for (int number = 0; number < SYSCALL_NAMES; number++) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
        if (name)
            snprintf(syscall_names[number], SYSCALL_NAME_MAX, "%s", name);
        free(name);
    }
}

static int forbid_new_privileges(struct error *error);
static int compile_programs(unsigned *failed_kind);

/*
 * libseccomp builds the eight filters in about 1 ms, a fifth of kestrel's start: a thread does it while the main
 * thread loads the images and opens the devices, and sandbox_configure takes the result. The thread only computes
 * (no guest exists yet, nothing of the user's is read) and is joined before Landlock and before any guest code.
 */
static pthread_t compile_thread;
static bool compile_thread_started;
static int compile_result;
static unsigned compile_failed_kind;

static void *compile_in_thread(void *unused)
{
    (void)unused;
    build_lines();
    compile_result = compile_programs(&compile_failed_kind);
    return NULL;
}

void sandbox_compile_start(bool enabled)
{
    if (!enabled || compile_thread_started)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    compile_thread_started = pthread_create(&compile_thread, NULL, compile_in_thread, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void sandbox_compile_wait(void)
{
    if (!compile_thread_started)
        return;
    pthread_join(compile_thread, NULL);
    compile_thread_started = false;
    /*
     * libseccomp's working memory was malloc'd in the thread's own arena and freed there; trimmed, its pages leave
     * the VMM's RSS (about 300 KiB by the reboot bench's boot-1 sample) instead of staying for the VM's lifetime.
     */
    malloc_trim(0);
}

int sandbox_configure(bool enabled, struct error *error)
{
    filters_enabled = enabled;
    if (!enabled) {
        log_warn("--seccomp off: kestrel's threads run without system call filters");
        return 0;
    }
    int result;
    unsigned failed_kind = 0;
    if (compile_thread_started) {
        sandbox_compile_wait();
        result = compile_result;
        failed_kind = compile_failed_kind;
    } else {
        build_lines();
        result = compile_programs(&failed_kind);
    }
    if (result < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "seccomp: cannot build the %s thread's filter: %s",
                         kind_names[failed_kind], strerror(-result));
    if (forbid_new_privileges(error) < 0)
        return -1;
    /* The time zone read now: libmicrohttpd's Date header would open /etc/localtime on the API thread. */
    tzset();
    struct sigaction action = {.sa_sigaction = on_violation, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSYS, &action, NULL) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "seccomp: cannot handle SIGSYS: %s", strerror(errno));
#ifdef KESTREL_TEST_SEAMS
    const char *violate = getenv("KESTREL_TEST_SECCOMP_VIOLATE");
    for (unsigned kind = 0; violate && kind < THREAD_KIND_COUNT; kind++)
        if (strcmp(violate, kind_names[kind]) == 0)
            violating_kind = (int)kind;
#endif
    return 0;
}

/*
 * Each kind's filter is built by libseccomp once, in sandbox_configure, and kept as BPF: a thread's start then
 * only loads its program (one seccomp call), and no thread builds filters with malloc in its own arena, which
 * grew RSS by about 13 KiB per boot over a run of reboots.
 */
static struct sock_fprog programs[THREAD_KIND_COUNT];

static scmp_filter_ctx build(enum thread_kind kind)
{
#ifdef __SANITIZE_ADDRESS__
    /*
     * ASan builds: LeakSanitizer's check at exit runs on the main thread and its tracer task trips the VMM list
     * (it then waits for the tracer forever), so there the VMM filter only traps the test seam's call.
     */
    if (kind == THREAD_KIND_VMM) {
        scmp_filter_ctx open_filter = seccomp_init(SCMP_ACT_ALLOW);
        if (open_filter && seccomp_rule_add(open_filter, SCMP_ACT_TRAP, SCMP_SYS(acct), 0) < 0) {
            seccomp_release(open_filter);
            return NULL;
        }
        return open_filter;
    }
#endif
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_TRAP);
    if (!filter)
        return NULL;
    /* A binary tree of the allowed calls rather than a chain: a hot call need not pass every rule before it. */
    (void)seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (seccomp_lists_add(filter, kind) < 0) {
        seccomp_release(filter);
        return NULL;
    }
    return filter;
}

/* libseccomp 2.5 exports BPF only to a file descriptor: a memfd, read back whole. */
static int compile(enum thread_kind kind, struct sock_fprog *program)
{
    scmp_filter_ctx filter = build(kind);
    if (!filter)
        return -ENOMEM;
    int result = 0;
    int fd = memfd_create("kestrel-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        result = -errno;
    if (result == 0)
        result = seccomp_export_bpf(filter, fd);
    seccomp_release(filter);
    off_t size = result == 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (result == 0 && (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
                        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS))
        result = -E2BIG;
    struct sock_filter *instructions = result == 0 ? malloc((size_t)size) : NULL;
    if (result == 0 && !instructions)
        result = -ENOMEM;
    if (result == 0 && pread(fd, instructions, (size_t)size, 0) != size)
        result = -EIO;
    if (fd >= 0)
        close(fd);
    if (result < 0) {
        free(instructions);
        return result;
    }
    free(program->filter);
    program->filter = instructions;
    program->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    return 0;
}

static int compile_programs(unsigned *failed_kind)
{
    for (unsigned kind = 0; kind < THREAD_KIND_COUNT; kind++) {
        int result = compile((enum thread_kind)kind, &programs[kind]);
        if (result < 0) {
            *failed_kind = kind;
            return result;
        }
    }
    return 0;
}

static int forbid_new_privileges(struct error *error)
{
    /* Inherited by every thread started from here on; a filter needs it without CAP_SYS_ADMIN. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    return 0;
}

/* Per thread: the others keep their own filters (no TSYNC). */
static int install(enum thread_kind kind)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &programs[kind]) < 0)
        return -errno;
    return 0;
}

void sandbox_thread_enter(enum thread_kind kind)
{
    current_kind = kind;
    if (!filters_enabled)
        return;
    /* A trap on a thread that blocks SIGSYS (the RTC's blocks all) would kill without the line. */
    sigset_t trap;
    sigemptyset(&trap);
    sigaddset(&trap, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &trap, NULL);
    int result = install(kind);
    if (result < 0) {
        log_error("seccomp: cannot filter a %s thread: %s", kind_names[kind], strerror(-result));
        _exit(EXIT_STATUS_FAILURE);
    }
#ifdef KESTREL_TEST_SEAMS
    /* acct is on no list (ptrace is, in sanitizer builds): the trap must name this thread's kind and the call. */
    if (violating_kind == (int)kind)
        syscall(SYS_acct, NULL);
#endif
}
