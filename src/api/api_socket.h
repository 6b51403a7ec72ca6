#ifndef KESTREL_API_API_SOCKET_H
#define KESTREL_API_API_SOCKET_H

/*
 * Where API sockets live and how one is claimed.
 *
 * The runtime directory is $XDG_RUNTIME_DIR/kestrel/ when XDG_RUNTIME_DIR is
 * set and is a directory, else /tmp/kestrel-$UID/; it is created 0700 and
 * refused when another user owns it. `--name NAME` puts the socket at
 * DIR/NAME.sock. Every problem here is the user's (exit status 2).
 */

#include <stddef.h>

#include "util/error.h"

enum { API_NAME_MAX = 64 };

/* A VM name: 1 .. API_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'. */
int api_name_check(const char *name, struct error *error);

/* The runtime directory, created (0700) when `create` and missing. */
int api_runtime_directory(char *path, size_t size, int create, struct error *error);

/* DIR/NAME.sock, creating the directory. */
int api_runtime_socket_path(const char *name, char *path, size_t size, struct error *error);

/*
 * A listening Unix stream socket bound at `path`. A socket file left there by
 * a kestrel that died (connect() refused) is removed, with one line on stderr
 * saying so; a live one means the name or path is in use. `what` names the
 * socket in messages ("--api-sock /x/y" or "--name vm1").
 */
int api_socket_listen(const char *path, const char *what, struct error *error);

#endif
