#include "api/api_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Firecracker's bodies are flat; a deeper document is only a way to make the parser work. */
#define API_REQUEST_JSON_DEPTH 4

static int fail(char fault[API_REQUEST_FAULT_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char fault[API_REQUEST_FAULT_MAX], const char *fmt, ...)
{
    va_list arguments;
    va_start(arguments, fmt);
    vsnprintf(fault, API_REQUEST_FAULT_MAX, fmt, arguments);
    va_end(arguments);
    return -1;
}

/* One JSON object and nothing else (whitespace aside); NULL with `fault` filled otherwise. */
static struct json_object *parse_object(const char *body, size_t length, char fault[API_REQUEST_FAULT_MAX])
{
    if (length == 0) {
        fail(fault, "the request needs a JSON body");
        return NULL;
    }
    if (length > (size_t)INT32_MAX) {
        fail(fault, "the body is too large");
        return NULL;
    }
    struct json_tokener *tokener = json_tokener_new_ex(API_REQUEST_JSON_DEPTH);
    if (!tokener) {
        fail(fault, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *object = json_tokener_parse_ex(tokener, body, (int)length);
    enum json_tokener_error parse_error = json_tokener_get_error(tokener);
    size_t consumed = json_tokener_get_parse_end(tokener);
    json_tokener_free(tokener);
    if (!object || parse_error != json_tokener_success) {
        json_object_put(object);
        fail(fault, "the body is not valid JSON: %s",
             parse_error == json_tokener_continue ? "it ends early" : json_tokener_error_desc(parse_error));
        return NULL;
    }
    for (size_t i = consumed; i < length; i++) {
        if (!strchr(" \t\r\n", body[i])) {
            json_object_put(object);
            fail(fault, "the body holds more than one JSON value");
            return NULL;
        }
    }
    if (!json_object_is_type(object, json_type_object)) {
        json_object_put(object);
        fail(fault, "the body must be a JSON object");
        return NULL;
    }
    return object;
}

/* The one string field `field` of `object`, which must have no other: NULL with `fault` filled otherwise. */
static const char *only_string_field(struct json_object *object, const char *field,
                                     char fault[API_REQUEST_FAULT_MAX])
{
    json_object_object_foreach(object, key, member) {
        (void)member;
        if (strcmp(key, field) != 0) {
            fail(fault, "unknown field '%.40s'", key);
            return NULL;
        }
    }
    struct json_object *value;
    if (!json_object_object_get_ex(object, field, &value)) {
        fail(fault, "missing field '%s'", field);
        return NULL;
    }
    if (!json_object_is_type(value, json_type_string)) {
        fail(fault, "field '%s' must be a string", field);
        return NULL;
    }
    return json_object_get_string(value);
}

int api_request_parse_vm_state(const char *body, size_t length, enum api_vm_state_change *change,
                               char fault[API_REQUEST_FAULT_MAX])
{
    struct json_object *object = parse_object(body, length, fault);
    if (!object)
        return -1;
    const char *state = only_string_field(object, "state", fault);
    int result = -1;
    if (state && strcmp(state, "Paused") == 0) {
        *change = API_VM_CHANGE_PAUSE;
        result = 0;
    } else if (state && strcmp(state, "Resumed") == 0) {
        *change = API_VM_CHANGE_RESUME;
        result = 0;
    } else if (state) {
        fail(fault, "state '%.40s' is not Paused or Resumed", state);
    }
    json_object_put(object);
    return result;
}

int api_request_parse_action(const char *body, size_t length, enum api_action *action,
                             char fault[API_REQUEST_FAULT_MAX])
{
    struct json_object *object = parse_object(body, length, fault);
    if (!object)
        return -1;
    const char *type = only_string_field(object, "action_type", fault);
    int result = -1;
    if (type && strcmp(type, "SendCtrlAltDel") == 0) {
        *action = API_ACTION_CTRL_ALT_DEL;
        result = 0;
    } else if (type && strcmp(type, "Stop") == 0) {
        *action = API_ACTION_STOP;
        result = 0;
    } else if (type) {
        fail(fault, "action_type '%.40s' is not SendCtrlAltDel or Stop", type);
    }
    json_object_put(object);
    return result;
}
