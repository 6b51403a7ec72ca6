#include "api/api_client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/http_libraries.h"

struct reply_buffer {
    char *bytes;
    size_t length;
    bool overflow;
};

static size_t collect(char *data, size_t size, size_t count, void *opaque)
{
    struct reply_buffer *reply = opaque;
    size_t bytes = size * count;
    if (bytes > API_CLIENT_BODY_MAX - reply->length) {
        reply->overflow = true;
        return 0; /* makes curl fail the transfer */
    }
    char *grown = realloc(reply->bytes, reply->length + bytes + 1);
    if (!grown)
        return 0;
    reply->bytes = grown;
    memcpy(reply->bytes + reply->length, data, bytes);
    reply->length += bytes;
    reply->bytes[reply->length] = '\0';
    return bytes;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static const struct curl_library *curl_functions;

static void init_curl(void)
{
    curl_init_result = curl_functions->global_init(CURL_GLOBAL_NOTHING);
}

int api_client_request_probe(const char *socket_path, const char *method, const char *path, const char *body,
                             struct api_client_response *response, bool *refused, struct error *error)
{
    memset(response, 0, sizeof(*response));
    if (refused)
        *refused = false;
    const struct curl_library *library = http_library_curl(error);
    if (!library)
        return -1;
    curl_functions = library;
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return error_set(error, EXIT_STATUS_FAILURE, "libcurl: %s", library->easy_strerror(curl_init_result));
    CURL *curl = library->easy_init();
    if (!curl)
        return error_set(error, EXIT_STATUS_FAILURE, "libcurl: cannot start a request");
    char url[256];
    snprintf(url, sizeof(url), "http://localhost%s", path);
    struct reply_buffer reply = {0};
    struct curl_slist *headers = NULL;
    library->easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    library->easy_setopt(curl, CURLOPT_URL, url);
    library->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    library->easy_setopt(curl, CURLOPT_TIMEOUT, (long)API_CLIENT_TIMEOUT_SECONDS);
    library->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    library->easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    library->easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    if (body) {
        headers = library->slist_append(headers, "Content-Type: application/json");
        library->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        library->easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        library->easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode result = library->easy_perform(curl);
    long status = 0;
    library->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    library->slist_free_all(headers);
    library->easy_cleanup(curl);
    if (result != CURLE_OK) {
        free(reply.bytes);
        if (refused && result == CURLE_COULDNT_CONNECT)
            *refused = true;
        return error_set(error, EXIT_STATUS_FAILURE, "%s: %s", socket_path,
                         reply.overflow ? "the reply is too large" : library->easy_strerror(result));
    }
    response->status = status;
    response->body = reply.bytes ? reply.bytes : strdup("");
    response->length = reply.length;
    if (!response->body)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory");
    return 0;
}

int api_client_request(const char *socket_path, const char *method, const char *path, const char *body,
                       struct api_client_response *response, struct error *error)
{
    return api_client_request_probe(socket_path, method, path, body, response, NULL, error);
}

void api_client_response_free(struct api_client_response *response)
{
    free(response->body);
    response->body = NULL;
    response->length = 0;
}

char *api_client_fault_message(const struct api_client_response *response)
{
    struct json_object *document = json_tokener_parse(response->body ? response->body : "");
    struct json_object *message;
    char *text = NULL;
    if (document && json_object_object_get_ex(document, "fault_message", &message) &&
        json_object_is_type(message, json_type_string))
        text = strdup(json_object_get_string(message));
    json_object_put(document);
    if (!text)
        text = strdup(response->body ? response->body : "");
    return text;
}
