#include "api/api_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http_libraries.h"

/* Responses are made only in a running server's handlers, so the library is loaded. */
static const struct microhttpd_library *library(void)
{
    return http_library_microhttpd(NULL);
}

static enum MHD_Result queue(struct MHD_Connection *connection, unsigned status, struct MHD_Response *response,
                             const char *content_type)
{
    if (!response)
        return MHD_NO;
    if (content_type)
        library()->add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result result = library()->queue_response(connection, status, response);
    library()->destroy_response(response);
    return result;
}

enum MHD_Result api_response_json(struct MHD_Connection *connection, unsigned status, struct json_object *document)
{
    size_t length = 0;
    const char *text = json_object_to_json_string_length(document, JSON_C_TO_STRING_PLAIN, &length);
    struct MHD_Response *response =
        text ? library()->create_response_from_buffer(length, (void *)text, MHD_RESPMEM_MUST_COPY) : NULL;
    json_object_put(document);
    return queue(connection, status, response, "application/json");
}

enum MHD_Result api_response_fault(struct MHD_Connection *connection, unsigned status, const char *message)
{
    struct json_object *fault = json_object_new_object();
    json_object_object_add(fault, "fault_message", json_object_new_string(message));
    return api_response_json(connection, status, fault);
}

enum MHD_Result api_response_method_not_allowed(struct MHD_Connection *connection, const char *method,
                                                const char *allow)
{
    char message[96];
    snprintf(message, sizeof(message), "method %.16s is not allowed here (allowed: %.40s)", method, allow);
    struct json_object *fault = json_object_new_object();
    json_object_object_add(fault, "fault_message", json_object_new_string(message));
    size_t length = 0;
    const char *text = json_object_to_json_string_length(fault, JSON_C_TO_STRING_PLAIN, &length);
    struct MHD_Response *response =
        text ? library()->create_response_from_buffer(length, (void *)text, MHD_RESPMEM_MUST_COPY) : NULL;
    json_object_put(fault);
    if (response)
        library()->add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(connection, MHD_HTTP_METHOD_NOT_ALLOWED, response, "application/json");
}

enum MHD_Result api_response_empty(struct MHD_Connection *connection, unsigned status)
{
    return queue(connection, status, library()->create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
}

enum MHD_Result api_response_text(struct MHD_Connection *connection, unsigned status, const char *content_type,
                                  char *text, size_t length)
{
    struct MHD_Response *response = library()->create_response_from_buffer(length, text, MHD_RESPMEM_MUST_FREE);
    if (!response)
        free(text);
    return queue(connection, status, response, content_type);
}
