#include "vmm_api.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "api/api_socket.h"
#include "api/http_libraries.h"

static int claim(const struct vm_config *config, char *path, size_t size, int *fd, struct error *error)
{
    *fd = -1;
    char what[160];
    if (config->api_socket_path) {
        snprintf(what, sizeof(what), "--api-sock %s", config->api_socket_path);
        if (strlen(config->api_socket_path) >= size)
            return error_set(error, EXIT_STATUS_USAGE, "%s: the path is longer than a socket allows (%zu)", what,
                             size - 1);
        snprintf(path, size, "%s", config->api_socket_path);
    } else if (config->name) {
        snprintf(what, sizeof(what), "--name %s", config->name);
        if (api_runtime_socket_path(config->name, path, size, error) < 0)
            return -1;
    } else {
        return 0;
    }
    *fd = api_socket_listen(path, what, error);
    return *fd < 0 ? -1 : 0;
}

void vmm_api_describe(const struct vm_config *config, struct api_vm_description *description)
{
    memset(description, 0, sizeof(*description));
    description->name = config->name;
    description->vcpu_count = config->cpu_count;
    description->memory_bytes = config->memory_size;
    description->kernel_path = config->kernel_path;
    description->initrd_path = config->initrd_path;
    description->cmdline = config->cmdline;
    for (unsigned i = 0; i < config->disk_count && i < API_DESCRIPTION_MAX_DISKS; i++) {
        description->disks[i].path = config->disks[i].path;
        description->disks[i].read_only = config->disks[i].read_only;
        description->disk_count++;
    }
    for (unsigned i = 0; i < config->net_count && i < API_DESCRIPTION_MAX_NETS; i++) {
        description->nets[i].backend = config->nets[i].backend == NET_BACKEND_TAP ? "tap" : "user";
        description->nets[i].ifname = config->nets[i].ifname;
        description->net_count++;
    }
}

int vmm_api_listen(struct vmm_api *api, const struct vm_config *config, struct error *error)
{
    if (claim(config, api->path, sizeof(api->path), &api->fd, error) < 0)
        return -1;
    /* Loaded now, with the input, not when the server starts: by then Landlock no longer lets kestrel read it. */
    if (api->fd >= 0 && !http_library_microhttpd(error))
        return -1;
    return 0;
}

int vmm_api_start(struct vmm_api *api, const struct vm_config *config, const struct vm_control *control,
                  struct error *error)
{
    if (api->fd < 0)
        return 0;
    api->control = *control;
    if (vm_control_init(&api->control, error) < 0)
        return -1;
    api->control_ready = true;
    vmm_api_describe(config, &api->description);
    int fd = api->fd;
    api->fd = -1;
    api->server = api_server_start(fd, api->path, &api->description, &vm_control_api_ops, &api->control, error);
    return api->server ? 0 : -1;
}

void vmm_api_stop(struct vmm_api *api)
{
    api_server_stop(api->server);
    api->server = NULL;
    if (api->fd >= 0) {
        close(api->fd);
        unlink(api->path);
        api->fd = -1;
    }
}

void vmm_api_destroy(struct vmm_api *api)
{
    if (api->control_ready)
        vm_control_destroy(&api->control);
    api->control_ready = false;
}
