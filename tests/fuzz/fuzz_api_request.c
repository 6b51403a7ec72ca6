/*
 * Feeds arbitrary request bodies to the control API's body parsers
 * (src/api/api_request.c), the part of a request a client controls after
 * libmicrohttpd has parsed the HTTP. The first byte picks PATCH /vm or PUT
 * /actions; the rest is the body, in a buffer of exactly its size and not
 * NUL-terminated, as the server hands it over. A body that parses must have
 * named its value; a failure must leave a NUL-terminated, one-line-or-less
 * fault message.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_request.h"

static void check_fault(const char *fault)
{
    if (memchr(fault, '\0', API_REQUEST_FAULT_MAX) == NULL || fault[0] == '\0')
        abort();
}

/* The value's name is in the body, unless JSON escapes spelled it. */
static bool holds(const uint8_t *data, size_t size, const char *word)
{
    return memmem(data, size, word, strlen(word)) != NULL || memchr(data, '\\', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t selector = data[0];
    size_t length = size - 1;
    char *body = malloc(length ? length : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, length);
    char fault[API_REQUEST_FAULT_MAX];
    memset(fault, 0x55, sizeof(fault));
    if (selector & 1) {
        enum api_action action;
        if (api_request_parse_action(body, length, &action, fault) == 0) {
            const char *word = action == API_ACTION_STOP           ? "Stop"
                               : action == API_ACTION_CTRL_ALT_DEL ? "SendCtrlAltDel"
                                                                   : NULL;
            if (!word || !holds(data + 1, length, word))
                abort();
        } else {
            check_fault(fault);
        }
    } else {
        enum api_vm_state_change change;
        if (api_request_parse_vm_state(body, length, &change, fault) == 0) {
            const char *word = change == API_VM_CHANGE_PAUSE    ? "Paused"
                               : change == API_VM_CHANGE_RESUME ? "Resumed"
                                                                : NULL;
            if (!word || !holds(data + 1, length, word))
                abort();
        } else {
            check_fault(fault);
        }
    }
    free(body);
    return 0;
}
