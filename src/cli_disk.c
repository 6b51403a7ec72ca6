#include "cli_disk.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum disk_key {
    DISK_KEY_READONLY,
    DISK_KEY_CACHE,
    DISK_KEY_QUEUES,
    DISK_KEY_IOTHREADS,
    DISK_KEY_SERIAL,
    DISK_KEY_PACKED,
    DISK_KEY_POLL_US,
    DISK_KEY_TRACE,
    DISK_KEY_COUNT,
};

static const char *const key_names[DISK_KEY_COUNT] = {
    [DISK_KEY_READONLY] = "readonly", [DISK_KEY_CACHE] = "cache",   [DISK_KEY_QUEUES] = "queues",
    [DISK_KEY_IOTHREADS] = "iothreads", [DISK_KEY_SERIAL] = "serial", [DISK_KEY_PACKED] = "packed",
    [DISK_KEY_POLL_US] = "poll_us", [DISK_KEY_TRACE] = "trace",
};

/*
 * Cuts the next comma-separated field out of *cursor in place, turning ",,"
 * into ",": the write position never passes the read position. *cursor
 * becomes NULL after the last field.
 */
static char *next_field(char **cursor)
{
    char *start = *cursor;
    char *read = start;
    char *write = start;
    for (;;) {
        if (*read == '\0') {
            *write = '\0';
            *cursor = NULL;
            return start;
        }
        if (*read == ',') {
            if (read[1] == ',') {
                *write++ = ',';
                read += 2;
                continue;
            }
            *write = '\0';
            *cursor = read + 1;
            return start;
        }
        *write++ = *read++;
    }
}

static int find_key(const char *name)
{
    for (int key = 0; key < DISK_KEY_COUNT; key++) {
        if (strcmp(name, key_names[key]) == 0)
            return key;
    }
    return -1;
}

static int parse_switch(const char *path, const char *key, const char *value, bool *result, struct error *error)
{
    if (strcmp(value, "on") == 0) {
        *result = true;
        return 0;
    }
    if (strcmp(value, "off") == 0) {
        *result = false;
        return 0;
    }
    return error_set(error, EXIT_STATUS_USAGE, "--disk %s: %s='%s' is not on or off", path, key, value);
}

/* A decimal count in [minimum, maximum]; `what` names the maximum in the error. */
static int parse_count(const char *path, const char *key, const char *value, unsigned minimum, unsigned maximum,
                       const char *what, unsigned *result, struct error *error)
{
    if (!isdigit((unsigned char)value[0]))
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: %s='%s' is not a number", path, key, value);
    errno = 0;
    char *end;
    unsigned long long number = strtoull(value, &end, 10);
    if (*end != '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: %s='%s' is not a number", path, key, value);
    if (number < minimum)
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: %s must be at least %u", path, key, minimum);
    if (errno == ERANGE || number > maximum)
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: %s=%s is more than %s (%u)", path, key, value, what,
                         maximum);
    *result = (unsigned)number;
    return 0;
}

