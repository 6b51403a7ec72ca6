#ifndef KESTREL_CONTROL_H
#define KESTREL_CONTROL_H

#include <stddef.h>

/*
 * The CLI as a client of running kestrels' API sockets (api/api_client.h):
 *   kestrel list                   one row per socket in the runtime directory
 *   kestrel pause|resume|stop NAME PATCH /vm or PUT /actions {"action_type":"Stop"}
 *   kestrel ctrl-alt-del NAME      PUT /actions {"action_type":"SendCtrlAltDel"}
 *   kestrel stat NAME [--once] [--json]  GET /stats each second (control_stat.c)
 * An unknown name, a stale socket or bad usage: one line, status 2; a VM
 * that refuses: its fault_message, status 1.
 */

/* argv[1] is the command. Returns the process exit status. */
int control_main(int argc, char *const argv[]);
int control_stat_main(int argc, char *const argv[]);

/* NAME's socket in the runtime directory: EXIT_STATUS_OK, or the status after a one-line error. */
int control_socket_for(const char *command, const char *name, char *path, size_t size);

#endif
