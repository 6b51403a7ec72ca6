#include "control.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "api/api_client.h"
#include "api/api_socket.h"
#include "util/error.h"
#include "util/log.h"

enum { CONTROL_PATH_MAX = sizeof(((struct sockaddr_un *)0)->sun_path) };

static int usage(const char *message)
{
    log_error("%s", message);
    return EXIT_STATUS_USAGE;
}

static const char *field_text(struct json_object *document, const char *field, char *buffer, size_t size)
{
    struct json_object *value;
    if (!document || !json_object_object_get_ex(document, field, &value))
        return "?";
    snprintf(buffer, size, "%s", json_object_get_string(value));
    return buffer;
}

static void print_row(const char *name, const struct api_client_response *response)
{
    struct json_object *info = json_tokener_parse(response->body);
    char pid[32], state[32], vcpus[32], memory[32], uptime[32];
    const char *uptime_ns = field_text(info, "uptime_ns", uptime, sizeof(uptime));
    double seconds = strtod(uptime_ns, NULL) / 1e9;
    printf("%-20s %8s %-8s %5s %10s %10.0f\n", name, field_text(info, "pid", pid, sizeof(pid)),
           field_text(info, "state", state, sizeof(state)), field_text(info, "vcpus", vcpus, sizeof(vcpus)),
           field_text(info, "memory_mib", memory, sizeof(memory)), seconds);
    json_object_put(info);
}

static int list(void)
{
    char directory[CONTROL_PATH_MAX];
    struct error error = {0};
    printf("%-20s %8s %-8s %5s %10s %10s\n", "NAME", "PID", "STATE", "VCPUS", "MEMORY_MIB", "UPTIME_S");
    if (api_runtime_directory(directory, sizeof(directory), 0, &error) < 0)
        return EXIT_STATUS_OK; /* no directory: no VM was ever named here */
    DIR *listing = opendir(directory);
    if (!listing)
        return EXIT_STATUS_OK;
    struct dirent *entry;
    unsigned seen = 0;
    while ((entry = readdir(listing)) && seen < 4096) {
        size_t length = strlen(entry->d_name);
        if (length <= 5 || strcmp(entry->d_name + length - 5, ".sock") != 0)
            continue;
        seen++;
        char path[CONTROL_PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", directory, entry->d_name) >= (int)sizeof(path))
            continue;
        char name[API_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%.*s", (int)(length - 5), entry->d_name);
        struct api_client_response response;
        bool refused = false;
        if (api_client_request_probe(path, "GET", "/", NULL, &response, &refused, &error) < 0) {
            printf("%-20s %s\n", name, refused ? "(stale socket: its kestrel is gone)" : "(not answering)");
            continue;
        }
        if (response.status == 200)
            print_row(name, &response);
        else
            printf("%-20s (answered %ld)\n", name, response.status);
        api_client_response_free(&response);
    }
    closedir(listing);
    return EXIT_STATUS_OK;
}

int control_socket_for(const char *command, const char *name, char *path, size_t size)
{
    struct error error = {0};
    if (api_name_check(name, &error) < 0)
        return usage(error.message);
    char directory[CONTROL_PATH_MAX];
    struct stat status;
    if (api_runtime_directory(directory, sizeof(directory), 0, &error) < 0 ||
        snprintf(path, size, "%s/%s.sock", directory, name) >= (int)size || lstat(path, &status) < 0 ||
        !S_ISSOCK(status.st_mode)) {
        log_error("%s: no VM named '%s'", command, name);
        return EXIT_STATUS_USAGE;
    }
    return EXIT_STATUS_OK;
}

static int act(const char *command, const char *name)
{
    struct error error = {0};
    char path[CONTROL_PATH_MAX];
    int status = control_socket_for(command, name, path, sizeof(path));
    if (status != EXIT_STATUS_OK)
        return status;
    const char *method = "PATCH", *target = "/vm", *body;
    if (strcmp(command, "pause") == 0) {
        body = "{\"state\":\"Paused\"}";
    } else if (strcmp(command, "resume") == 0) {
        body = "{\"state\":\"Resumed\"}";
    } else {
        method = "PUT";
        target = "/actions";
        body = strcmp(command, "ctrl-alt-del") == 0 ? "{\"action_type\":\"SendCtrlAltDel\"}"
                                                     : "{\"action_type\":\"Stop\"}";
    }
    struct api_client_response response;
    bool refused = false;
    if (api_client_request_probe(path, method, target, body, &response, &refused, &error) < 0) {
        if (refused) {
            log_error("%s: VM '%s' is gone (a stale socket at %s)", command, name, path);
            return EXIT_STATUS_USAGE;
        }
        log_error("%s: %s", command, error.message);
        return EXIT_STATUS_FAILURE;
    }
    int result = EXIT_STATUS_OK;
    if (response.status != 204) {
        char *message = api_client_fault_message(&response);
        log_error("%s %s: %s (HTTP %ld)", command, name, message ? message : "", response.status);
        free(message);
        result = EXIT_STATUS_FAILURE;
    }
    api_client_response_free(&response);
    return result;
}

int control_main(int argc, char *const argv[])
{
    const char *command = argv[1];
    if (strcmp(command, "list") == 0) {
        if (argc != 2)
            return usage("list takes no arguments");
        return list();
    }
    if (strcmp(command, "stat") == 0)
        return control_stat_main(argc, argv);
    if (argc != 3) {
        log_error("%s needs one VM name (kestrel %s NAME)", command, command);
        return EXIT_STATUS_USAGE;
    }
    return act(command, argv[2]);
}
