#include "cli_net.h"

#include <stdio.h>
#include <string.h>

#include "cli_net_hostfwd.h"

enum net_key {
    NET_KEY_HOSTFWD,
    NET_KEY_MAC,
    NET_KEY_IFNAME,
    NET_KEY_VHOST,
    NET_KEY_QUEUES,
    NET_KEY_IOTHREADS,
    NET_KEY_COUNT,
};

static const struct {
    const char *name;
    bool for_user;
    bool for_tap;
} net_keys[NET_KEY_COUNT] = {
    [NET_KEY_HOSTFWD] = {"hostfwd", true, false}, [NET_KEY_MAC] = {"mac", true, true},
    [NET_KEY_IFNAME] = {"ifname", false, true},   [NET_KEY_VHOST] = {"vhost", false, true},
    [NET_KEY_QUEUES] = {"queues", false, true},     [NET_KEY_IOTHREADS] = {"iothreads", true, true},
};

static const char *backend_name(enum net_backend_kind backend)
{
    return backend == NET_BACKEND_TAP ? "tap" : "user";
}

static bool key_fits(enum net_key key, enum net_backend_kind backend)
{
    return backend == NET_BACKEND_TAP ? net_keys[key].for_tap : net_keys[key].for_user;
}

static int find_key(const char *name)
{
    for (int key = 0; key < NET_KEY_COUNT; key++) {
        if (strcmp(name, net_keys[key].name) == 0)
            return key;
    }
    return -1;
}

static int parse_backend(const char *name, struct net_spec *spec, struct error *error)
{
    if (name[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net: no backend given: --net user[,key=value...] or --net tap[,key=value...]");
    if (strcmp(name, "user") == 0)
        spec->backend = NET_BACKEND_USER;
    else if (strcmp(name, "tap") == 0)
        spec->backend = NET_BACKEND_TAP;
    else
        return error_set(error, EXIT_STATUS_USAGE, "--net: unknown backend '%s' (user or tap)", name);
    return 0;
}

static int hex_digit(char character)
{
    if (character >= '0' && character <= '9')
        return character - '0';
    if (character >= 'a' && character <= 'f')
        return character - 'a' + 10;
    if (character >= 'A' && character <= 'F')
        return character - 'A' + 10;
    return -1;
}

/* Six two-digit hex octets, all separated by ':' or all by '-'. */
static bool mac_read(const char *text, uint8_t mac[6])
{
    if (strlen(text) != 17)
        return false;
    char separator = text[2];
    if (separator != ':' && separator != '-')
        return false;
    for (unsigned octet = 0; octet < 6; octet++) {
        const char *digits = text + octet * 3;
        int high = hex_digit(digits[0]);
        int low = hex_digit(digits[1]);
        if (high < 0 || low < 0)
            return false;
        if (octet < 5 && digits[2] != separator)
            return false;
        mac[octet] = (uint8_t)(high << 4 | low);
    }
    return true;
}

static int parse_mac(const char *value, struct net_spec *spec, struct error *error)
{
    if (!mac_read(value, spec->mac))
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net %s: mac=%s: not six two-digit hex octets like 52:54:00:12:34:56",
                         backend_name(spec->backend), value);
    if (spec->mac[0] & 1)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net %s: mac=%s: a multicast address (the first octet is odd); a NIC needs a unicast one",
                         backend_name(spec->backend), value);
    static const uint8_t zero[6];
    if (memcmp(spec->mac, zero, sizeof(zero)) == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: mac=%s: all zero, which is no address",
                         backend_name(spec->backend), value);
    spec->mac_given = true;
    return 0;
}

/*
 * What the kernel's dev_valid_name() refuses: '/' and ':' (an alias), its
 * isspace() (which counts byte 0xa0, Latin-1's no-break space), plus the other
 * control bytes, so that a name always prints on one line.
 */
static bool ifname_byte_allowed(unsigned char byte)
{
    return byte > ' ' && byte != 0x7f && byte != 0xa0 && byte != '/' && byte != ':';
}

