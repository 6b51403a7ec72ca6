#include "devices/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "sandbox/sandbox.h"

/* The terminal as we found it. Plain globals so console_restore() can run
 * from a signal handler: it reads them and calls tcsetattr, nothing else. */
static struct termios saved_termios;
static volatile sig_atomic_t saved_termios_valid;
static int saved_termios_fd = -1;
static bool restore_registered;

void console_restore(void)
{
    if (saved_termios_valid)
        tcsetattr(saved_termios_fd, TCSANOW, &saved_termios);
}

/* Termination signals reach the VMM through its signalfd and end in
 * console_close(); these are the ones that kill the process on the spot. */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction previous_crash_actions[sizeof(crash_signals) / sizeof(crash_signals[0])];

static void console_crash_handler(int signal_number, siginfo_t *info, void *context)
{
    (void)context;
    console_restore();
    /* Hand the signal to whoever had it before (the default action, or a
     * sanitizer's reporter): a fault re-executes and faults again; a sent
     * signal (kill, raise, abort) is raised again. */
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
        if (crash_signals[i] == signal_number) {
            sigaction(signal_number, &previous_crash_actions[i], NULL);
            break;
        }
    }
    if (info->si_code <= 0)
        raise(signal_number);
}

static void console_install_crash_restore(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = console_crash_handler;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
        sigaction(crash_signals[i], &action, &previous_crash_actions[i]);
}

int console_parse_spec(const char *text, struct console_spec *spec, struct error *error)
{
    memset(spec, 0, sizeof(*spec));
    if (!text)
        text = "";
    if (strcmp(text, "stdio") == 0) {
        spec->kind = CONSOLE_STDIO;
        return 0;
    }
    if (strcmp(text, "none") == 0) {
        spec->kind = CONSOLE_NONE;
        return 0;
    }
    static const char file_prefix[] = "file:";
    if (strncmp(text, file_prefix, sizeof(file_prefix) - 1) == 0) {
        const char *path = text + sizeof(file_prefix) - 1;
        if (path[0] == '\0')
            return error_set(error, EXIT_STATUS_USAGE, "--console file: needs a path (file:PATH)");
        if (strlen(path) >= sizeof(spec->path))
            return error_set(error, EXIT_STATUS_USAGE, "--console file path is too long");
        spec->kind = CONSOLE_FILE;
        strcpy(spec->path, path);
        return 0;
    }
    return error_set(error, EXIT_STATUS_USAGE, "unknown console '%.64s' (expected stdio, none or file:PATH)", text);
}

size_t console_escape_filter(struct console_escape *escape, const uint8_t *in, size_t length, uint8_t *out,
                             enum console_escape_action *action)
{
    size_t written = 0;
    *action = CONSOLE_ESCAPE_NONE;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = in[i];
        if (!escape->after_escape) {
            if (byte == CONSOLE_ESCAPE_CHAR)
                escape->after_escape = true;
            else
                out[written++] = byte;
            continue;
        }
        escape->after_escape = false;
        if (byte == CONSOLE_ESCAPE_CHAR) {
            out[written++] = byte;
        } else if (byte == 'x' || byte == 'X') {
            *action = CONSOLE_ESCAPE_QUIT;
            return written;
        } else if (byte == 'h' || byte == 'H' || byte == '?') {
            *action = CONSOLE_ESCAPE_HELP;
        }
        /* Any other byte after Ctrl-A is swallowed with it. */
    }
    return written;
}

static int console_make_raw(int fd, struct error *error)
{
    struct termios raw;
    if (tcgetattr(fd, &saved_termios) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "console: tcgetattr: %s", strerror(errno));
    saved_termios_fd = fd;
    raw = saved_termios;
    cfmakeraw(&raw);
    /* Keep output processing so host-side messages ("\n") still start a new line. */
    raw.c_oflag |= OPOST | ONLCR;
    saved_termios_valid = 1;
    if (!restore_registered) {
        atexit(console_restore);
        console_install_crash_restore();
        restore_registered = true;
    }
    if (tcsetattr(fd, TCSANOW, &raw) < 0) {
        saved_termios_valid = 0;
        return error_set(error, EXIT_STATUS_FAILURE, "console: cannot set raw mode: %s", strerror(errno));
    }
    return 0;
}

int console_open_fds(struct console *console, const struct platform *platform, int input_fd, int output_fd,
                     bool escape_enabled, struct error *error)
{
    memset(console, 0, sizeof(*console));
    console->kind = CONSOLE_STDIO;
    console->platform = platform;
    console->input_fd = input_fd;
    console->output_fd = output_fd;
    console->escape_enabled = escape_enabled;
    console->wake_fd = -1;
    atomic_init(&console->stopping, false);
    if (input_fd >= 0) {
        console->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (console->wake_fd < 0)
            return error_set(error, EXIT_STATUS_FAILURE, "console: eventfd: %s", strerror(errno));
    }
    return 0;
}

/* A reader that goes away (kestrel | head) must turn into EPIPE on the
 * UART's write, which it handles, not into a silent death by SIGPIPE with the
 * terminal left raw. Only the default disposition is replaced. */
static void console_ignore_sigpipe(void)
{
    struct sigaction current;
    if (sigaction(SIGPIPE, NULL, &current) == 0 && current.sa_handler == SIG_DFL &&
        !(current.sa_flags & SA_SIGINFO)) {
        struct sigaction ignore;
        memset(&ignore, 0, sizeof(ignore));
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, NULL);
    }
}

