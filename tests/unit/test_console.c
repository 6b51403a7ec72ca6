/* KESTREL_TSAN_TEST: the input thread and the "vCPU" (this thread) share the UART. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "devices/console.h"
#include "devices/serial.h"
#include "unit/recording_platform.h"

enum { RBR = 0, IER = 1, FCR = 2, LSR = 5 };

static void test_parse_spec(void **state)
{
    (void)state;
    struct console_spec spec;
    struct error error = {0};
    assert_int_equal(console_parse_spec("stdio", &spec, &error), 0);
    assert_int_equal(spec.kind, CONSOLE_STDIO);
    assert_int_equal(console_parse_spec("none", &spec, &error), 0);
    assert_int_equal(spec.kind, CONSOLE_NONE);
    assert_int_equal(console_parse_spec("file:/tmp/guest.log", &spec, &error), 0);
    assert_int_equal(spec.kind, CONSOLE_FILE);
    assert_string_equal(spec.path, "/tmp/guest.log");
    assert_int_equal(console_parse_spec("file:relative:with:colons", &spec, &error), 0);
    assert_string_equal(spec.path, "relative:with:colons");

    const char *bad[] = {"", "tty", "stdio2", "STDIO", "file", "FILE:x", "none ", "pty"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&error, 0, sizeof(error));
        assert_int_equal(console_parse_spec(bad[i], &spec, &error), -1);
        assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
        assert_non_null(strstr(error.message, "console"));
    }
    assert_int_equal(console_parse_spec("foo", &spec, &error), -1);
    assert_non_null(strstr(error.message, "'foo'"));
    assert_int_equal(console_parse_spec("file:", &spec, &error), -1);
    assert_non_null(strstr(error.message, "path"));
    char *long_spec = malloc(PATH_MAX + 16);
    assert_non_null(long_spec);
    strcpy(long_spec, "file:");
    memset(long_spec + 5, 'a', PATH_MAX + 5);
    long_spec[PATH_MAX + 10] = '\0';
    assert_int_equal(console_parse_spec(long_spec, &spec, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    free(long_spec);
    assert_int_equal(console_parse_spec(NULL, &spec, &error), -1);
}

static size_t filter_string(struct console_escape *escape, const char *in, char *out,
                            enum console_escape_action *action)
{
    size_t length = console_escape_filter(escape, (const uint8_t *)in, strlen(in), (uint8_t *)out, action);
    out[length] = '\0';
    return length;
}

static void test_escape_state_machine(void **state)
{
    (void)state;
    struct console_escape escape = {0};
    enum console_escape_action action;
    char out[32];

    assert_int_equal(filter_string(&escape, "plain text", out, &action), 10);
    assert_string_equal(out, "plain text");
    assert_int_equal(action, CONSOLE_ESCAPE_NONE);

    /* Ctrl-A Ctrl-A is one literal Ctrl-A. */
    assert_int_equal(filter_string(&escape, "a\001\001b", out, &action), 3);
    assert_string_equal(out, "a\001b");
    assert_int_equal(action, CONSOLE_ESCAPE_NONE);

    /* Ctrl-A x quits; what follows is dropped. */
    assert_int_equal(filter_string(&escape, "ls\001xrm", out, &action), 2);
    assert_string_equal(out, "ls");
    assert_int_equal(action, CONSOLE_ESCAPE_QUIT);
    assert_false(escape.after_escape);

    /* The escape may be split across reads. */
    assert_int_equal(filter_string(&escape, "q\001", out, &action), 1);
    assert_int_equal(action, CONSOLE_ESCAPE_NONE);
    assert_true(escape.after_escape);
    assert_int_equal(filter_string(&escape, "x", out, &action), 0);
    assert_int_equal(action, CONSOLE_ESCAPE_QUIT);
    assert_int_equal(filter_string(&escape, "\001", out, &action), 0);
    assert_int_equal(filter_string(&escape, "\001", out, &action), 1);
    assert_string_equal(out, "\001");

    /* Unknown escapes swallow both bytes; h asks for help. */
    assert_int_equal(filter_string(&escape, "\001qz", out, &action), 1);
    assert_string_equal(out, "z");
    assert_int_equal(action, CONSOLE_ESCAPE_NONE);
    assert_int_equal(filter_string(&escape, "\001hy", out, &action), 1);
    assert_string_equal(out, "y");
    assert_int_equal(action, CONSOLE_ESCAPE_HELP);
    /* Capital X works too, and in-place filtering is allowed. */
    char in_place[] = "k\001X";
    assert_int_equal(console_escape_filter(&escape, (uint8_t *)in_place, 3, (uint8_t *)in_place, &action), 1);
    assert_int_equal(action, CONSOLE_ESCAPE_QUIT);
}

