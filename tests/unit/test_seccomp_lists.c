#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "seccomp_child.h"

/*
 * Each thread kind's list in a forked child: the child enters the kind (the
 * filter on), makes one call, and ends with _exit(0) (no sanitizer exit
 * hooks under the filter). A call outside the list must end the child with
 * status 1 and the one line naming the kind and the call.
 */
struct kind_call {
    enum thread_kind kind;
    void (*call)(void);
};

static int enter_and_call(void *argument)
{
    const struct kind_call *kind_call = argument;
    sandbox_thread_enter(kind_call->kind);
    kind_call->call();
    return 0;
}

static struct seccomp_child_outcome run_in_child(enum thread_kind kind, void (*call)(void))
{
    struct kind_call kind_call = {kind, call};
    return seccomp_child_run(enter_and_call, &kind_call, NULL);
}

static void expect_allowed(enum thread_kind kind, void (*call)(void))
{
    struct seccomp_child_outcome outcome = run_in_child(kind, call);
    if (outcome.status != 0)
        fail_msg("%s: status %d, stderr '%s'", thread_kind_name(kind), outcome.status, outcome.line);
}

static void expect_killed(enum thread_kind kind, void (*call)(void), const char *call_name)
{
    struct seccomp_child_outcome outcome = run_in_child(kind, call);
    if (outcome.status != 1)
        fail_msg("%s: status %d (signal %d), stderr '%s'", thread_kind_name(kind), outcome.status,
                 outcome.signal_number, outcome.line);
    char expected[200];
    snprintf(expected, sizeof(expected), "kestrel: seccomp: %s thread made a forbidden system call: %s\n",
             thread_kind_name(kind), call_name);
    assert_int_equal(outcome.status, 1);
    assert_string_equal(outcome.line, expected);
}

static void call_acct(void)
{
    syscall(SYS_acct, NULL);
}
static void call_write_and_getpid(void)
{
    if (write(STDOUT_FILENO, "", 0) < 0 || getpid() <= 0)
        _exit(4);
}
static void call_kvm_run(void)
{
    /* An allowed request on a descriptor that is not a vCPU: EBADF, but not a trap. */
    if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
        _exit(4);
}
static void call_kvm_create_vm(void)
{
    ioctl(-1, KVM_CREATE_VM, 0);
}
static void call_irq_line(void)
{
    if (ioctl(-1, KVM_IRQ_LINE, 0) != -1 || errno != EBADF)
        _exit(4);
}
static void call_signal_msi(void)
{
    if (ioctl(-1, KVM_SIGNAL_MSI, 0) != -1 || errno != EBADF)
        _exit(4);
}
static void call_set_gsi_routing(void)
{
    if (ioctl(-1, KVM_SET_GSI_ROUTING, 0) != -1 || errno != EBADF)
        _exit(4);
}
static __attribute__((unused)) void call_fork(void)
{
    if (fork() == 0)
        _exit(0);
}
static void call_socket_inet(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        _exit(4);
    close(fd);
}
static void call_socket_unix(void)
{
    socket(AF_UNIX, SOCK_STREAM, 0);
}
static void call_openat(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        _exit(4);
    close(fd);
}
static __attribute__((unused)) void call_open_for_writing(void)
{
    open("/dev/null", O_WRONLY);
}
static void call_io_uring_enter(void)
{
    if (syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) != -1 || errno != EBADF)
        _exit(4);
}
static void *thread_body(void *unused)
{
    return unused;
}
static void call_pthread_create(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_body, NULL) != 0 || pthread_join(thread, NULL) != 0)
        _exit(4);
}

static void test_every_kind_traps_a_call_off_its_list(void **state)
{
    (void)state;
    for (unsigned kind = 0; kind < THREAD_KIND_COUNT; kind++) {
        expect_allowed((enum thread_kind)kind, call_write_and_getpid);
        expect_killed((enum thread_kind)kind, call_acct, "acct (163)");
    }
}

