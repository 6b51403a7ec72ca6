#include "api/api_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "api/http_libraries.h"
#include "api/api_request.h"
#include "api/api_response.h"
#include "sandbox/sandbox.h"

struct api_server {
    struct MHD_Daemon *daemon;
    const struct api_vm_description *description;
    const struct api_vm_ops *ops;
    void *opaque;
    char *socket_path;
};

/* One request's body as it arrives; MHD hands it over in pieces. */
struct api_request_body {
    char bytes[API_SERVER_BODY_MAX];
    size_t length;
    bool too_large;
};

typedef enum MHD_Result (*api_route_handler)(struct api_server *server, struct MHD_Connection *connection,
                                             const struct api_request_body *body);

static enum MHD_Result get_instance(struct api_server *server, struct MHD_Connection *connection,
                                    const struct api_request_body *body)
{
    (void)body;
    const struct api_vm_description *description = server->description;
    struct json_object *info = json_object_new_object();
    json_object_object_add(info, "id",
                           json_object_new_string(description->name ? description->name : "anonymous-instance"));
    json_object_object_add(info, "app_name", json_object_new_string("kestrel"));
    bool paused = server->ops->state(server->opaque) == API_VM_PAUSED;
    json_object_object_add(info, "state", json_object_new_string(paused ? "Paused" : "Running"));
    json_object_object_add(info, "vmm_version", json_object_new_string(KESTREL_VERSION));
    json_object_object_add(info, "pid", json_object_new_int64((int64_t)getpid()));
    json_object_object_add(info, "vcpus", json_object_new_int64(description->vcpu_count));
    json_object_object_add(info, "memory_mib", json_object_new_int64((int64_t)(description->memory_bytes >> 20)));
    json_object_object_add(info, "uptime_ns", json_object_new_uint64(server->ops->uptime_ns(server->opaque)));
    return api_response_json(connection, MHD_HTTP_OK, info);
}

static struct json_object *string_or_null(const char *text)
{
    return text ? json_object_new_string(text) : NULL;
}

static enum MHD_Result get_config(struct api_server *server, struct MHD_Connection *connection,
                                  const struct api_request_body *body)
{
    (void)body;
    const struct api_vm_description *description = server->description;
    struct json_object *config = json_object_new_object();
    struct json_object *boot = json_object_new_object();
    json_object_object_add(boot, "kernel_image_path", string_or_null(description->kernel_path));
    json_object_object_add(boot, "initrd_path", string_or_null(description->initrd_path));
    json_object_object_add(boot, "boot_args", string_or_null(description->cmdline));
    json_object_object_add(config, "boot-source", boot);
    struct json_object *machine = json_object_new_object();
    json_object_object_add(machine, "vcpu_count", json_object_new_int64(description->vcpu_count));
    json_object_object_add(machine, "mem_size_mib", json_object_new_int64((int64_t)(description->memory_bytes >> 20)));
    json_object_object_add(machine, "smt", json_object_new_boolean(0));
    json_object_object_add(config, "machine-config", machine);
    struct json_object *drives = json_object_new_array();
    for (unsigned i = 0; i < description->disk_count && i < API_DESCRIPTION_MAX_DISKS; i++) {
        struct json_object *drive = json_object_new_object();
        char id[16];
        snprintf(id, sizeof(id), "vd%c", 'a' + (char)i);
        json_object_object_add(drive, "drive_id", json_object_new_string(id));
        json_object_object_add(drive, "path_on_host", string_or_null(description->disks[i].path));
        json_object_object_add(drive, "is_read_only", json_object_new_boolean(description->disks[i].read_only));
        json_object_object_add(drive, "is_root_device", json_object_new_boolean(0));
        json_object_array_add(drives, drive);
    }
    json_object_object_add(config, "drives", drives);
    struct json_object *nets = json_object_new_array();
    for (unsigned i = 0; i < description->net_count && i < API_DESCRIPTION_MAX_NETS; i++) {
        struct json_object *net = json_object_new_object();
        char id[16];
        snprintf(id, sizeof(id), "net%u", i);
        json_object_object_add(net, "iface_id", json_object_new_string(id));
        json_object_object_add(net, "backend", string_or_null(description->nets[i].backend));
        json_object_object_add(net, "host_dev_name", string_or_null(description->nets[i].ifname));
        json_object_array_add(nets, net);
    }
    json_object_object_add(config, "network-interfaces", nets);
    return api_response_json(connection, MHD_HTTP_OK, config);
}

static enum MHD_Result patch_vm(struct api_server *server, struct MHD_Connection *connection,
                                const struct api_request_body *body)
{
    char fault[API_REQUEST_FAULT_MAX];
    enum api_vm_state_change change;
    if (api_request_parse_vm_state(body->bytes, body->length, &change, fault) < 0)
        return api_response_fault(connection, MHD_HTTP_BAD_REQUEST, fault);
    struct error error = {0};
    int result = change == API_VM_CHANGE_PAUSE ? server->ops->pause(server->opaque, &error)
                                               : server->ops->resume(server->opaque, &error);
    if (result < 0)
        return api_response_fault(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, error.message);
    return api_response_empty(connection, MHD_HTTP_NO_CONTENT);
}

static enum MHD_Result put_actions(struct api_server *server, struct MHD_Connection *connection,
                                   const struct api_request_body *body)
{
    char fault[API_REQUEST_FAULT_MAX];
    enum api_action action;
    if (api_request_parse_action(body->bytes, body->length, &action, fault) < 0)
        return api_response_fault(connection, MHD_HTTP_BAD_REQUEST, fault);
    struct error error = {0};
    int result = action == API_ACTION_STOP ? server->ops->request_stop(server->opaque, &error)
                                           : server->ops->ctrl_alt_del(server->opaque, &error);
    if (result < 0)
        return api_response_fault(connection, MHD_HTTP_CONFLICT, error.message);
    return api_response_empty(connection, MHD_HTTP_NO_CONTENT);
}

