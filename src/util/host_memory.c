#include "util/host_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util/checked_math.h"

/* /proc/meminfo is about 1.5 KiB; far more room than it will ever need. */
enum { MEMINFO_MAX = 16384 };

/* "Name:   123 kB" (with_unit) or "Name:   123": the number, or -1 when the rest of the line is not that shape. */
static int parse_value(const char *text, size_t length, bool with_unit, uint64_t *number)
{
    size_t at = 0;
    while (at < length && text[at] == ' ')
        at++;
    size_t digits_start = at;
    uint64_t value = 0;
    while (at < length && text[at] >= '0' && text[at] <= '9') {
        if (!checked_mul_u64(value, 10, &value) || !checked_add_u64(value, (uint64_t)(text[at] - '0'), &value))
            return -1;
        at++;
    }
    if (at == digits_start)
        return -1;
    if (with_unit ? (length - at != 3 || memcmp(text + at, " kB", 3) != 0) : at != length)
        return -1;
    *number = value;
    return 0;
}

static bool line_names(const char *line, size_t length, const char *name, size_t *value_start)
{
    size_t name_length = strlen(name);
    if (length < name_length + 1 || memcmp(line, name, name_length) != 0 || line[name_length] != ':')
        return false;
    *value_start = name_length + 1;
    return true;
}

int host_memory_parse_meminfo(const char *text, size_t length, struct host_memory *memory)
{
    struct host_memory parsed = {0};
    const struct {
        const char *name;
        bool with_unit;
        uint64_t *value;
    } fields[] = {
        {"MemAvailable", true, &parsed.available_kib},      {"SwapFree", true, &parsed.swap_free_kib},
        {"HugePages_Free", false, &parsed.huge_pages_free}, {"HugePages_Rsvd", false, &parsed.huge_pages_reserved},
        {"Hugepagesize", true, &parsed.huge_page_size_kib},
    };
    enum { FIELD_COUNT = sizeof(fields) / sizeof(fields[0]) };
    bool seen[FIELD_COUNT] = {false};
    size_t at = 0;
    while (at < length) {
        const char *line = text + at;
        const char *newline = memchr(line, '\n', length - at);
        size_t line_length = newline ? (size_t)(newline - line) : length - at;
        at += line_length + (newline ? 1 : 0);
        for (unsigned i = 0; i < FIELD_COUNT; i++) {
            size_t value_start;
            if (!line_names(line, line_length, fields[i].name, &value_start))
                continue;
            if (seen[i] ||
                parse_value(line + value_start, line_length - value_start, fields[i].with_unit, fields[i].value) < 0)
                return -1;
            seen[i] = true;
        }
    }
    if (!seen[0]) /* MemAvailable: the one line every --memory check needs */
        return -1;
    *memory = parsed;
    return 0;
}

int host_memory_read(struct host_memory *memory, struct error *error)
{
    char text[MEMINFO_MAX];
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot open /proc/meminfo: %s", strerror(errno));
    size_t filled = 0;
    while (filled < sizeof(text)) {
        ssize_t got = read(fd, text + filled, sizeof(text) - filled);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        filled += (size_t)got;
    }
    close(fd);
    if (host_memory_parse_meminfo(text, filled, memory) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "/proc/meminfo has no readable MemAvailable line");
    return 0;
}