static void test_vcpu_ioctls_by_request(void **state)
{
    (void)state;
    expect_allowed(THREAD_KIND_VCPU, call_kvm_run);
    expect_killed(THREAD_KIND_VCPU, call_kvm_create_vm, "ioctl (16), request 44545");
    expect_allowed(THREAD_KIND_VMM, call_kvm_create_vm);
    /* The API pauses the VM, it never runs it. */
    expect_killed(THREAD_KIND_API, call_kvm_run, "ioctl (16), request 44672");
    /* Interrupts: the console's and the RTC's ISA lines, the I/O threads' MSIs without an irqfd. */
    expect_allowed(THREAD_KIND_CONSOLE, call_irq_line);
    expect_allowed(THREAD_KIND_RTC, call_irq_line);
    expect_allowed(THREAD_KIND_BLOCK_IO, call_signal_msi);
    expect_allowed(THREAD_KIND_NET, call_signal_msi);
    expect_allowed(THREAD_KIND_BLOCK_IO, call_set_gsi_routing);
    expect_allowed(THREAD_KIND_NET, call_set_gsi_routing);
    expect_killed(THREAD_KIND_BLOCK_IO, call_kvm_run, "ioctl (16), request 44672");
    expect_killed(THREAD_KIND_TRACE_WRITER, call_irq_line, "ioctl (16), request 1074310753");
}

static void test_only_the_vmm_makes_threads_and_nobody_forks(void **state)
{
    (void)state;
    expect_allowed(THREAD_KIND_VMM, call_pthread_create);
    /*
     * glibc blocks every signal around its clone, and the kernel kills a thread whose trap signal is
     * blocked outright: no line, but the process still dies of SIGSYS (docs/seccomp.md).
     */
    struct seccomp_child_outcome outcome = run_in_child(THREAD_KIND_VCPU, call_pthread_create);
    assert_int_equal(outcome.signal_number, SIGSYS);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* Sanitizer builds let the VMM clone a process: LeakSanitizer's tracer at exit. */
    expect_killed(THREAD_KIND_VMM, call_fork, "clone (56)");
#endif
    expect_killed(THREAD_KIND_NET, call_fork, "clone (56)");
}

static void test_socket_families(void **state)
{
    (void)state;
    expect_allowed(THREAD_KIND_NET, call_socket_inet);
    expect_killed(THREAD_KIND_NET, call_socket_unix, "socket (41)");
    expect_killed(THREAD_KIND_VCPU, call_socket_inet, "socket (41)");
}

static void test_io_threads_keep_to_their_jobs(void **state)
{
    (void)state;
    expect_allowed(THREAD_KIND_BLOCK_IO, call_io_uring_enter);
    expect_killed(THREAD_KIND_NET, call_io_uring_enter, "io_uring_enter (426)");
    expect_killed(THREAD_KIND_VCPU, call_io_uring_enter, "io_uring_enter (426)");
    expect_allowed(THREAD_KIND_VMM, call_openat);
    /* libslirp reads /etc/resolv.conf on the net thread; it may open nothing for writing. */
    expect_allowed(THREAD_KIND_NET, call_openat);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* Sanitizer builds allow any openat: their run-times read /proc/self/maps for a report. */
    expect_killed(THREAD_KIND_NET, call_open_for_writing, "openat (257)");
    expect_killed(THREAD_KIND_BLOCK_IO, call_openat, "openat (257)");
#endif
    expect_killed(THREAD_KIND_RTC, call_socket_inet, "socket (41)");
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(thread_kind_name(THREAD_KIND_BLOCK_IO), "block-io");
    assert_string_equal(thread_kind_name(THREAD_KIND_TRACE_WRITER), "trace-writer");
    assert_string_equal(thread_kind_name(THREAD_KIND_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_traps_a_call_off_its_list),
        cmocka_unit_test(test_vcpu_ioctls_by_request),
        cmocka_unit_test(test_only_the_vmm_makes_threads_and_nobody_forks),
        cmocka_unit_test(test_socket_families),
        cmocka_unit_test(test_io_threads_keep_to_their_jobs),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests_name("seccomp_lists", tests, NULL, NULL);
}
