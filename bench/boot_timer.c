/*
 * boot_timer: runs a VMM and measures the time from exec to the moment a
 * marker string appears in its output (the guest's serial console).
 *
 *   boot_timer [--timeout SECONDS] [--log FILE] MARKER -- COMMAND [ARGS...]
 *
 * Prints the elapsed milliseconds on stdout and exits 0 when the marker is
 * seen; the VMM is then stopped (SIGTERM, SIGKILL after 2 s). Exits 1 when
 * the VMM exits without printing the marker, 3 on timeout, 2 on bad usage.
 * Everything the VMM prints (stdout and stderr) is copied to --log.
 *
 * Built and used by bench/boot-time.sh; not part of libkestrel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_MARKER_SEEN = 0, EXIT_NO_MARKER = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

static double monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: boot_timer [--timeout SECONDS] [--log FILE] MARKER -- COMMAND [ARGS...]\n");
    exit(EXIT_USAGE);
}

/* Stops the VMM's whole process group and reaps it. */
static void stop_child(pid_t child)
{
    int status;
    kill(-child, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(child, &status, WNOHANG) == child)
            return;
        usleep(10000);
    }
    kill(-child, SIGKILL);
    waitpid(child, &status, 0);
}

int main(int argc, char **argv)
{
    double timeout_seconds = 60;
    const char *log_path = NULL;
    int arg = 1;
    for (; arg < argc && strncmp(argv[arg], "--", 2) == 0 && strcmp(argv[arg], "--") != 0; arg += 2) {
        if (arg + 1 >= argc)
            usage();
        if (strcmp(argv[arg], "--timeout") == 0) {
            char *end;
            timeout_seconds = strtod(argv[arg + 1], &end);
            if (*end != '\0' || timeout_seconds <= 0) {
                fprintf(stderr, "boot_timer: bad timeout '%s'\n", argv[arg + 1]);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[arg], "--log") == 0) {
            log_path = argv[arg + 1];
        } else {
            usage();
        }
    }
    if (arg + 2 >= argc || strcmp(argv[arg + 1], "--") != 0)
        usage();
    const char *marker = argv[arg];
    size_t marker_len = strlen(marker);
    char **command = &argv[arg + 2];
    if (marker_len == 0 || marker_len > 256)
        usage();

    int log_fd = -1;
    if (log_path) {
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            fprintf(stderr, "boot_timer: cannot open %s: %s\n", log_path, strerror(errno));
            return EXIT_USAGE;
        }
    }
    int output[2];
    if (pipe2(output, O_CLOEXEC) != 0) {
        perror("boot_timer: pipe");
        return EXIT_USAGE;
    }

    double start = monotonic_ms();
    pid_t child = fork();
    if (child < 0) {
        perror("boot_timer: fork");
        return EXIT_USAGE;
    }
    if (child == 0) {
        setpgid(0, 0);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0)
            dup2(null_fd, STDIN_FILENO);
        dup2(output[1], STDOUT_FILENO);
        dup2(output[1], STDERR_FILENO);
        execvp(command[0], command);
        dprintf(output[1], "boot_timer: cannot run %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    setpgid(child, child);
    close(output[1]);

    /* window keeps the last marker_len - 1 bytes of the previous read, so a
     * marker split across two reads is still found. */
    char window[256 + 4096];
    size_t kept = 0;
    double deadline = start + timeout_seconds * 1000.0;
    for (;;) {
        double now = monotonic_ms();
        if (now >= deadline) {
            fprintf(stderr, "boot_timer: no marker within %.0f s\n", timeout_seconds);
            stop_child(child);
            return EXIT_TIMEOUT;
        }
        struct pollfd poll_fd = { .fd = output[0], .events = POLLIN };
        int ready = poll(&poll_fd, 1, (int)(deadline - now) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue;
        ssize_t got = read(output[0], window + kept, sizeof(window) - kept);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int status;
            waitpid(child, &status, 0);
            fprintf(stderr, "boot_timer: %s exited without printing the marker\n", command[0]);
            return EXIT_NO_MARKER;
        }
        double seen_at = monotonic_ms();
        if (log_fd >= 0 && write(log_fd, window + kept, (size_t)got) != got)
            fprintf(stderr, "boot_timer: short write to the log\n");
        size_t filled = kept + (size_t)got;
        if (memmem(window, filled, marker, marker_len) != NULL) {
            printf("%.1f\n", seen_at - start);
            fflush(stdout);
            stop_child(child);
            return EXIT_MARKER_SEEN;
        }
        kept = marker_len - 1 < filled ? marker_len - 1 : filled;
        memmove(window, window + filled - kept, kept);
    }
}
