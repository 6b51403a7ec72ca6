/*
 * Feeds arbitrary bytes to kestrel stat's view as two snapshots (split at the
 * first NUL byte): whatever another process sends over the socket, the view
 * renders or refuses, never crashes, in both formats.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stat_view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 2);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    text[size + 1] = 0;
    const char *before = text, *after = text + strlen(text) + 1;
    for (int format = STAT_VIEW_TABLE; format <= STAT_VIEW_JSON; format++) {
        struct error error = {0};
        free(stat_view_render(before, after, 1.0, (enum stat_view_format)format, &error));
    }
    free(text);
    return 0;
}