static int parse_serial(const char *path, const char *value, struct disk_spec *spec, struct error *error)
{
    if (value[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: serial= is empty", path);
    if (strchr(value, ','))
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: serial='%s' contains a comma, which a serial cannot hold",
                         path, value);
    if (strlen(value) > CLI_DISK_SERIAL_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: serial='%s' is longer than %u bytes", path, value,
                         CLI_DISK_SERIAL_MAX);
    spec->serial = value;
    return 0;
}

static int parse_value(const char *path, enum disk_key key, const char *value, struct disk_spec *spec,
                       struct error *error)
{
    const char *name = key_names[key];
    switch (key) {
    case DISK_KEY_READONLY:
        return parse_switch(path, name, value, &spec->read_only, error);
    case DISK_KEY_PACKED:
        return parse_switch(path, name, value, &spec->packed, error);
    case DISK_KEY_CACHE:
        if (strcmp(value, "writeback") == 0)
            spec->cache = DISK_CACHE_WRITEBACK;
        else if (strcmp(value, "none") == 0)
            spec->cache = DISK_CACHE_NONE;
        else
            return error_set(error, EXIT_STATUS_USAGE, "--disk %s: cache='%s' is not none or writeback", path, value);
        return 0;
    case DISK_KEY_QUEUES:
        return parse_count(path, name, value, 1, CLI_DISK_MAX_QUEUES, "a virtio-blk device's queue limit",
                           &spec->queues, error);
    case DISK_KEY_IOTHREADS:
        return parse_count(path, name, value, 1, CLI_DISK_MAX_QUEUES, "a virtio-blk device's queue limit",
                           &spec->io_threads, error);
    case DISK_KEY_POLL_US:
        return parse_count(path, name, value, 0, CLI_DISK_MAX_POLL_US, "the polling limit", &spec->poll_us, error);
    case DISK_KEY_SERIAL:
        return parse_serial(path, value, spec, error);
    case DISK_KEY_TRACE:
        if (value[0] == '\0')
            return error_set(error, EXIT_STATUS_USAGE, "--disk %s: trace= is empty", path);
        spec->trace_path = value;
        return 0;
    case DISK_KEY_COUNT:
        break;
    }
    return error_set(error, EXIT_STATUS_FAILURE, "--disk %s: internal error: key %d", path, (int)key);
}

static int field_without_value(const char *path, const char *field, enum disk_key previous, struct error *error)
{
    if (field[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: an empty key=value (a stray comma?)", path);
    if (previous == DISK_KEY_SERIAL)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--disk %s: '%s' after serial= is not key=value: commas separate keys, so a serial cannot "
                         "contain one",
                         path, field);
    return error_set(error, EXIT_STATUS_USAGE, "--disk %s: '%s' is not key=value", path, field);
}

int cli_disk_parse(char *text, struct disk_spec *spec, struct error *error)
{
    *spec = (struct disk_spec){.cache = DISK_CACHE_WRITEBACK, .packed = true};
    char *cursor = text;
    const char *path = next_field(&cursor);
    if (path[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE,
                         "--disk needs a path first: --disk PATH[,key=value...] (see kestrel run --help)");
    spec->path = path;
    bool seen[DISK_KEY_COUNT] = {false};
    enum disk_key previous = DISK_KEY_COUNT;
    while (cursor) {
        char *field = next_field(&cursor);
        char *equals = strchr(field, '=');
        if (!equals)
            return field_without_value(path, field, previous, error);
        *equals = '\0';
        int key = find_key(field);
        if (key < 0)
            return error_set(error, EXIT_STATUS_USAGE,
                             "--disk %s: unknown key '%s' (keys: readonly, cache, queues, iothreads, serial, packed, "
                             "poll_us, trace)",
                             path, field);
        if (seen[key])
            return error_set(error, EXIT_STATUS_USAGE, "--disk %s: key '%s' is given twice", path, field);
        seen[key] = true;
        if (parse_value(path, (enum disk_key)key, equals + 1, spec, error) < 0)
            return -1;
        previous = (enum disk_key)key;
    }
    if (spec->queues != 0 && spec->io_threads > spec->queues)
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: iothreads=%u is more than queues=%u", path,
                         spec->io_threads, spec->queues);
    return 0;
}

int cli_disk_check_against_cpus(const struct disk_spec *spec, unsigned cpu_count, struct error *error)
{
    if (spec->queues > cpu_count)
        return error_set(error, EXIT_STATUS_USAGE, "--disk %s: queues=%u is more than the %u vCPUs (--cpus)",
                         spec->path, spec->queues, cpu_count);
    unsigned queues = spec->queues;
    if (queues == 0)
        queues = cpu_count < CLI_DISK_MAX_QUEUES ? cpu_count : CLI_DISK_MAX_QUEUES;
    if (spec->io_threads > queues)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--disk %s: iothreads=%u is more than its %u queues (one per vCPU unless queues= says)",
                         spec->path, spec->io_threads, queues);
    return 0;
}
