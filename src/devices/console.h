#ifndef KESTREL_DEVICES_CONSOLE_H
#define KESTREL_DEVICES_CONSOLE_H

/*
 * The host side of the serial console: `--console stdio|none|file:PATH`.
 *
 *   stdio      guest output to stdout; stdin is read by a thread and fed to
 *              the UART's receive FIFO, never faster than the guest drains it.
 *              When stdin is a terminal it is put in raw mode (output
 *              processing kept, so "\n" still becomes "\r\n") and the escape
 *              Ctrl-A x quits, Ctrl-A Ctrl-A sends a literal Ctrl-A.
 *   none       output discarded, no input.
 *   file:PATH  output written to PATH (created or truncated), no input.
 *
 * Usage from main:
 *   console_parse_spec(arg, &spec, &err);
 *   console_open(&console, &spec, &platform, &err);            // before vCPUs
 *   serial_create(&serial, &platform, LAYOUT_COM1_IRQ, console_output_fd(&console), &err);
 *   console_start_input(&console, &serial, &err);
 *   ... run ...
 *   console_stop_input(&console); serial_destroy(&serial); console_close(&console);
 * console_restore() may be called from a signal handler (it only calls
 * tcsetattr). When console_open puts a terminal in raw mode it also
 * registers console_restore() with atexit() and runs it on the crash
 * signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) before passing them on
 * to the previous handler; SIGINT/SIGTERM/SIGHUP are the VMM's to turn into
 * an orderly exit that calls console_close(). console_open sets SIGPIPE to
 * SIG_IGN if it was at its default, so a closed output is an EPIPE the UART
 * logs (rate-limited), not a kill.
 */

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "devices/platform.h"
#include "devices/serial.h"
#include "util/error.h"

enum console_kind {
    CONSOLE_STDIO,
    CONSOLE_NONE,
    CONSOLE_FILE,
};

struct console_spec {
    enum console_kind kind;
    char path[PATH_MAX]; /* CONSOLE_FILE only */
};

/* Parses "stdio", "none" or "file:PATH"; bad input is EXIT_STATUS_USAGE. */
int console_parse_spec(const char *text, struct console_spec *spec, struct error *error);

/* The Ctrl-A escape state machine, separate so it can be tested alone. */
enum { CONSOLE_ESCAPE_CHAR = 0x01 }; /* Ctrl-A */

struct console_escape {
    bool after_escape;
};

enum console_escape_action {
    CONSOLE_ESCAPE_NONE,
    CONSOLE_ESCAPE_QUIT,
    CONSOLE_ESCAPE_HELP, /* Ctrl-A h: print the escape keys on stderr */
};

/* Filters `length` input bytes into `out` (room for `length` bytes), returns
 * the count written. Stops at Ctrl-A x and reports CONSOLE_ESCAPE_QUIT in
 * *action (bytes after it are dropped). Ctrl-A followed by anything other
 * than x or Ctrl-A swallows both bytes, as QEMU does. `out` may equal `in`. */
size_t console_escape_filter(struct console_escape *escape, const uint8_t *in, size_t length, uint8_t *out,
                             enum console_escape_action *action);

enum { CONSOLE_PENDING_MAX = 256 };

struct console {
    enum console_kind kind;
    const struct platform *platform;
    int input_fd;         /* -1 when there is no input */
    int output_fd;        /* -1 when output is discarded */
    bool owns_output_fd;  /* file: we opened it */
    bool escape_enabled;  /* stdin is a terminal */
    int wake_fd;          /* eventfd: RX room appeared, or stop */
    atomic_bool stopping;
    bool thread_started;
    pthread_t thread;
    struct serial *serial;
    struct console_escape escape;
    bool input_eof;
    /* Bytes read from input that the receive FIFO had no room for yet. */
    uint8_t pending[CONSOLE_PENDING_MAX];
    size_t pending_length;
    uint64_t bytes_received;
};

/* Opens the host side (output file, raw mode for a terminal stdin). */
int console_open(struct console *console, const struct console_spec *spec, const struct platform *platform,
                 struct error *error);
/* Same with explicit input/output fds (not owned) - for tests; `escape_enabled`
 * turns on the Ctrl-A handling that console_open enables for a terminal. */
int console_open_fds(struct console *console, const struct platform *platform, int input_fd, int output_fd,
                     bool escape_enabled, struct error *error);
int console_output_fd(const struct console *console);

/* Starts the input thread (no-op without input). */
int console_start_input(struct console *console, struct serial *serial, struct error *error);
/* Stops and joins the input thread. Idempotent. */
void console_stop_input(struct console *console);
/* Stops input, restores the terminal, closes what console_open opened. */
void console_close(struct console *console);

/* Puts the terminal back as it was before raw mode; async-signal-safe. */
void console_restore(void);

#endif