static void test_file_console(void **state)
{
    (void)state;
    char dir[] = "/tmp/kestrel-console-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/out.log", dir);
    char spec_text[300];
    snprintf(spec_text, sizeof(spec_text), "file:%s", path);

    struct recording_platform recorder;
    recording_platform_init(&recorder);
    struct console_spec spec;
    struct error error = {0};
    assert_int_equal(console_parse_spec(spec_text, &spec, &error), 0);
    struct console console;
    assert_int_equal(console_open(&console, &spec, &recorder.platform, &error), 0);
    assert_true(console_output_fd(&console) >= 0);

    struct serial serial;
    assert_int_equal(serial_create(&serial, &recorder.platform, LAYOUT_COM1_IRQ, console_output_fd(&console), &error),
                     0);
    assert_int_equal(console_start_input(&console, &serial, &error), 0); /* no input: nothing to start */
    assert_false(console.thread_started);
    for (const char *p = "boot ok\n"; *p; p++)
        serial_write_register(&serial, 0, (uint8_t)*p);
    console_close(&console);
    serial_destroy(&serial);

    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char content[64] = {0};
    assert_int_equal(fread(content, 1, sizeof(content) - 1, file), 8);
    fclose(file);
    assert_string_equal(content, "boot ok\n");

    /* Re-opening truncates. */
    assert_int_equal(console_open(&console, &spec, &recorder.platform, &error), 0);
    console_close(&console);
    file = fopen(path, "r");
    assert_non_null(file);
    assert_int_equal(fread(content, 1, sizeof(content), file), 0);
    fclose(file);
    unlink(path);
    rmdir(dir);

    /* A path that cannot be created is bad user input. */
    assert_int_equal(console_parse_spec("file:/nonexistent-kestrel-dir/x.log", &spec, &error), 0);
    assert_int_equal(console_open(&console, &spec, &recorder.platform, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "cannot open console file /nonexistent-kestrel-dir/x.log: "));
    recording_platform_destroy(&recorder);
}

static void test_none_console(void **state)
{
    (void)state;
    struct recording_platform recorder;
    recording_platform_init(&recorder);
    struct console_spec spec;
    struct error error = {0};
    assert_int_equal(console_parse_spec("none", &spec, &error), 0);
    struct console console;
    assert_int_equal(console_open(&console, &spec, &recorder.platform, &error), 0);
    assert_int_equal(console_output_fd(&console), -1);
    struct serial serial;
    assert_int_equal(serial_create(&serial, &recorder.platform, LAYOUT_COM1_IRQ, -1, &error), 0);
    assert_int_equal(console_start_input(&console, &serial, &error), 0);
    assert_false(console.thread_started);
    serial_write_register(&serial, 0, 'x'); /* discarded without error */
    assert_int_equal(serial.bytes_transmitted, 1);
    console_close(&console);
    console_close(&console); /* idempotent */
    serial_destroy(&serial);
    recording_platform_destroy(&recorder);
}

