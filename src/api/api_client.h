#ifndef KESTREL_API_API_CLIENT_H
#define KESTREL_API_API_CLIENT_H

/*
 * One HTTP request to a kestrel's API socket, through libcurl
 * (CURLOPT_UNIX_SOCKET_PATH). The reply body is bounded
 * (API_CLIENT_BODY_MAX) and the whole exchange times out
 * (API_CLIENT_TIMEOUT_SECONDS), so a wedged server cannot hang the CLI.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

enum {
    API_CLIENT_BODY_MAX = 1 << 20,
    API_CLIENT_TIMEOUT_SECONDS = 15, /* above a pause's drain of in-flight I/O */
};

struct api_client_response {
    long status;
    char *body; /* NUL-terminated, malloc'd; "" when empty */
    size_t length;
};

/*
 * 0 with `response` filled (any HTTP status), or -1: nothing answered.
 * `refused` (may be NULL) is set when the socket exists but nobody listens.
 */
int api_client_request(const char *socket_path, const char *method, const char *path, const char *body,
                       struct api_client_response *response, struct error *error);
/* Like api_client_request; `refused` tells a stale socket from other failures. */
int api_client_request_probe(const char *socket_path, const char *method, const char *path, const char *body,
                             struct api_client_response *response, bool *refused, struct error *error);
void api_client_response_free(struct api_client_response *response);

/* The fault_message of an error body, or the body itself; malloc'd. */
char *api_client_fault_message(const struct api_client_response *response);

#endif
