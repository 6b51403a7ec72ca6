/*
 * boot_timer: runs a VMM and measures the time from exec to the moment a
 * marker string appears in its output (the guest's serial console).
 *
 *   boot_timer [--timeout SECONDS] [--log FILE] [--end END_MARKER] MARKER -- COMMAND [ARGS...]
 *
 * Prints the elapsed milliseconds on stdout and exits 0 when MARKER is seen.
 * With --end, the output after MARKER keeps going to the log until
 * END_MARKER appears (the guest's dmesg, printed once the time is taken), the
 * VMM exits, or the timeout (counted again from MARKER); without it the VMM is stopped at once. Stopping
 * is SIGTERM to the VMM's process group, then reading its output to the end
 * (so that kestrel's --stats lines reach the log), SIGKILL after 3 s. Exits 1
 * when the VMM exits without printing MARKER, 3 on timeout, 2 on bad usage.
 * Everything the VMM prints (stdout and stderr) is copied to --log.
 *
 * The child gets KESTREL_EXEC_TIME_NS = the CLOCK_MONOTONIC time the
 * measurement starts from, so kestrel --stats reports exec -> first KVM_RUN
 * from the same origin as the wall time printed here (other VMMs ignore it).
 *
 * Built and used by bench/boot-time.sh; not part of libkestrel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_MARKER_SEEN = 0, EXIT_NO_MARKER = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };
enum { MARKER_MAX = 256 };

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: boot_timer [--timeout SECONDS] [--log FILE] [--end END_MARKER] MARKER -- COMMAND [ARGS...]\n");
    exit(EXIT_USAGE);
}

/* The VMM's output as it is read: copied to the log, searched for a marker. */
struct output_reader {
    int fd;
    int log_fd;
    /* window keeps the last MARKER_MAX - 1 bytes of the previous read, so a
     * marker split across two reads is still found. */
    char window[MARKER_MAX + 4096];
    size_t kept;
};

enum read_result { READ_MARKER, READ_EOF, READ_TIMEOUT };

/* Reads until MARKER (NULL: until end of output) or DEADLINE_NS. */
static enum read_result output_read_until(struct output_reader *reader, const char *marker, uint64_t deadline_ns)
{
    size_t marker_len = marker ? strlen(marker) : 0;
    /* The previous marker's read may already hold this one. */
    if (marker && memmem(reader->window, reader->kept, marker, marker_len) != NULL) {
        reader->kept = 0;
        return READ_MARKER;
    }
    for (;;) {
        uint64_t now = monotonic_ns();
        if (now >= deadline_ns)
            return READ_TIMEOUT;
        struct pollfd poll_fd = { .fd = reader->fd, .events = POLLIN };
        int ready = poll(&poll_fd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
        if (ready <= 0)
            continue;
        ssize_t got = read(reader->fd, reader->window + reader->kept, sizeof(reader->window) - reader->kept);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return READ_EOF;
        if (reader->log_fd >= 0 && write(reader->log_fd, reader->window + reader->kept, (size_t)got) != got)
            fprintf(stderr, "boot_timer: short write to the log\n");
        size_t filled = reader->kept + (size_t)got;
        const char *found = marker ? memmem(reader->window, filled, marker, marker_len) : NULL;
        if (found) {
            /* What follows the marker is kept for the next search. */
            const char *rest = found + marker_len;
            reader->kept = (size_t)(reader->window + filled - rest);
            memmove(reader->window, rest, reader->kept);
            return READ_MARKER;
        }
        size_t keep = marker_len > 0 ? marker_len - 1 : 0;
        reader->kept = keep < filled ? keep : filled;
        memmove(reader->window, reader->window + filled - reader->kept, reader->kept);
    }
}

/* Stops the VMM's whole process group, keeps logging what it still prints
 * (kestrel's --stats at SIGTERM), and reaps it. */
static void stop_child(pid_t child, struct output_reader *reader)
{
    int status;
    kill(-child, SIGTERM);
    output_read_until(reader, NULL, monotonic_ns() + 3000000000ull);
    if (waitpid(child, &status, WNOHANG) == child)
        return;
    kill(-child, SIGKILL);
    waitpid(child, &status, 0);
}

int main(int argc, char **argv)
{
    double timeout_seconds = 60;
    const char *log_path = NULL;
    const char *end_marker = NULL;
    int arg = 1;
    for (; arg < argc && strncmp(argv[arg], "--", 2) == 0 && strcmp(argv[arg], "--") != 0; arg += 2) {
        if (arg + 1 >= argc)
            usage();
        if (strcmp(argv[arg], "--timeout") == 0) {
            char *end;
            timeout_seconds = strtod(argv[arg + 1], &end);
            if (*end != '\0' || !(timeout_seconds > 0 && timeout_seconds < 86400)) {
                fprintf(stderr, "boot_timer: bad timeout '%s'\n", argv[arg + 1]);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[arg], "--log") == 0) {
            log_path = argv[arg + 1];
        } else if (strcmp(argv[arg], "--end") == 0) {
            end_marker = argv[arg + 1];
        } else {
            usage();
        }
    }
    if (arg + 2 >= argc || strcmp(argv[arg + 1], "--") != 0)
        usage();
    const char *marker = argv[arg];
    char **command = &argv[arg + 2];
    if (strlen(marker) == 0 || strlen(marker) >= MARKER_MAX ||
        (end_marker && (strlen(end_marker) == 0 || strlen(end_marker) >= MARKER_MAX)))
        usage();

    struct output_reader reader = { .log_fd = -1 };
    if (log_path) {
        reader.log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (reader.log_fd < 0) {
            fprintf(stderr, "boot_timer: cannot open %s: %s\n", log_path, strerror(errno));
            return EXIT_USAGE;
        }
    }
    int output[2];
    if (pipe2(output, O_CLOEXEC) != 0) {
        perror("boot_timer: pipe");
        return EXIT_USAGE;
    }

    uint64_t start = monotonic_ns();
    char exec_time[32];
    snprintf(exec_time, sizeof(exec_time), "%" PRIu64, start);
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
        setenv("KESTREL_EXEC_TIME_NS", exec_time, 1);
        execvp(command[0], command);
        dprintf(output[1], "boot_timer: cannot run %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    setpgid(child, child);
    close(output[1]);
    reader.fd = output[0];

    uint64_t deadline = start + (uint64_t)(timeout_seconds * 1e9);
    switch (output_read_until(&reader, marker, deadline)) {
    case READ_MARKER:
        break;
    case READ_EOF: {
        int status;
        waitpid(child, &status, 0);
        fprintf(stderr, "boot_timer: %s exited without printing the marker\n", command[0]);
        return EXIT_NO_MARKER;
    }
    case READ_TIMEOUT:
        fprintf(stderr, "boot_timer: no marker within %.0f s\n", timeout_seconds);
        stop_child(child, &reader);
        return EXIT_TIMEOUT;
    }
    printf("%.1f\n", (double)(monotonic_ns() - start) / 1e6);
    fflush(stdout);
    /* The output after the marker gets a timeout of its own: a slow console
     * must not turn a measured boot into a failure. */
    if (end_marker && output_read_until(&reader, end_marker, monotonic_ns() + (uint64_t)(timeout_seconds * 1e9)) ==
                          READ_TIMEOUT)
        fprintf(stderr, "boot_timer: no end marker within %.0f s (the time stands)\n", timeout_seconds);
    stop_child(child, &reader);
    return EXIT_MARKER_SEEN;
}
