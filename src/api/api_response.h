#ifndef KESTREL_API_API_RESPONSE_H
#define KESTREL_API_API_RESPONSE_H

/*
 * Queuing the server's responses on a libmicrohttpd connection: JSON
 * documents, Firecracker's error body {"fault_message": "..."}, 204s and
 * text. Each returns what MHD_queue_response returned.
 */

#include <stddef.h>

#include <json-c/json.h>
#include <microhttpd.h>

/* Takes the reference to `document`. */
enum MHD_Result api_response_json(struct MHD_Connection *connection, unsigned status, struct json_object *document);
enum MHD_Result api_response_fault(struct MHD_Connection *connection, unsigned status, const char *message);
/* 405 with an Allow header listing `allow`. */
enum MHD_Result api_response_method_not_allowed(struct MHD_Connection *connection, const char *method,
                                                const char *allow);
enum MHD_Result api_response_empty(struct MHD_Connection *connection, unsigned status);
/* Takes `text` (malloc'd). */
enum MHD_Result api_response_text(struct MHD_Connection *connection, unsigned status, const char *content_type,
                                  char *text, size_t length);

#endif
