/*
 * Feeds arbitrary bytes to the /proc/self/smaps parser behind --stats: no
 * input may crash, hang or read past the buffer, and the guest share can
 * never exceed the total.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/process_memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct process_memory_range guest[2] = {
        {.start = 0x7f0000000000ull, .size = 0x10000000ull},
        {.start = 0x7f0010000000ull, .size = 0x10000000ull},
    };
    struct process_memory_usage usage;
    if (process_memory_parse_smaps((const char *)data, size, guest, 2, &usage) == 0 &&
        usage.guest_rss_kib > usage.total_rss_kib)
        abort();
    return 0;
}
