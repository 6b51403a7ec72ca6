#include "util/process_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/checked_math.h"

/* smaps of a kestrel process is a few tens of KiB; this bounds a runaway read. */
enum { SMAPS_MAX_BYTES = 64u << 20 };

static bool parse_hex(const char **cursor, const char *end, uint64_t *value)
{
    const char *p = *cursor;
    uint64_t result = 0;
    unsigned digits = 0;
    for (; p < end; p++) {
        unsigned digit;
        if (*p >= '0' && *p <= '9')
            digit = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            digit = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            digit = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (++digits > 16)
            return false;
        result = result << 4 | digit;
    }
    if (digits == 0)
        return false;
    *cursor = p;
    *value = result;
    return true;
}

static bool parse_decimal(const char **cursor, const char *end, uint64_t *value)
{
    const char *p = *cursor;
    uint64_t result = 0;
    unsigned digits = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
        if (!checked_mul_u64(result, 10, &result) || !checked_add_u64(result, (uint64_t)(*p - '0'), &result))
            return false;
    }
    if (digits == 0)
        return false;
    *cursor = p;
    *value = result;
    return true;
}

/* "start-end perms ..." with lowercase hex addresses: the header of a mapping. */
static bool parse_header(const char *line, const char *end, uint64_t *start, uint64_t *stop)
{
    const char *p = line;
    if (!parse_hex(&p, end, start) || p >= end || *p != '-')
        return false;
    p++;
    if (!parse_hex(&p, end, stop) || p >= end || *p != ' ')
        return false;
    return *start <= *stop;
}

static bool looks_like_header(const char *line, const char *end)
{
    /* Field lines start with a capitalised name ("Rss:"); headers with a hex digit. */
    return line < end && ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f'));
}

/* Bytes of [start, stop) that lie inside the (disjoint) guest ranges. */
static uint64_t guest_bytes_in(uint64_t start, uint64_t stop, const struct process_memory_range *guest,
                               unsigned guest_count)
{
    uint64_t covered = 0;
    for (unsigned i = 0; i < guest_count; i++) {
        uint64_t range_end;
        if (!checked_add_u64(guest[i].start, guest[i].size, &range_end))
            range_end = UINT64_MAX;
        uint64_t low = start > guest[i].start ? start : guest[i].start;
        uint64_t high = stop < range_end ? stop : range_end;
        if (low < high)
            covered += high - low;
    }
    return covered;
}

static const char rss_name[] = "Rss:";
static const char huge_name[] = "AnonHugePages:";

static bool is_field(const char *line, const char *line_end, const char *name)
{
    size_t length = strlen(name);
    return (size_t)(line_end - line) >= length && memcmp(line, name, length) == 0;
}

/* "   1234 kB" after a field name. */
static bool parse_kib(const char *p, const char *line_end, uint64_t *kib)
{
    while (p < line_end && *p == ' ')
        p++;
    return parse_decimal(&p, line_end, kib) && line_end - p == 3 && memcmp(p, " kB", 3) == 0;
}

/* The length of the field name (with its colon) when the line is one that counts resident memory, else 0. */
static size_t resident_field_length(const char *line, const char *line_end)
{
    static const char *const names[] = {rss_name, "Private_Hugetlb:", "Shared_Hugetlb:"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (is_field(line, line_end, names[i]))
            return strlen(names[i]);
    }
    return 0;
}

int process_memory_parse_smaps(const char *text, size_t length, const struct process_memory_range *guest,
                               unsigned guest_count, struct process_memory_usage *usage)
{
    memset(usage, 0, sizeof(*usage));
    const char *end = text + length;
    bool in_mapping = false;
    bool mapping_is_guest = false;
    bool rss_seen = false;
    size_t name_length;
    for (const char *line = text; line < end;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = newline ? newline : end;
        if (looks_like_header(line, line_end)) {
            uint64_t start, stop;
            if (!parse_header(line, line_end, &start, &stop))
                return -1;
            in_mapping = true;
            rss_seen = false;
            /* Ranges are disjoint, so a mapping fully covered by them is all guest RAM. */
            mapping_is_guest = stop > start && guest_bytes_in(start, stop, guest, guest_count) == stop - start;
            usage->mappings++;
        } else if (is_field(line, line_end, huge_name)) {
            /* Part of Rss already: counted on its own, for the guest's mappings only. */
            uint64_t kib;
            if (!in_mapping || !parse_kib(line + sizeof(huge_name) - 1, line_end, &kib))
                return -1;
            if (mapping_is_guest && !checked_add_u64(usage->guest_huge_kib, kib, &usage->guest_huge_kib))
                return -1;
        } else if ((name_length = resident_field_length(line, line_end)) != 0) {
            /* Rss once per mapping; hugetlbfs pages are not in Rss but in their own two fields. */
            if (!in_mapping || (name_length == sizeof(rss_name) - 1 && rss_seen))
                return -1;
            if (name_length == sizeof(rss_name) - 1)
                rss_seen = true;
            uint64_t kib;
            if (!parse_kib(line + name_length, line_end, &kib))
                return -1;
            if (!checked_add_u64(usage->total_rss_kib, kib, &usage->total_rss_kib))
                return -1;
            if (mapping_is_guest && !checked_add_u64(usage->guest_rss_kib, kib, &usage->guest_rss_kib))
                return -1;
        }
        line = newline ? newline + 1 : end;
    }
    return 0;
}

static int held_smaps_fd = -1;

int process_memory_hold_smaps(struct error *error)
{
    if (held_smaps_fd >= 0)
        return 0;
    held_smaps_fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (held_smaps_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps: %s", strerror(errno));
    return 0;
}

static int open_smaps(struct error *error)
{
    if (held_smaps_fd >= 0) {
        if (lseek(held_smaps_fd, 0, SEEK_SET) < 0)
            return error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps: %s", strerror(errno));
        return held_smaps_fd;
    }
    int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps: %s", strerror(errno));
    return fd;
}

int process_memory_measure(const struct process_memory_range *guest, unsigned guest_count,
                           struct process_memory_usage *usage, struct error *error)
{
    int fd = open_smaps(error);
    if (fd < 0)
        return -1;
    size_t capacity = 64u << 10;
    size_t length = 0;
    char *buffer = malloc(capacity);
    int result = -1;
    if (!buffer) {
        error_set(error, EXIT_STATUS_FAILURE, "out of memory reading /proc/self/smaps");
        goto out;
    }
    for (;;) {
        if (length == capacity) {
            if (capacity >= SMAPS_MAX_BYTES) {
                error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps is larger than %u bytes", SMAPS_MAX_BYTES);
                goto out;
            }
            char *larger = realloc(buffer, capacity * 2);
            if (!larger) {
                error_set(error, EXIT_STATUS_FAILURE, "out of memory reading /proc/self/smaps");
                goto out;
            }
            buffer = larger;
            capacity *= 2;
        }
        ssize_t got = read(fd, buffer + length, capacity - length);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps: %s", strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        length += (size_t)got;
    }
    if (process_memory_parse_smaps(buffer, length, guest, guest_count, usage) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "/proc/self/smaps: unexpected format");
        goto out;
    }
    result = 0;
out:
    free(buffer);
    if (fd != held_smaps_fd)
        close(fd);
    return result;
}
