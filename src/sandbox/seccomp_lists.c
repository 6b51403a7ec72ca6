#include "sandbox/seccomp_lists.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/vhost.h>
#include <linux/fs.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>

/*
 * Each list holds what its thread does and nothing else; docs/seccomp.md says
 * why each call is there. Calls are allowed with any arguments unless listed
 * among the ioctl requests, socket families or the guarded calls below.
 */
struct seccomp_list {
    const int *calls;
    size_t call_count;
    const unsigned long *ioctls;
    size_t ioctl_count;
    const int *socket_families;
    size_t socket_family_count;
    bool makes_threads; /* clone with thread flags only; clone3 answers ENOSYS so glibc uses clone */
    bool opens_read_only; /* openat for reading only (never creating, truncating or writing) */
};

/* Every thread: memory (malloc, liburing's rings), locks, its own exit, a log line, the violation line. */
static const int every_thread_calls[] = {
    SCMP_SYS(futex),        SCMP_SYS(munmap),         SCMP_SYS(madvise),    SCMP_SYS(brk),
    SCMP_SYS(mremap),       SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
    SCMP_SYS(write),        SCMP_SYS(clock_gettime),  SCMP_SYS(gettid),     SCMP_SYS(getpid),
    SCMP_SYS(sched_yield),  SCMP_SYS(exit),           SCMP_SYS(exit_group),
};

static const int vcpu_calls[] = {
    SCMP_SYS(ioctl), SCMP_SYS(read), SCMP_SYS(close), SCMP_SYS(tgkill),
};
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,         KVM_GET_REGS,   KVM_GET_SREGS, KVM_IRQ_LINE, KVM_SIGNAL_MSI,
    KVM_SET_GSI_ROUTING, KVM_IRQFD,  KVM_IOEVENTFD,
};

/*
 * An I/O thread's interrupt: its irqfd, or KVM_SIGNAL_MSI while the vector has none; a vector's MSI route is
 * set (KVM_SET_GSI_ROUTING) lazily by the first delivery after the guest wrote its table entry.
 */
static const unsigned long interrupt_ioctls[] = {KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING};
/* The serial port's receive interrupt (console) and the RTC's: ISA lines on the in-kernel PIC/IOAPIC. */
static const unsigned long irq_line_ioctls[] = {KVM_IRQ_LINE};

static const int block_io_calls[] = {
    SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register), SCMP_SYS(read),    SCMP_SYS(pread64),  SCMP_SYS(ioctl),
    SCMP_SYS(pwrite64),       SCMP_SYS(preadv),            SCMP_SYS(pwritev), SCMP_SYS(fdatasync),
    SCMP_SYS(fsync),          SCMP_SYS(poll),              SCMP_SYS(ppoll),   SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
};

static const int net_calls[] = {
    SCMP_SYS(read),       SCMP_SYS(readv),      SCMP_SYS(writev),      SCMP_SYS(poll),
    SCMP_SYS(ppoll),      SCMP_SYS(recvfrom),   SCMP_SYS(sendto),      SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),    SCMP_SYS(socket),     SCMP_SYS(connect),     SCMP_SYS(accept),
    SCMP_SYS(accept4),    SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),  SCMP_SYS(getsockname),
    SCMP_SYS(getpeername), SCMP_SYS(shutdown),  SCMP_SYS(close),       SCMP_SYS(fcntl),
    SCMP_SYS(bind),       SCMP_SYS(listen),     SCMP_SYS(ioctl),       SCMP_SYS(newfstatat),
    SCMP_SYS(fstat),      SCMP_SYS(stat),       SCMP_SYS(lseek),
};
/* TUNSETQUEUE: the driver changes its queue pairs (VIRTIO_NET_CTRL_MQ) through the control queue. */
static const unsigned long net_ioctls[] = {FIONREAD, FIONBIO, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, TUNSETQUEUE};
/* libslirp's sockets for the guest's TCP, UDP and ICMP (IPv4 and IPv6). */
static const int net_socket_families[] = {AF_INET, AF_INET6};

/* tgkill: Ctrl-A x requests a stop, which kicks each vCPU thread out of KVM_RUN with a signal (vm_stop.c). */
static const int console_calls[] = {SCMP_SYS(read), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(ioctl), SCMP_SYS(tgkill)};

static const int api_calls[] = {
    SCMP_SYS(poll),     SCMP_SYS(ppoll),   SCMP_SYS(accept),     SCMP_SYS(accept4),  SCMP_SYS(read),
    SCMP_SYS(recvfrom), SCMP_SYS(sendto),  SCMP_SYS(sendmsg),    SCMP_SYS(writev),   SCMP_SYS(close),
    SCMP_SYS(shutdown), SCMP_SYS(fcntl),   SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(ioctl),
    SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(tgkill), SCMP_SYS(pread64), SCMP_SYS(getrandom),
};
/* Pause and resume stop the guest's clock; Stop and SendCtrlAltDel raise an interrupt line. */
static const unsigned long api_ioctls[] = {FIONREAD, FIONBIO, KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_IRQ_LINE};

