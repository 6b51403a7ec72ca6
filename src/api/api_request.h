#ifndef KESTREL_API_API_REQUEST_H
#define KESTREL_API_API_REQUEST_H

/*
 * Request bodies (client-controlled JSON) to actions. Strict: a body must be
 * one JSON object with exactly the fields Firecracker defines for it, of the
 * right types and values, nothing after it; anything else fails with a
 * message for the client's fault_message. Parsed by json-c with a small
 * nesting limit.
 */

#include <stddef.h>

enum api_vm_state_change { API_VM_CHANGE_PAUSE, API_VM_CHANGE_RESUME };

enum api_action { API_ACTION_CTRL_ALT_DEL, API_ACTION_STOP };

enum { API_REQUEST_FAULT_MAX = 160 };

/* PATCH /vm: {"state":"Paused"|"Resumed"}. 0, or -1 with `fault` filled. */
int api_request_parse_vm_state(const char *body, size_t length, enum api_vm_state_change *change,
                               char fault[API_REQUEST_FAULT_MAX]);
/* PUT /actions: {"action_type":"SendCtrlAltDel"|"Stop"}. 0, or -1 with `fault` filled. */
int api_request_parse_action(const char *body, size_t length, enum api_action *action,
                             char fault[API_REQUEST_FAULT_MAX]);

#endif
