#ifndef KESTREL_API_API_SERVER_H
#define KESTREL_API_API_SERVER_H

/*
 * The control API: HTTP/1.1 on a Unix socket, served by libmicrohttpd on its
 * own thread, with Firecracker's paths and bodies where Firecracker has them
 * (docs/api.md). The server knows nothing of the VMM: the VMM hands it a
 * description of the VM, fixed for its life, and a table of callbacks, which
 * run on the server's thread one request at a time.
 *
 * A client can never harm the VM: bodies are bounded (API_SERVER_BODY_MAX,
 * 413 past it), slow clients time out (API_SERVER_CLIENT_TIMEOUT_SECONDS),
 * connections are capped (API_SERVER_CONNECTION_LIMIT) and every body is
 * checked by api_request.c before anything reaches the callbacks.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum {
    API_SERVER_BODY_MAX = 4096,
    API_SERVER_CLIENT_TIMEOUT_SECONDS = 5,
    API_SERVER_CONNECTION_LIMIT = 16,
    API_DESCRIPTION_MAX_DISKS = 8,
    API_DESCRIPTION_MAX_NETS = 8,
};

enum api_stats_format { API_STATS_JSON, API_STATS_PROMETHEUS };

enum api_vm_state { API_VM_RUNNING, API_VM_PAUSED };

/* What GET / and GET /vm/config report that never changes; strings live as long as the server. */
struct api_vm_description {
    const char *name;          /* --name, or NULL */
    unsigned vcpu_count;
    uint64_t memory_bytes;
    const char *kernel_path;
    const char *initrd_path;   /* NULL: none */
    const char *cmdline;
    struct {
        const char *path;
        bool read_only;
    } disks[API_DESCRIPTION_MAX_DISKS];
    unsigned disk_count;
    struct {
        const char *backend;   /* "user" or "tap" */
        const char *ifname;    /* NULL: none given */
    } nets[API_DESCRIPTION_MAX_NETS];
    unsigned net_count;
};

/*
 * The VMM's side. Each returns 0, or -1 with `error` filled (the message
 * becomes the response's fault_message). All are required.
 */
struct api_vm_ops {
    /* Returns once the vCPUs and I/O threads are stopped at a consistent point; idempotent. */
    int (*pause)(void *opaque, struct error *error);
    int (*resume)(void *opaque, struct error *error);
    /* Asks the guest to power off (ACPI power button) and forces the stop after a timeout; returns at once. */
    int (*request_stop)(void *opaque, struct error *error);
    /* Presses Ctrl-Alt-Del on the guest's keyboard; fails when the guest would not see it. */
    int (*ctrl_alt_del)(void *opaque, struct error *error);
    /* Malloc'd text or NULL. */
    char *(*render_stats)(void *opaque, enum api_stats_format format, size_t *length);
    enum api_vm_state (*state)(void *opaque);
    uint64_t (*uptime_ns)(void *opaque);
};

struct api_server;

/*
 * Serves `listen_fd` (a listening Unix stream socket, api_socket_listen; the
 * server owns it from now on, also on failure) on a new thread.
 * `socket_path`, when not NULL, is unlinked by api_server_stop.
 */
struct api_server *api_server_start(int listen_fd, const char *socket_path, const struct api_vm_description *description,
                                    const struct api_vm_ops *ops, void *opaque, struct error *error);
/* Stops the thread, closes every connection and the socket, unlinks the path. NULL is allowed. */
void api_server_stop(struct api_server *server);

#endif