static const int rtc_calls[] = {SCMP_SYS(read), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(ioctl)};

static const int trace_writer_calls[] = {SCMP_SYS(read), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(pwrite64),
                                         SCMP_SYS(fdatasync), SCMP_SYS(fsync)};

/*
 * The main thread's own calls. Filter stacking makes the VMM list also the
 * union of every other list: the main thread creates the vCPU, device set-up
 * and (on a reboot) every per-boot thread after it is filtered.
 */
static const int vmm_calls[] = {
    SCMP_SYS(ioctl),      SCMP_SYS(openat),     SCMP_SYS(open),        SCMP_SYS(close),      SCMP_SYS(read),
    SCMP_SYS(pread64),    SCMP_SYS(pwrite64),   SCMP_SYS(lseek),       SCMP_SYS(fstat),      SCMP_SYS(newfstatat),
    SCMP_SYS(statx),      SCMP_SYS(fcntl),      SCMP_SYS(dup),         SCMP_SYS(dup3),       SCMP_SYS(poll),
    SCMP_SYS(ppoll),      SCMP_SYS(eventfd2),   SCMP_SYS(signalfd4),   SCMP_SYS(rt_sigaction), SCMP_SYS(tgkill),
    SCMP_SYS(kill),       SCMP_SYS(socket),     SCMP_SYS(bind),        SCMP_SYS(listen),     SCMP_SYS(accept4),
    SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(shutdown),   SCMP_SYS(unlink),
    SCMP_SYS(unlinkat),   SCMP_SYS(renameat),   SCMP_SYS(linkat),      SCMP_SYS(mkdir),      SCMP_SYS(mkdirat),
    SCMP_SYS(readlink),   SCMP_SYS(prlimit64),  SCMP_SYS(getrandom),   SCMP_SYS(fdatasync),  SCMP_SYS(fsync),
    SCMP_SYS(ftruncate),  SCMP_SYS(fallocate),  SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
    SCMP_SYS(io_uring_register), SCMP_SYS(sysinfo), SCMP_SYS(uname),  SCMP_SYS(sched_getaffinity),
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq),  SCMP_SYS(sigaltstack), SCMP_SYS(prctl),      SCMP_SYS(nanosleep),
    SCMP_SYS(seccomp),    SCMP_SYS(clock_nanosleep), SCMP_SYS(geteuid), SCMP_SYS(getuid),    SCMP_SYS(access),     SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2), SCMP_SYS(pipe2),      SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
    /* A reset makes libslirp afresh: GLib's g_rand_new seeds from getppid when /dev/urandom is out of reach. */
    SCMP_SYS(getppid),
};
static const unsigned long vmm_ioctls[] = {
    KVM_GET_API_VERSION, KVM_CREATE_VM,       KVM_CHECK_EXTENSION,   KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
    KVM_GET_MSR_INDEX_LIST, KVM_CREATE_VCPU,  KVM_CREATE_IRQCHIP,    KVM_CREATE_PIT2,        KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_USER_MEMORY_REGION, KVM_SET_CPUID2, KVM_SET_REGS,    KVM_SET_SREGS,
    KVM_SET_MSRS,        KVM_SET_FPU,         KVM_SET_LAPIC,         KVM_GET_LAPIC,          KVM_SET_CLOCK,
    KVM_GET_CLOCK,       KVM_GET_STATS_FD,    KVM_SET_GSI_ROUTING,   KVM_IRQFD,              KVM_IOEVENTFD,
    TUNSETIFF,           TUNGETIFF,           TUNGETFEATURES,        TUNSETOFFLOAD,          TUNSETVNETHDRSZ,
    TUNGETVNETHDRSZ,     TUNSETQUEUE,         SIOCGIFFLAGS,          SIOCSIFFLAGS,           SIOCGIFMTU,
    SIOCETHTOOL,         VHOST_SET_OWNER,     VHOST_GET_FEATURES,    VHOST_SET_FEATURES,     VHOST_SET_MEM_TABLE,
    VHOST_SET_VRING_NUM, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE,   VHOST_SET_VRING_KICK,
    VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND, BLKSSZGET,          BLKGETSIZE64,           TCGETS,
    TCSETS,              TCSETSW,             TCSETSF,               TIOCGWINSZ,
};
/* AF_UNIX: the API socket; AF_INET: the SIOC* interface requests on a tap. */
static const int vmm_socket_families[] = {AF_UNIX, AF_INET};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/*
 * Sanitizer builds only (kestrel-asan, kestrel-tsan, the unit tests): the
 * run-time's own calls on thread start and exit (alternate signal stacks,
 * shadow memory) and when it writes a report (it reads /proc/self/maps).
 */