/* Waits (bounded) for the input thread to make progress. */
static bool wait_for_rx_count(struct serial *serial, unsigned count)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&serial->lock);
        unsigned now = serial->rx_count;
        pthread_mutex_unlock(&serial->lock);
        if (now >= count)
            return true;
        usleep(1000);
    }
    return false;
}

static int pipe_unread(int fd)
{
    int count = -1;
    assert_int_equal(ioctl(fd, FIONREAD, &count), 0);
    return count;
}

struct input_fixture {
    struct recording_platform recorder;
    struct serial serial;
    struct console console;
    int input[2];
};

static void input_fixture_start(struct input_fixture *f, bool escape)
{
    struct error error = {0};
    recording_platform_init(&f->recorder);
    assert_int_equal(pipe2(f->input, O_CLOEXEC), 0);
    assert_int_equal(serial_create(&f->serial, &f->recorder.platform, LAYOUT_COM1_IRQ, -1, &error), 0);
    serial_write_register(&f->serial, FCR, 0x07); /* FIFOs on */
    serial_write_register(&f->serial, IER, 0x01);
    assert_int_equal(console_open_fds(&f->console, &f->recorder.platform, f->input[0], -1, escape, &error), 0);
    assert_int_equal(console_start_input(&f->console, &f->serial, &error), 0);
    assert_true(f->console.thread_started);
}

static void input_fixture_stop(struct input_fixture *f)
{
    console_stop_input(&f->console);
    console_close(&f->console);
    serial_destroy(&f->serial);
    if (f->input[1] >= 0)
        close(f->input[1]);
    close(f->input[0]);
    recording_platform_destroy(&f->recorder);
}

