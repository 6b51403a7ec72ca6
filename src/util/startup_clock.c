#include "util/startup_clock.h"

#include <time.h>

#include "util/checked_math.h"

uint64_t startup_clock_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

int startup_origin_resolve(uint64_t main_ns, const char *exec_time, struct startup_origin *origin,
                           struct error *error)
{
    *origin = (struct startup_origin){.ns = main_ns, .from_exec = false};
    if (!exec_time)
        return 0;
    uint64_t value = 0;
    const char *p = exec_time;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (!checked_mul_u64(value, 10, &value) || !checked_add_u64(value, (uint64_t)(*p - '0'), &value))
            return error_set(error, EXIT_STATUS_USAGE, "%s is too large: '%.40s'", STARTUP_EXEC_TIME_VARIABLE,
                             exec_time);
    }
    if (p == exec_time || *p != '\0')
        return error_set(error, EXIT_STATUS_USAGE,
                         "%s must be CLOCK_MONOTONIC nanoseconds (a decimal number), not '%.40s'",
                         STARTUP_EXEC_TIME_VARIABLE, exec_time);
    if (value > main_ns)
        return error_set(error, EXIT_STATUS_USAGE, "%s %llu is later than kestrel's start (%llu)",
                         STARTUP_EXEC_TIME_VARIABLE, (unsigned long long)value, (unsigned long long)main_ns);
    *origin = (struct startup_origin){.ns = value, .from_exec = true};
    return 0;
}
