/*
 * exec_launcher: runs a program with KESTREL_EXEC_TIME_NS set to the
 * CLOCK_MONOTONIC time taken just before its execve, so that kestrel's
 * --stats can report exec -> first KVM_RUN.
 *
 *   exec_launcher [--term-after MS] -- COMMAND [ARGS...]
 *
 * With --term-after the program gets SIGTERM after MS milliseconds (if still
 * running). On exit, prints one line on stdout:
 *   exec-to-exit X.XXX ms status N
 * (N is the exit status, or 128 + the signal that killed it). Exits 2 on
 * bad usage or when the program cannot be started.
 *
 * Built and used by bench/vmm-overhead.sh; not part of libkestrel.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: exec_launcher [--term-after MS] -- COMMAND [ARGS...]\n");
    exit(2);
}

int main(int argc, char *argv[])
{
    long term_after_ms = -1;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--term-after") == 0 && i + 1 < argc) {
            char *end;
            term_after_ms = strtol(argv[++i], &end, 10);
            if (*end != '\0' || term_after_ms < 0)
                usage();
        } else {
            usage();
        }
    }
    if (i + 1 >= argc)
        usage();
    char **command = &argv[i + 1];

    /* The child writes its exec time here, so exec-to-exit excludes fork. */
    uint64_t *exec_time = mmap(NULL, sizeof(*exec_time), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (exec_time == MAP_FAILED) {
        perror("exec_launcher: mmap");
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("exec_launcher: fork");
        return 2;
    }
    if (child == 0) {
        char value[32];
        uint64_t now = monotonic_ns();
        snprintf(value, sizeof(value), "%llu", (unsigned long long)now);
        setenv("KESTREL_EXEC_TIME_NS", value, 1);
        *exec_time = now;
        execvp(command[0], command);
        fprintf(stderr, "exec_launcher: %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (term_after_ms >= 0) {
        uint64_t deadline = monotonic_ns() + (uint64_t)term_after_ms * 1000000ull;
        for (;;) {
            pid_t done = waitpid(child, &status, WNOHANG);
            if (done == child)
                goto exited;
            if (monotonic_ns() >= deadline)
                break;
            usleep(1000);
        }
        kill(child, SIGTERM);
    }
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("exec_launcher: waitpid");
            return 2;
        }
    }
exited:;
    uint64_t end = monotonic_ns();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("exec-to-exit %.3f ms status %d\n", (double)(end - *exec_time) / 1e6, code);
    return code == 127 ? 2 : 0;
}