static enum MHD_Result get_stats_in(struct api_server *server, struct MHD_Connection *connection,
                                    enum api_stats_format format)
{
    size_t length = 0;
    char *text = server->ops->render_stats(server->opaque, format, &length);
    if (!text)
        return api_response_fault(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "the statistics could not be rendered");
    const char *type = format == API_STATS_JSON ? "application/json" : "text/plain; version=0.0.4; charset=utf-8";
    return api_response_text(connection, MHD_HTTP_OK, type, text, length);
}

static enum MHD_Result get_stats(struct api_server *server, struct MHD_Connection *connection,
                                 const struct api_request_body *body)
{
    (void)body;
    return get_stats_in(server, connection, API_STATS_JSON);
}

static enum MHD_Result get_metrics(struct api_server *server, struct MHD_Connection *connection,
                                   const struct api_request_body *body)
{
    (void)body;
    return get_stats_in(server, connection, API_STATS_PROMETHEUS);
}

static const struct api_route {
    const char *path;
    const char *method;
    api_route_handler handler;
} routes[] = {
    {"/", "GET", get_instance},       {"/vm/config", "GET", get_config}, {"/vm", "PATCH", patch_vm},
    {"/actions", "PUT", put_actions}, {"/stats", "GET", get_stats},      {"/metrics", "GET", get_metrics},
};

static enum MHD_Result dispatch(struct api_server *server, struct MHD_Connection *connection, const char *url,
                                const char *method, const struct api_request_body *body)
{
    char allow[64] = "";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, url) != 0)
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return routes[i].handler(server, connection, body);
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", routes[i].method);
    }
    if (allow[0])
        return api_response_method_not_allowed(connection, method, allow);
    return api_response_fault(connection, MHD_HTTP_NOT_FOUND, "no such path");
}

/* A Content-Length that already says the body will not fit; a missing or odd one is left to the count. */
static bool declared_too_large(struct MHD_Connection *connection)
{
    const char *declared = http_library_microhttpd(NULL)->lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!declared)
        return false;
    errno = 0;
    char *end;
    unsigned long long length = strtoull(declared, &end, 10);
    return errno == ERANGE || (*end == '\0' && length > API_SERVER_BODY_MAX);
}

static enum MHD_Result handle_connection(void *cls, struct MHD_Connection *connection, const char *url,
                                         const char *method, const char *version, const char *upload_data,
                                         size_t *upload_data_size, void **request_state)
{
    (void)version;
    struct api_server *server = cls;
    struct api_request_body *body = *request_state;
    if (!body) {
        body = calloc(1, sizeof(*body));
        if (!body)
            return MHD_NO;
        *request_state = body;
        if (declared_too_large(connection)) {
            body->too_large = true;
            return api_response_fault(connection, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than 4096 bytes");
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* Past the limit the rest is read and dropped; the client then gets 413 and the connection closes. */
        if (!body->too_large && *upload_data_size <= sizeof(body->bytes) - body->length) {
            memcpy(body->bytes + body->length, upload_data, *upload_data_size);
            body->length += *upload_data_size;
        } else {
            body->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (body->too_large)
        return api_response_fault(connection, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than 4096 bytes");
    return dispatch(server, connection, url, method, body);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **request_state,
                              enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)connection;
    (void)code;
    free(*request_state);
    *request_state = NULL;
}

/*
 * libmicrohttpd starts its polling thread itself, so the API thread takes its
 * filter on its first connection, before it reads a byte from a client.
 */
static void filter_api_thread(void *cls, struct MHD_Connection *connection, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)connection;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && sandbox_thread_kind() != THREAD_KIND_API)
        sandbox_thread_enter(THREAD_KIND_API);
}

struct api_server *api_server_start(int listen_fd, const char *socket_path, const struct api_vm_description *description,
                                    const struct api_vm_ops *ops, void *opaque, struct error *error)
{
    const struct microhttpd_library *library = http_library_microhttpd(error);
    if (!library) {
        close(listen_fd);
        return NULL;
    }
    struct api_server *server = calloc(1, sizeof(*server));
    if (!server || (socket_path && !(server->socket_path = strdup(socket_path)))) {
        free(server);
        close(listen_fd);
        error_set(error, EXIT_STATUS_FAILURE, "api: out of memory");
        return NULL;
    }
    server->description = description;
    server->ops = ops;
    server->opaque = opaque;
    /* One polling thread: the VM's callbacks run one request at a time, and poll() has no FD_SETSIZE limit. */
    server->daemon = library->start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, handle_connection, server, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_SERVER_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)API_SERVER_CLIENT_TIMEOUT_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, filter_api_thread, NULL,
        MHD_OPTION_END);
    if (!server->daemon) {
        close(listen_fd);
        if (server->socket_path)
            unlink(server->socket_path);
        free(server->socket_path);
        free(server);
        error_set(error, EXIT_STATUS_FAILURE, "api: the HTTP server (libmicrohttpd) did not start");
        return NULL;
    }
    return server;
}

void api_server_stop(struct api_server *server)
{
    if (!server)
        return;
    /* MHD closes the listening socket it was given. */
    /* A server exists only once the library was loaded, so this cannot fail. */
    http_library_microhttpd(NULL)->stop_daemon(server->daemon);
    if (server->socket_path)
        unlink(server->socket_path);
    free(server->socket_path);
    free(server);
}