static int parse_ifname(const char *value, struct net_spec *spec, struct error *error)
{
    size_t length = strlen(value);
    if (length > CLI_NET_IFNAME_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: ifname=%.32s%s: longer than %u bytes (the kernel's limit)",
                         value, length > 32 ? "..." : "", CLI_NET_IFNAME_MAX);
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)value[i];
        if (!ifname_byte_allowed(byte))
            return error_set(error, EXIT_STATUS_USAGE,
                             "--net tap: ifname= holds byte 0x%02x ('%c'), which an interface name cannot (no '/', ':', "
                             "space or control byte)",
                             byte, byte > ' ' && byte < 0x7f ? byte : '?');
    }
    /* '%' makes the kernel pick a number (tap%d); two NICs could then not be told apart by name. */
    if (strchr(value, '%'))
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net tap: ifname=%s: '%%' is not allowed; leave ifname out and the kernel names the tap", value);
    if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: ifname=%s: not a name the kernel accepts", value);
    spec->ifname = value;
    return 0;
}

static int parse_vhost(const char *value, struct net_spec *spec, struct error *error)
{
    if (strcmp(value, "on") == 0)
        spec->vhost = NET_VHOST_ON;
    else if (strcmp(value, "off") == 0)
        spec->vhost = NET_VHOST_OFF;
    else
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: vhost=%s: not on or off", value);
    return 0;
}

static int parse_queues(const char *value, struct net_spec *spec, struct error *error)
{
    unsigned number = 0;
    for (const char *digit = value; *digit; digit++) {
        if (*digit < '0' || *digit > '9')
            return error_set(error, EXIT_STATUS_USAGE, "--net tap: queues=%s: not a number", value);
        /* Past the limit the value is only "too many": stop growing it so that it cannot wrap. */
        if (number <= CLI_NET_MAX_QUEUE_PAIRS)
            number = number * 10 + (unsigned)(*digit - '0');
    }
    if (number == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: queues=%s: must be at least 1", value);
    if (number > CLI_NET_MAX_QUEUE_PAIRS)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: queues=%s: more than %u queue pairs (the device's limit)",
                         value, CLI_NET_MAX_QUEUE_PAIRS);
    spec->queue_pairs = number;
    return 0;
}

/* Worded as --disk's iothreads= (src/cli_disk.c). */
static int parse_io_threads(const char *value, struct net_spec *spec, struct error *error)
{
    const char *name = backend_name(spec->backend);
    unsigned number = 0;
    for (const char *digit = value; *digit; digit++) {
        if (*digit < '0' || *digit > '9')
            return error_set(error, EXIT_STATUS_USAGE, "--net %s: iothreads='%s' is not a number", name, value);
        /* Past the limit the value is only "too many": stop growing it so that it cannot wrap. */
        if (number <= CLI_NET_MAX_QUEUE_PAIRS)
            number = number * 10 + (unsigned)(*digit - '0');
    }
    if (number == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: iothreads must be at least 1", name);
    if (number > CLI_NET_MAX_QUEUE_PAIRS)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: iothreads=%s is more than a virtio-net device's queue "
                         "pair limit (%u)", name, value, CLI_NET_MAX_QUEUE_PAIRS);
    spec->io_threads = number;
    return 0;
}

static int parse_value(enum net_key key, const char *value, struct net_spec *spec, struct error *error)
{
    switch (key) {
    case NET_KEY_HOSTFWD:
        return cli_net_hostfwd_parse(value, spec, error);
    case NET_KEY_MAC:
        return parse_mac(value, spec, error);
    case NET_KEY_IFNAME:
        return parse_ifname(value, spec, error);
    case NET_KEY_VHOST:
        return parse_vhost(value, spec, error);
    case NET_KEY_QUEUES:
        return parse_queues(value, spec, error);
    case NET_KEY_IOTHREADS:
        return parse_io_threads(value, spec, error);
    case NET_KEY_COUNT:
        break;
    }
    return error_set(error, EXIT_STATUS_FAILURE, "--net: internal error: key %d", (int)key);
}

static int parse_field(char *field, bool seen[NET_KEY_COUNT], struct net_spec *spec, struct error *error)
{
    if (field[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: an empty key=value (a stray comma?)",
                         backend_name(spec->backend));
    char *equals = strchr(field, '=');
    if (!equals)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: '%s' is not key=value", backend_name(spec->backend),
                         field);
    *equals = '\0';
    const char *value = equals + 1;
    int key = find_key(field);
    if (key < 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: unknown key '%s' (keys: %s)",
                         backend_name(spec->backend), field,
                         spec->backend == NET_BACKEND_TAP ? "ifname, vhost, queues, iothreads, mac"
                                                           : "hostfwd, iothreads, mac");
    if (!key_fits((enum net_key)key, spec->backend))
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: %s= is for --net %s only", backend_name(spec->backend),
                         field, spec->backend == NET_BACKEND_TAP ? "user" : "tap");
    if (value[0] == '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: %s= is empty", backend_name(spec->backend), field);
    if (seen[key] && key != NET_KEY_HOSTFWD)
        return error_set(error, EXIT_STATUS_USAGE, "--net %s: key '%s' is given twice", backend_name(spec->backend),
                         field);
    seen[key] = true;
    return parse_value((enum net_key)key, value, spec, error);
}

int cli_net_parse(char *text, struct net_spec *spec, struct error *error)
{
    *spec = (struct net_spec){.vhost = NET_VHOST_AUTO};
    char *cursor = text;
    if (parse_backend(strsep(&cursor, ","), spec, error) < 0)
        return -1;
    bool seen[NET_KEY_COUNT] = {false};
    while (cursor) {
        if (parse_field(strsep(&cursor, ","), seen, spec, error) < 0)
            return -1;
    }
    if (spec->backend == NET_BACKEND_USER && spec->io_threads > 1)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net user: iothreads=%u is more than its 1 queue pair (user networking has one)",
                         spec->io_threads);
    if (spec->queue_pairs != 0 && spec->io_threads > spec->queue_pairs)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: iothreads=%u is more than queues=%u", spec->io_threads,
                         spec->queue_pairs);
    return 0;
}

