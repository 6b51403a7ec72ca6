#ifndef KESTREL_UTIL_ERROR_H
#define KESTREL_UTIL_ERROR_H

/*
 * An error that travels up to main(), which prints `message` as one line
 * ("kestrel: <message>") and exits with `exit_status`.
 *   EXIT_STATUS_USAGE    bad user input (options, kernel/initrd files): 2
 *   EXIT_STATUS_FAILURE  internal or host errors: 1
 */
enum {
    EXIT_STATUS_OK = 0,
    EXIT_STATUS_FAILURE = 1,
    EXIT_STATUS_USAGE = 2,
};

struct error {
    int exit_status;
    char message[384];
};

/* Fills `error` (if not NULL) and returns -1, so callers can `return error_set(...)`. */
int error_set(struct error *error, int exit_status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