int console_open(struct console *console, const struct console_spec *spec, const struct platform *platform,
                 struct error *error)
{
    if (spec->kind != CONSOLE_NONE)
        console_ignore_sigpipe();
    switch (spec->kind) {
    case CONSOLE_STDIO: {
        bool tty = isatty(STDIN_FILENO);
        if (console_open_fds(console, platform, STDIN_FILENO, STDOUT_FILENO, tty, error) < 0)
            return -1;
        if (tty && console_make_raw(STDIN_FILENO, error) < 0) {
            console_close(console);
            return -1;
        }
        return 0;
    }
    case CONSOLE_NONE:
        if (console_open_fds(console, platform, -1, -1, false, error) < 0)
            return -1;
        console->kind = CONSOLE_NONE;
        return 0;
    case CONSOLE_FILE: {
        int fd = open(spec->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return error_set(error, EXIT_STATUS_USAGE, "cannot open console file %s: %s", spec->path,
                             strerror(errno));
        if (console_open_fds(console, platform, -1, fd, false, error) < 0) {
            close(fd);
            return -1;
        }
        console->kind = CONSOLE_FILE;
        console->owns_output_fd = true;
        return 0;
    }
    }
    return error_set(error, EXIT_STATUS_USAGE, "unknown console kind");
}

int console_output_fd(const struct console *console)
{
    return console->output_fd;
}

static void console_wake(void *opaque)
{
    struct console *console = opaque;
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the thread wakes anyway. */
    ssize_t ignored = write(console->wake_fd, &one, sizeof(one));
    (void)ignored;
}

static void console_drain_wake(struct console *console)
{
    uint64_t count;
    ssize_t ignored = read(console->wake_fd, &count, sizeof(count));
    (void)ignored;
}

static void console_feed_pending(struct console *console)
{
    if (!console->pending_length)
        return;
    size_t accepted = serial_receive(console->serial, console->pending, console->pending_length);
    memmove(console->pending, console->pending + accepted, console->pending_length - accepted);
    console->pending_length -= accepted;
}

static void console_print_help(void)
{
    static const char help[] = "\r\nC-a x    exit kestrel\r\nC-a C-a  send C-a\r\nC-a h    this help\r\n";
    ssize_t ignored = write(STDERR_FILENO, help, sizeof(help) - 1);
    (void)ignored;
}

/* Reads at most `space` bytes: the FIFO had that much room, so the guest
 * sees every byte and the host input waits in its own buffer otherwise. */
static void console_read_input(struct console *console, size_t space)
{
    uint8_t raw[CONSOLE_PENDING_MAX];
    if (space > sizeof(raw))
        space = sizeof(raw);
    ssize_t count = read(console->input_fd, raw, space);
    if (count < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        log_warn("console: reading input failed: %s; input disabled", strerror(errno));
        console->input_eof = true;
        return;
    }
    if (count == 0) {
        console->input_eof = true;
        return;
    }
    enum console_escape_action action = CONSOLE_ESCAPE_NONE;
    size_t length = (size_t)count;
    if (console->escape_enabled)
        length = console_escape_filter(&console->escape, raw, length, raw, &action);
    console->bytes_received += length;
    /* The filter never lengthens input and pending was empty, so this fits. */
    memcpy(console->pending, raw, length);
    console->pending_length = length;
    console_feed_pending(console);
    if (action == CONSOLE_ESCAPE_HELP)
        console_print_help();
    if (action == CONSOLE_ESCAPE_QUIT && console->platform && console->platform->request_stop)
        console->platform->request_stop(console->platform->opaque, PLATFORM_STOP_QUIT);
}

static void *console_input_thread(void *opaque)
{
    sandbox_thread_enter(THREAD_KIND_CONSOLE);
    struct console *console = opaque;
    while (!atomic_load(&console->stopping)) {
        console_feed_pending(console);
        size_t space = 0;
        if (!console->pending_length && !console->input_eof)
            space = serial_rx_space(console->serial); /* 0 arms the wake-up */
        struct pollfd fds[2] = {
            {.fd = console->wake_fd, .events = POLLIN},
            {.fd = console->input_fd, .events = POLLIN},
        };
        /* With no room (or nothing more to read) only a wake-up can make progress. */
        nfds_t count = space ? 2 : 1;
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("console: poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents)
            console_drain_wake(console);
        if (count == 2 && fds[1].revents)
            console_read_input(console, space);
    }
    return NULL;
}

int console_start_input(struct console *console, struct serial *serial, struct error *error)
{
    if (console->input_fd < 0 || console->thread_started)
        return 0;
    console->serial = serial;
    serial_set_rx_space_callback(serial, console_wake, console);
    atomic_store(&console->stopping, false);
    /* Signals belong to the VMM's main thread, not this one. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int result = pthread_create(&console->thread, NULL, console_input_thread, console);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (result != 0) {
        serial_set_rx_space_callback(serial, NULL, NULL);
        return error_set(error, EXIT_STATUS_FAILURE, "console: cannot start input thread: %s", strerror(result));
    }
    console->thread_started = true;
    return 0;
}

void console_stop_input(struct console *console)
{
    if (!console->thread_started)
        return;
    atomic_store(&console->stopping, true);
    console_wake(console);
    pthread_join(console->thread, NULL);
    console->thread_started = false;
    serial_set_rx_space_callback(console->serial, NULL, NULL);
}

void console_close(struct console *console)
{
    console_stop_input(console);
    if (saved_termios_valid && console->input_fd == saved_termios_fd) {
        console_restore();
        saved_termios_valid = 0;
    }
    if (console->wake_fd >= 0)
        close(console->wake_fd);
    console->wake_fd = -1;
    if (console->owns_output_fd && console->output_fd >= 0)
        close(console->output_fd);
    console->output_fd = -1;
    console->owns_output_fd = false;
}
