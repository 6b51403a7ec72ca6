#ifndef KESTREL_CLI_NET_HOSTFWD_H
#define KESTREL_CLI_NET_HOSTFWD_H

/*
 * One hostfwd= value of --net user, [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
 * (QEMU's syntax; an empty protocol is tcp). Addresses are dotted IPv4 with
 * no leading zeros (inet_aton would read 010 as octal 8); HOSTADDR defaults
 * to CLI_NET_HOSTFWD_HOST, GUESTADDR to CLI_NET_USER_GUEST, and a guest
 * address must be a host of the user network other than its gateway and DNS.
 */

#include "cli_net.h"

/*
 * Appends the forward to spec->hostfwds. Errors (one line, EXIT_STATUS_USAGE):
 * a malformed value, a port outside 1..65535, more than CLI_NET_MAX_HOSTFWDS,
 * a host port and protocol this spec already forwards.
 */
int cli_net_hostfwd_parse(const char *value, struct net_spec *spec, struct error *error);

/* Whether `spec` forwards host port `port` of that protocol. */
bool cli_net_hostfwd_find_port(const struct net_spec *spec, bool udp, uint16_t port);

#endif
