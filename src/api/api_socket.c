#include "api/api_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

/*
 * Well above the server's connection cap: a client's non-blocking connect (curl's) fails at
 * once with EAGAIN when a Unix socket's backlog is full, so with a backlog the size of the cap
 * a burst of clients made `kestrel stat` fail with "Couldn't connect" instead of waiting its turn.
 */
enum { API_SOCKET_BACKLOG = 128 };

int api_name_check(const char *name, struct error *error)
{
    size_t length = strlen(name);
    if (length == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--name: the name is empty");
    if (length > API_NAME_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "--name: '%.20s...' is longer than %u bytes", name, API_NAME_MAX);
    if (name[0] == '.')
        return error_set(error, EXIT_STATUS_USAGE, "--name: '%s' starts with '.'", name);
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)name[i];
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-';
        if (!allowed)
            return error_set(error, EXIT_STATUS_USAGE,
                             "--name: '%s' holds byte 0x%02x (allowed: letters, digits, '.', '_', '-')", name, c);
    }
    return 0;
}

/* The directory must be ours and closed to others: anyone who can write it could plant a socket. */
static int check_directory(const char *path, struct error *error)
{
    struct stat status;
    if (lstat(path, &status) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "runtime directory %s: %s", path, strerror(errno));
    if (!S_ISDIR(status.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "runtime directory %s is not a directory", path);
    if (status.st_uid != geteuid())
        return error_set(error, EXIT_STATUS_USAGE, "runtime directory %s belongs to another user (uid %u)", path,
                         (unsigned)status.st_uid);
    if (status.st_mode & (S_IWGRP | S_IWOTH))
        return error_set(error, EXIT_STATUS_USAGE, "runtime directory %s is writable by others", path);
    return 0;
}

int api_runtime_directory(char *path, size_t size, int create, struct error *error)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    struct stat status;
    int written;
    if (base && base[0] == '/' && stat(base, &status) == 0 && S_ISDIR(status.st_mode))
        written = snprintf(path, size, "%s/kestrel", base);
    else
        written = snprintf(path, size, "/tmp/kestrel-%u", (unsigned)geteuid());
    if (written < 0 || (size_t)written >= size)
        return error_set(error, EXIT_STATUS_USAGE, "the runtime directory's path is too long");
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
        return error_set(error, EXIT_STATUS_USAGE, "cannot create the runtime directory %s: %s", path,
                         strerror(errno));
    return check_directory(path, error);
}

int api_runtime_socket_path(const char *name, char *path, size_t size, struct error *error)
{
    if (api_name_check(name, error) < 0)
        return -1;
    char directory[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (api_runtime_directory(directory, sizeof(directory), 1, error) < 0)
        return -1;
    int written = snprintf(path, size, "%s/%s.sock", directory, name);
    if (written < 0 || (size_t)written >= size)
        return error_set(error, EXIT_STATUS_USAGE, "--name %s: the socket path is too long", name);
    return 0;
}

static int fill_address(const char *path, struct sockaddr_un *address, const char *what, struct error *error)
{
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0)
        return error_set(error, EXIT_STATUS_USAGE, "%s: the path is empty", what);
    if (length >= sizeof(address->sun_path))
        return error_set(error, EXIT_STATUS_USAGE, "%s: the path is %zu bytes, longer than a socket allows (%zu)",
                         what, length, sizeof(address->sun_path) - 1);
    memcpy(address->sun_path, path, length);
    return 0;
}

/* 1: a server answers at `address`; 0: nothing listens (a stale socket file); -1: something else is there. */
static int probe(const struct sockaddr_un *address)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int result = connect(fd, (const struct sockaddr *)address, sizeof(*address));
    int saved = errno;
    close(fd);
    if (result == 0)
        return 1;
    return saved == ECONNREFUSED ? 0 : -1;
}

int api_socket_listen(const char *path, const char *what, struct error *error)
{
    struct sockaddr_un address;
    if (fill_address(path, &address, what, error) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "%s: socket: %s", what, strerror(errno));
    /* Two tries: the second after removing a stale socket file. */
    for (int attempt = 0;; attempt++) {
        if (bind(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
            break;
        int saved = errno;
        if (saved == ENOENT || saved == ENOTDIR) {
            close(fd);
            return error_set(error, EXIT_STATUS_USAGE, "%s: the directory does not exist", what);
        }
        if (saved != EADDRINUSE || attempt > 0) {
            close(fd);
            return error_set(error, EXIT_STATUS_USAGE, "%s: cannot bind: %s", what, strerror(saved));
        }
        struct stat status;
        if (lstat(path, &status) < 0 || !S_ISSOCK(status.st_mode)) {
            close(fd);
            return error_set(error, EXIT_STATUS_USAGE, "%s: the path exists and is not a socket", what);
        }
        int answer = probe(&address);
        if (answer != 0) {
            close(fd);
            return error_set(error, EXIT_STATUS_USAGE, "%s: %s", what,
                             answer == 1 ? "in use by a running kestrel" : "the path exists and cannot be probed");
        }
        if (unlink(path) < 0 && errno != ENOENT) {
            close(fd);
            return error_set(error, EXIT_STATUS_USAGE, "%s: cannot remove the stale socket: %s", what,
                             strerror(errno));
        }
        log_warn("%s: removed a stale socket left by a kestrel that is gone", what);
    }
    if (listen(fd, API_SOCKET_BACKLOG) < 0) {
        int saved = errno;
        close(fd);
        unlink(path);
        return error_set(error, EXIT_STATUS_FAILURE, "%s: listen: %s", what, strerror(saved));
    }
    return fd;
}
