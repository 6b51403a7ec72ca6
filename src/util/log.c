#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static atomic_uint_fast64_t lines_written;

enum { RATELIMIT_BURST = 5 };
static const uint64_t RATELIMIT_WINDOW_NS = 1000000000ull;

void log_set_level(enum log_level level)
{
    current_level = level;
}

static void log_vwrite(const char *fmt, va_list args)
{
    char line[512];
    int prefix = snprintf(line, sizeof(line), "kestrel: ");
    vsnprintf(line + prefix, sizeof(line) - (size_t)prefix, fmt, args);
    /* One fputs per line keeps lines from different threads whole. */
    fprintf(stderr, "%s\n", line);
    atomic_fetch_add(&lines_written, 1);
}

void log_message(enum log_level level, const char *fmt, ...)
{
    if (level > current_level)
        return;
    va_list args;
    va_start(args, fmt);
    log_vwrite(fmt, args);
    va_end(args);
}

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

bool log_ratelimited(struct log_ratelimit *limit, const char *fmt, ...)
{
    uint64_t now = monotonic_ns();
    if (now - limit->window_start_ns >= RATELIMIT_WINDOW_NS) {
        if (limit->suppressed)
            log_message(LOG_WARN, "(%llu similar messages suppressed)", (unsigned long long)limit->suppressed);
        limit->window_start_ns = now;
        limit->emitted_in_window = 0;
        limit->suppressed = 0;
    }
    if (limit->emitted_in_window >= RATELIMIT_BURST) {
        limit->suppressed++;
        return false;
    }
    limit->emitted_in_window++;
    va_list args;
    va_start(args, fmt);
    log_vwrite(fmt, args);
    va_end(args);
    return true;
}

uint64_t log_lines_written(void)
{
    return atomic_load(&lines_written);
}
