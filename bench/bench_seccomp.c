/*
 * The seccomp filters' cost per system call (`make bench-seccomp`, docs/benchmarks.md "seccomp filters"):
 * the hot call of three thread kinds, made by a forked child with no filter and by one under that kind's
 * filter (src/sandbox/), alternating, median of ROUNDS rounds; ns per call and the difference.
 * The calls fail fast (a bad descriptor), so the figure is the kernel's entry and the filter, not the work.
 *
 * Usage: bench_seccomp [--quick]
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

enum { ROUNDS = 11 };

static uint64_t now_ns(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000ull + (uint64_t)time.tv_nsec;
}

static void call_kvm_run(void)
{
    ioctl(-1, KVM_RUN, 0);
}
static void call_io_uring_enter(void)
{
    syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
}
static void call_readv(void)
{
    syscall(SYS_readv, -1, NULL, 0);
}

struct hot_call {
    enum thread_kind kind;
    const char *name;
    void (*call)(void);
};

/* ns per call in a child, filtered or not; the child reports through a pipe. */
static double measure(const struct hot_call *hot, bool filtered, unsigned count)
{
    int fds[2];
    if (pipe(fds) < 0)
        exit(1);
    pid_t child = fork();
    if (child == 0) {
        struct error error;
        if (filtered && sandbox_configure(true, &error) < 0)
            _exit(1);
        if (filtered)
            sandbox_thread_enter(hot->kind);
        uint64_t start = now_ns();
        for (unsigned i = 0; i < count; i++)
            hot->call();
        double per_call = (double)(now_ns() - start) / count;
        if (write(fds[1], &per_call, sizeof(per_call)) != (ssize_t)sizeof(per_call))
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    double per_call = -1;
    if (read(fds[0], &per_call, sizeof(per_call)) != (ssize_t)sizeof(per_call)) {
        fprintf(stderr, "bench_seccomp: a child failed\n");
        exit(1);
    }
    close(fds[0]);
    waitpid(child, NULL, 0);
    return per_call;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    unsigned count = quick ? 100000 : 1000000;
    const struct hot_call calls[] = {
        {THREAD_KIND_VCPU, "vcpu: ioctl(KVM_RUN)", call_kvm_run},
        {THREAD_KIND_BLOCK_IO, "block-io: io_uring_enter", call_io_uring_enter},
        {THREAD_KIND_NET, "net: readv", call_readv},
    };
    printf("seccomp filters: ns per system call (a bad descriptor), %u calls per round, median of %d rounds\n\n"
           "| thread kind: call | no filter (ns) | filter (ns) | filter's cost (ns) |\n|---|---:|---:|---:|\n",
           count, ROUNDS);
    for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
        double off[ROUNDS], on[ROUNDS];
        for (unsigned round = 0; round < ROUNDS; round++) {
            off[round] = measure(&calls[c], false, count);
            on[round] = measure(&calls[c], true, count);
        }
        qsort(off, ROUNDS, sizeof(double), compare_double);
        qsort(on, ROUNDS, sizeof(double), compare_double);
        printf("| %s | %.1f | %.1f | %.1f |\n", calls[c].name, off[ROUNDS / 2], on[ROUNDS / 2],
               on[ROUNDS / 2] - off[ROUNDS / 2]);
    }
    return 0;
}
