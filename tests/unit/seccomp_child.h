#ifndef KESTREL_TESTS_UNIT_SECCOMP_CHILD_H
#define KESTREL_TESTS_UNIT_SECCOMP_CHILD_H

/*
 * For the seccomp tests: runs body(argument) in a forked child with the
 * filters on (sandbox_configure(true)), KESTREL_TEST_SECCOMP_VIOLATE set to
 * `violate` when not NULL; the child exits with body's result. The outcome:
 * its exit status (-1 when a signal killed it, then signal_number says which)
 * and what it wrote on stderr.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

struct seccomp_child_outcome {
    int status;
    int signal_number;
    char line[512];
};

static inline struct seccomp_child_outcome seccomp_child_run(int (*body)(void *argument), void *argument,
                                                             const char *violate)
{
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        dup2(pipe_fds[1], STDERR_FILENO);
        close(pipe_fds[0]);
        if (violate)
            setenv("KESTREL_TEST_SECCOMP_VIOLATE", violate, 1);
        struct error error;
        if (sandbox_configure(true, &error) < 0)
            _exit(3);
        /* _exit: no sanitizer exit hooks (a leak check's ptrace) under the filter. */
        _exit(body(argument));
    }
    close(pipe_fds[1]);
    struct seccomp_child_outcome outcome = {.status = -1};
    size_t used = 0;
    ssize_t got;
    while (used + 1 < sizeof(outcome.line) &&
           (got = read(pipe_fds[0], outcome.line + used, sizeof(outcome.line) - 1 - used)) > 0)
        used += (size_t)got;
    outcome.line[used] = '\0';
    close(pipe_fds[0]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (WIFEXITED(status))
        outcome.status = WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        outcome.signal_number = WTERMSIG(status);
    return outcome;
}

#endif
