#ifndef KESTREL_TESTS_UNIT_API_FIXTURE_H
#define KESTREL_TESTS_UNIT_API_FIXTURE_H

/*
 * A control API server on a socket in a fresh temporary directory, in front
 * of a fake VM that records what it was asked, and a raw-socket client for
 * the requests libcurl would not send (malformed, partial, abandoned).
 */

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_server.h"
#include "api/api_socket.h"

struct fake_vm {
    atomic_int paused;
    atomic_int pauses, resumes, stops, ctrl_alt_dels;
    atomic_int fail_next; /* the next callback fails */
};

static int fake_result(struct fake_vm *vm, struct error *error)
{
    if (atomic_exchange(&vm->fail_next, 0))
        return error_set(error, EXIT_STATUS_FAILURE, "the fake VM refused");
    return 0;
}

static int fake_pause(void *opaque, struct error *error)
{
    struct fake_vm *vm = opaque;
    atomic_fetch_add(&vm->pauses, 1);
    if (fake_result(vm, error) < 0)
        return -1;
    atomic_store(&vm->paused, 1);
    return 0;
}

static int fake_resume(void *opaque, struct error *error)
{
    struct fake_vm *vm = opaque;
    atomic_fetch_add(&vm->resumes, 1);
    if (fake_result(vm, error) < 0)
        return -1;
    atomic_store(&vm->paused, 0);
    return 0;
}

static int fake_request_stop(void *opaque, struct error *error)
{
    struct fake_vm *vm = opaque;
    atomic_fetch_add(&vm->stops, 1);
    return fake_result(vm, error);
}

static int fake_ctrl_alt_del(void *opaque, struct error *error)
{
    struct fake_vm *vm = opaque;
    atomic_fetch_add(&vm->ctrl_alt_dels, 1);
    return fake_result(vm, error);
}

static char *fake_render_stats(void *opaque, enum api_stats_format format, size_t *length)
{
    struct fake_vm *vm = opaque;
    char *text = malloc(128);
    if (!text || atomic_exchange(&vm->fail_next, 0)) {
        free(text);
        return NULL;
    }
    if (format == API_STATS_JSON)
        snprintf(text, 128, "{\"uptime_ns\":42,\"vcpus\":[]}");
    else
        snprintf(text, 128, "# TYPE kestrel_uptime_seconds gauge\nkestrel_uptime_seconds 42\n");
    *length = strlen(text);
    return text;
}

static enum api_vm_state fake_state(void *opaque)
{
    struct fake_vm *vm = opaque;
    return atomic_load(&vm->paused) ? API_VM_PAUSED : API_VM_RUNNING;
}

static uint64_t fake_uptime_ns(void *opaque)
{
    (void)opaque;
    return 1234567;
}

static const struct api_vm_ops fake_vm_ops = {
    .pause = fake_pause,
    .resume = fake_resume,
    .request_stop = fake_request_stop,
    .ctrl_alt_del = fake_ctrl_alt_del,
    .render_stats = fake_render_stats,
    .state = fake_state,
    .uptime_ns = fake_uptime_ns,
};

struct api_fixture {
    char directory[64];
    char socket_path[96];
    struct fake_vm vm;
    struct api_vm_description description;
    struct api_server *server;
};

static struct api_fixture *api_fixture_start(void)
{
    struct api_fixture *fixture = calloc(1, sizeof(*fixture));
    if (!fixture)
        return NULL;
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/kestrel-api-test-XXXXXX");
    if (!mkdtemp(fixture->directory)) {
        free(fixture);
        return NULL;
    }
    snprintf(fixture->socket_path, sizeof(fixture->socket_path), "%s/vm.sock", fixture->directory);
    fixture->description = (struct api_vm_description){
        .name = "testvm",
        .vcpu_count = 2,
        .memory_bytes = 256ull << 20,
        .kernel_path = "/boot/vmlinuz",
        .cmdline = "console=ttyS0",
        .disk_count = 1,
        .net_count = 1,
    };
    fixture->description.disks[0].path = "/var/disk.img";
    fixture->description.disks[0].read_only = true;
    fixture->description.nets[0].backend = "user";
    struct error error = {0};
    int fd = api_socket_listen(fixture->socket_path, "test socket", &error);
    if (fd >= 0)
        fixture->server =
            api_server_start(fd, fixture->socket_path, &fixture->description, &fake_vm_ops, &fixture->vm, &error);
    if (!fixture->server) {
        fprintf(stderr, "api fixture: %s\n", error.message);
        rmdir(fixture->directory);
        free(fixture);
        return NULL;
    }
    return fixture;
}

static void api_fixture_stop(struct api_fixture *fixture)
{
    api_server_stop(fixture->server);
    rmdir(fixture->directory);
    free(fixture);
}

static int api_fixture_connect(const struct api_fixture *fixture)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", fixture->socket_path);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends `request` as is and reads the reply until the server closes or `timeout_ms` passes; bytes read. */
static size_t api_fixture_raw(const struct api_fixture *fixture, const char *request, size_t request_length,
                              char *reply, size_t reply_size, int timeout_ms)
{
    int fd = api_fixture_connect(fixture);
    if (fd < 0)
        return 0;
    size_t sent = 0;
    while (sent < request_length) {
        ssize_t written = send(fd, request + sent, request_length - sent, MSG_NOSIGNAL);
        if (written <= 0)
            break;
        sent += (size_t)written;
    }
    size_t length = 0;
    while (length + 1 < reply_size) {
        struct pollfd poll_fd = {.fd = fd, .events = POLLIN};
        if (poll(&poll_fd, 1, timeout_ms) <= 0)
            break;
        ssize_t got = read(fd, reply + length, reply_size - 1 - length);
        if (got <= 0)
            break;
        length += (size_t)got;
    }
    reply[length] = '\0';
    close(fd);
    return length;
}

#endif