static void test_input_flow_control(void **state)
{
    (void)state;
    struct input_fixture f;
    input_fixture_start(&f, false);
    enum { TOTAL = 40 };
    uint8_t data[TOTAL];
    for (unsigned i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(0x20 + i);
    assert_int_equal(write(f.input[1], data, TOTAL), TOTAL);

    unsigned received = 0;
    while (received < TOTAL) {
        unsigned expect = TOTAL - received < SERIAL_FIFO_SIZE ? TOTAL - received : SERIAL_FIFO_SIZE;
        assert_true(wait_for_rx_count(&f.serial, expect));
        assert_true(recording_irq(&f.recorder, LAYOUT_COM1_IRQ));
        /* The thread took only what fits; the rest is still in the pipe. */
        assert_int_equal(pipe_unread(f.input[0]), TOTAL - received - expect);
        usleep(2000);
        pthread_mutex_lock(&f.serial.lock);
        assert_int_equal(f.serial.rx_count, expect);
        assert_int_equal(f.serial.rx_overruns, 0);
        pthread_mutex_unlock(&f.serial.lock);
        for (unsigned i = 0; i < expect; i++)
            assert_int_equal(serial_read_register(&f.serial, RBR), data[received + i]);
        received += expect;
    }
    assert_int_equal(serial_read_register(&f.serial, LSR) & 0x03, 0);
    assert_false(recording_irq(&f.recorder, LAYOUT_COM1_IRQ));

    /* End of input: the thread keeps running idle until stopped. */
    close(f.input[1]);
    f.input[1] = -1;
    usleep(2000);
    assert_int_equal(recording_stop_count(&f.recorder), 0);
    input_fixture_stop(&f);
}

static void test_input_escape_quits(void **state)
{
    (void)state;
    struct input_fixture f;
    input_fixture_start(&f, true);
    assert_int_equal(write(f.input[1], "hi\001\001\001x!", 7), 7);
    assert_true(wait_for_rx_count(&f.serial, 3));
    for (int i = 0; i < 10000 && recording_stop_count(&f.recorder) == 0; i++)
        usleep(1000);
    assert_int_equal(recording_stop_count(&f.recorder), 1);
    assert_int_equal(f.recorder.stops[0], PLATFORM_STOP_QUIT);
    assert_int_equal(serial_read_register(&f.serial, RBR), 'h');
    assert_int_equal(serial_read_register(&f.serial, RBR), 'i');
    assert_int_equal(serial_read_register(&f.serial, RBR), 0x01);
    assert_int_equal(serial_read_register(&f.serial, LSR) & 0x01, 0);
    input_fixture_stop(&f);
}

static void test_stop_while_fifo_full(void **state)
{
    (void)state;
    struct input_fixture f;
    input_fixture_start(&f, false);
    uint8_t data[64];
    memset(data, 'k', sizeof(data));
    assert_int_equal(write(f.input[1], data, sizeof(data)), (ssize_t)sizeof(data));
    assert_true(wait_for_rx_count(&f.serial, SERIAL_FIFO_SIZE));
    /* The thread now waits for room; stopping must still return promptly. */
    input_fixture_stop(&f);
}

/* stdio on a terminal: raw input, sane output, and the terminal restored after. */
static void test_stdio_tty_raw_mode_and_restore(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        skip();
        return;
    }
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(tty >= 0);
    struct termios before;
    assert_int_equal(tcgetattr(tty, &before), 0);
    assert_true(before.c_lflag & ICANON);

    int saved_stdin = dup(STDIN_FILENO);
    assert_true(saved_stdin >= 0);
    assert_int_equal(dup2(tty, STDIN_FILENO), STDIN_FILENO);

    struct recording_platform recorder;
    recording_platform_init(&recorder);
    struct console_spec spec;
    struct error error = {0};
    assert_int_equal(console_parse_spec("stdio", &spec, &error), 0);
    struct console console;
    assert_int_equal(console_open(&console, &spec, &recorder.platform, &error), 0);
    assert_true(console.escape_enabled);
    struct termios raw;
    assert_int_equal(tcgetattr(tty, &raw), 0);
    assert_false(raw.c_lflag & (ICANON | ECHO | ISIG));
    assert_true(raw.c_oflag & OPOST);
    assert_true(raw.c_oflag & ONLCR);

    /* What a signal handler or atexit would do. */
    console_restore();
    struct termios after;
    assert_int_equal(tcgetattr(tty, &after), 0);
    assert_true(after.c_lflag & ICANON);
    assert_int_equal(after.c_lflag, before.c_lflag);

    console_close(&console);
    assert_int_equal(tcgetattr(tty, &after), 0);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_int_equal(after.c_oflag, before.c_oflag);
    assert_int_equal(after.c_iflag, before.c_iflag);

    assert_int_equal(dup2(saved_stdin, STDIN_FILENO), STDIN_FILENO);
    close(saved_stdin);
    close(tty);
    close(master);
    recording_platform_destroy(&recorder);
}

/* A crash with the terminal in raw mode still gives the terminal back. */
static void test_crash_restores_terminal(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        skip();
        return;
    }
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(tty >= 0);
    struct termios before;
    assert_int_equal(tcgetattr(tty, &before), 0);

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        dup2(tty, STDIN_FILENO);
        struct console_spec spec = {.kind = CONSOLE_STDIO};
        struct console console;
        struct error error;
        if (console_open(&console, &spec, NULL, &error) < 0)
            _exit(3);
        struct termios raw;
        if (tcgetattr(tty, &raw) < 0 || (raw.c_lflag & ICANON))
            _exit(4);
        abort();
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    struct termios after;
    assert_int_equal(tcgetattr(tty, &after), 0);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_int_equal(after.c_iflag, before.c_iflag);
    assert_int_equal(after.c_oflag, before.c_oflag);
    close(tty);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_spec),
        cmocka_unit_test(test_escape_state_machine),
        cmocka_unit_test(test_file_console),
        cmocka_unit_test(test_none_console),
        cmocka_unit_test(test_input_flow_control),
        cmocka_unit_test(test_input_escape_quits),
        cmocka_unit_test(test_stop_while_fifo_full),
        cmocka_unit_test(test_stdio_tty_raw_mode_and_restore),
        cmocka_unit_test(test_crash_restores_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
