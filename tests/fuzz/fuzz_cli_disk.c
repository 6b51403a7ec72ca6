/*
 * Feeds arbitrary --disk strings to the in-place parser (src/cli_disk.c),
 * then checks the result against a vCPU count taken from the first byte.
 * The string sits in a buffer of exactly its size, so a read or write past
 * its NUL is an ASan report. A spec that parses must hold what the parser
 * promises; an error is always a usage error, on one line unless the input
 * itself held a newline.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_disk.h"

static void check_spec(const struct disk_spec *spec, const char *buffer, size_t size)
{
    if (!spec->path || spec->path < buffer || spec->path >= buffer + size || spec->path[0] == '\0')
        abort();
    if (spec->queues > CLI_DISK_MAX_QUEUES || spec->io_threads > CLI_DISK_MAX_QUEUES ||
        spec->poll_us > CLI_DISK_MAX_POLL_US)
        abort();
    if (spec->queues != 0 && spec->io_threads > spec->queues)
        abort();
    if (spec->serial) {
        size_t length = strlen(spec->serial);
        if (length == 0 || length > CLI_DISK_SERIAL_MAX || strchr(spec->serial, ','))
            abort();
    }
}

static void check_error(const struct error *error, const uint8_t *data, size_t size)
{
    if (error->exit_status != EXIT_STATUS_USAGE || error->message[0] == '\0')
        abort();
    if (!memchr(data, '\n', size) && strchr(error->message, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned cpu_count = (unsigned)data[0] + 1;
    data++;
    size--;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct disk_spec spec;
    struct error error = {0};
    if (cli_disk_parse(text, &spec, &error) == 0) {
        check_spec(&spec, text, size + 1);
        error = (struct error){0};
        if (cli_disk_check_against_cpus(&spec, cpu_count, &error) == 0) {
            if (spec.queues > cpu_count)
                abort();
        } else {
            check_error(&error, data, size);
        }
    } else {
        check_error(&error, data, size);
    }
    free(text);
    return 0;
}
