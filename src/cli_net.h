#ifndef KESTREL_CLI_NET_H
#define KESTREL_CLI_NET_H

/*
 * The value of one --net option, BACKEND[,key=value...] (the syntax is in
 * cli.h). Parsed in place: `text` must be writable, and the commas between
 * keys become NULs so that spec->ifname can point into it. No value holds a
 * comma, so there is no escape for one.
 */

#include "cli.h"

/*
 * The user-mode network libslirp gives the guest: 10.0.2.0/24, the host (the
 * gateway) at .2, its DNS server at .3, and the first DHCP address .15, which
 * a hostfwd without GUESTADDR forwards to.
 */
#define CLI_NET_USER_NETWORK       0x0a000200u /* 10.0.2.0 */
#define CLI_NET_USER_NETMASK       0xffffff00u
#define CLI_NET_USER_GATEWAY       0x0a000202u /* 10.0.2.2 */
#define CLI_NET_USER_DNS           0x0a000203u /* 10.0.2.3 */
#define CLI_NET_USER_GUEST         0x0a00020fu /* 10.0.2.15 */
#define CLI_NET_HOSTFWD_HOST       0x7f000001u /* 127.0.0.1: a forward reachable from this host only */

/* Syntax and per-NIC checks. Every error is one line with EXIT_STATUS_USAGE. */
int cli_net_parse(char *text, struct net_spec *spec, struct error *error);

/*
 * The queue pairs a NIC gets: queues= for a tap, else one per vCPU (at most
 * CLI_NET_MAX_QUEUE_PAIRS); always one for user networking.
 */
unsigned cli_net_queue_pairs(const struct net_spec *spec, unsigned cpu_count);

/* After every option (--cpus may come later): iothreads= within the NIC's queue pairs. */
int cli_net_check_against_cpus(const struct net_spec *spec, unsigned cpu_count, struct error *error);

/*
 * What needs every --net at once: no two NICs with the same mac= or ifname=,
 * and no host port forwarded twice (per protocol) across them.
 */
int cli_net_check_distinct(const struct net_spec *nets, unsigned count, struct error *error);

#endif