unsigned cli_net_queue_pairs(const struct net_spec *spec, unsigned cpu_count)
{
    if (spec->backend == NET_BACKEND_USER)
        return 1; /* libslirp is one stack on one thread */
    unsigned pairs = spec->queue_pairs ? spec->queue_pairs : cpu_count;
    if (pairs > CLI_NET_MAX_QUEUE_PAIRS)
        pairs = CLI_NET_MAX_QUEUE_PAIRS;
    return pairs ? pairs : 1;
}

int cli_net_check_against_cpus(const struct net_spec *spec, unsigned cpu_count, struct error *error)
{
    unsigned pairs = cli_net_queue_pairs(spec, cpu_count);
    if (spec->io_threads > pairs)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net %s: iothreads=%u is more than its %u queue pairs (one per vCPU unless queues= says)",
                         backend_name(spec->backend), spec->io_threads, pairs);
    return 0;
}

static int check_pair(const struct net_spec *first, const struct net_spec *second, unsigned first_number,
                      unsigned second_number, struct error *error)
{
    if (first->mac_given && second->mac_given && memcmp(first->mac, second->mac, sizeof(first->mac)) == 0)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net: mac=%02x:%02x:%02x:%02x:%02x:%02x is given to two NICs (--net %u and %u)",
                         first->mac[0], first->mac[1], first->mac[2], first->mac[3], first->mac[4], first->mac[5],
                         first_number, second_number);
    if (first->ifname && second->ifname && strcmp(first->ifname, second->ifname) == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net: ifname=%s is given to two NICs (--net %u and %u)",
                         first->ifname, first_number, second_number);
    for (unsigned i = 0; i < first->hostfwd_count && i < CLI_NET_MAX_HOSTFWDS; i++) {
        const struct net_hostfwd *forward = &first->hostfwds[i];
        if (cli_net_hostfwd_find_port(second, forward->udp, forward->host_port))
            return error_set(error, EXIT_STATUS_USAGE,
                             "--net: hostfwd: %s host port %u is forwarded by two NICs (--net %u and %u)",
                             forward->udp ? "udp" : "tcp", forward->host_port, first_number, second_number);
    }
    return 0;
}

int cli_net_check_distinct(const struct net_spec *nets, unsigned count, struct error *error)
{
    for (unsigned second = 1; second < count && second < CLI_MAX_NETS; second++) {
        for (unsigned first = 0; first < second; first++) {
            if (check_pair(&nets[first], &nets[second], first + 1, second + 1, error) < 0)
                return -1;
        }
    }
    return 0;
}