static const int sanitizer_calls[] = {
    SCMP_SYS(sigaltstack), SCMP_SYS(prctl),      SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(openat),
    SCMP_SYS(read),        SCMP_SYS(close),      SCMP_SYS(readlink),  SCMP_SYS(newfstatat),   SCMP_SYS(fstat),
    SCMP_SYS(prlimit64),   SCMP_SYS(getrlimit),  SCMP_SYS(sched_getaffinity), SCMP_SYS(rt_sigaction),
    SCMP_SYS(tgkill),      SCMP_SYS(kill),       SCMP_SYS(getppid),   SCMP_SYS(dup),          SCMP_SYS(dup2),
    SCMP_SYS(dup3),        SCMP_SYS(pipe2),      SCMP_SYS(mmap),      SCMP_SYS(mprotect),     SCMP_SYS(getuid),
    SCMP_SYS(geteuid),     SCMP_SYS(uname),      SCMP_SYS(sysinfo),
};
/*
 * LeakSanitizer's check at exit runs on the main thread (vmm): a tracer task (clone without CLONE_THREAD)
 * stops every thread with ptrace and reads their stacks and registers.
 */
static const int sanitizer_vmm_calls[] = {
    SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(getdents64), SCMP_SYS(process_vm_readv),
};
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define CALLS(array) .calls = array, .call_count = sizeof(array) / sizeof(array[0])
#define IOCTLS(array) .ioctls = array, .ioctl_count = sizeof(array) / sizeof(array[0])
#define FAMILIES(array) .socket_families = array, .socket_family_count = sizeof(array) / sizeof(array[0])

static const struct seccomp_list lists[THREAD_KIND_COUNT] = {
    [THREAD_KIND_VMM] = {CALLS(vmm_calls), IOCTLS(vmm_ioctls), FAMILIES(vmm_socket_families), .makes_threads = true},
    [THREAD_KIND_VCPU] = {CALLS(vcpu_calls), IOCTLS(vcpu_ioctls)},
    [THREAD_KIND_BLOCK_IO] = {CALLS(block_io_calls), IOCTLS(interrupt_ioctls)},
    /* libslirp re-reads /etc/resolv.conf when the guest's DNS queries reach 10.0.2.3. */
    [THREAD_KIND_NET] = {CALLS(net_calls), IOCTLS(net_ioctls), FAMILIES(net_socket_families), .opens_read_only = true},
    [THREAD_KIND_CONSOLE] = {CALLS(console_calls), IOCTLS(irq_line_ioctls)},
    [THREAD_KIND_API] = {CALLS(api_calls), IOCTLS(api_ioctls)},
    [THREAD_KIND_RTC] = {CALLS(rtc_calls), IOCTLS(irq_line_ioctls)},
    [THREAD_KIND_TRACE_WRITER] = {CALLS(trace_writer_calls)},
};

static int add_calls(scmp_filter_ctx filter, const int *calls, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        /* ioctl and socket are added with their argument checks below. */
        if (calls[i] == SCMP_SYS(ioctl) || calls[i] == SCMP_SYS(socket))
            continue;
        int result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, calls[i], 0);
        if (result < 0)
            return result;
    }
    return 0;
}

static int add_list(scmp_filter_ctx filter, const struct seccomp_list *list)
{
    int result = add_calls(filter, list->calls, list->call_count);
    for (size_t i = 0; result == 0 && i < list->ioctl_count; i++)
        result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)(uint32_t)list->ioctls[i], 0));
    for (size_t i = 0; result == 0 && i < list->socket_family_count; i++)
        result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)list->socket_families[i], 0));
    return result;
}

/* Anonymous memory never executable: nothing in kestrel makes code at run time. */
static int add_memory(scmp_filter_ctx filter)
{
    if (SANITIZED)
        return 0;
    int result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (result == 0)
        result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    return result;
}

/* pthread_create's clone: a thread of this process, never a new process. */
static int add_thread_creation(scmp_filter_ctx filter)
{
    const scmp_datum_t thread_flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES | CLONE_FS;
    int result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, thread_flags, thread_flags));
    /* clone3's flags sit in memory a filter cannot read: ENOSYS sends glibc to clone. */
    if (result == 0)
        result = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return result;
}

int seccomp_lists_add(scmp_filter_ctx filter, enum thread_kind kind)
{
    int result = add_calls(filter, every_thread_calls, sizeof(every_thread_calls) / sizeof(every_thread_calls[0]));
    if (result == 0)
        result = add_memory(filter);
#if SANITIZED
    if (result == 0)
        result = add_calls(filter, sanitizer_calls, sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]));
#endif
    if (kind == THREAD_KIND_VMM) {
#if SANITIZED
        if (result == 0)
            result = add_calls(filter, sanitizer_vmm_calls, sizeof(sanitizer_vmm_calls) / sizeof(sanitizer_vmm_calls[0]));
#endif
        for (unsigned other = 0; result == 0 && other < THREAD_KIND_COUNT; other++)
            result = add_list(filter, &lists[other]);
        if (result == 0)
            result = add_thread_creation(filter);
        return result;
    }
    if (result == 0)
        result = add_list(filter, &lists[kind]);
    if (result == 0 && lists[kind].makes_threads)
        result = add_thread_creation(filter);
    if (result == 0 && lists[kind].opens_read_only)
        result = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
    return result;
}
