#ifndef KESTREL_UTIL_LOG_H
#define KESTREL_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Diagnostics go to stderr, one line each, prefixed "kestrel: ".
 * Guest-triggered conditions must use log_ratelimited so a hostile guest
 * cannot flood the host's logs.
 */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
void log_message(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_message(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_message(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_DEBUG, __VA_ARGS__)

/* One budget per call site: at most `burst` lines, then one per second. */
struct log_ratelimit {
    uint64_t window_start_ns;
    uint32_t emitted_in_window;
    uint64_t suppressed;
};

/* Returns true when the line was written (tests use this). */
bool log_ratelimited(struct log_ratelimit *limit, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Count of lines written through log_message and log_ratelimited, for tests. */
uint64_t log_lines_written(void);

#endif
