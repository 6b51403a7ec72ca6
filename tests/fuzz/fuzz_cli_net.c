/*
 * Feeds arbitrary --net values to the in-place parser (src/cli_net.c,
 * src/cli_net_hostfwd.c): the input, split at NUL bytes, is up to
 * CLI_MAX_NETS values, each in a buffer of exactly its size, so a read or
 * write past its NUL is an ASan report. Each spec that parses must hold what
 * the parser promises; the ones that parse then go through the cross-NIC
 * check, whose success must mean distinct MACs, names and forwarded ports. An
 * error is always a usage error, on one line unless the input held a newline.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_net.h"

static bool ifname_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > CLI_NET_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)name[i];
        if (byte <= ' ' || byte == 0x7f || byte == 0xa0 || byte == '/' || byte == ':' || byte == '%')
            return false;
    }
    return true;
}

static bool guest_address_valid(uint32_t address)
{
    return (address & CLI_NET_USER_NETMASK) == CLI_NET_USER_NETWORK && address != CLI_NET_USER_NETWORK &&
           address != (CLI_NET_USER_NETWORK | 0xff) && address != CLI_NET_USER_GATEWAY && address != CLI_NET_USER_DNS;
}

static void check_spec(const struct net_spec *spec, const char *buffer, size_t size)
{
    static const uint8_t zero[6];
    if (spec->backend != NET_BACKEND_USER && spec->backend != NET_BACKEND_TAP)
        abort();
    if (spec->mac_given && ((spec->mac[0] & 1) || memcmp(spec->mac, zero, sizeof(zero)) == 0))
        abort();
    if (spec->queue_pairs > CLI_NET_MAX_QUEUE_PAIRS || spec->hostfwd_count > CLI_NET_MAX_HOSTFWDS)
        abort();
    /* iothreads: none, or within the pairs the NIC can have (queues= when given, one for user). */
    if (spec->io_threads > CLI_NET_MAX_QUEUE_PAIRS || (spec->queue_pairs && spec->io_threads > spec->queue_pairs) ||
        (spec->backend == NET_BACKEND_USER && spec->io_threads > 1))
        abort();
    if (spec->vhost != NET_VHOST_AUTO && spec->vhost != NET_VHOST_ON && spec->vhost != NET_VHOST_OFF)
        abort();
    if (spec->ifname && (spec->ifname < buffer || spec->ifname >= buffer + size || !ifname_valid(spec->ifname)))
        abort();
    if (spec->backend == NET_BACKEND_USER && (spec->ifname || spec->queue_pairs || spec->vhost != NET_VHOST_AUTO))
        abort();
    if (spec->backend == NET_BACKEND_TAP && spec->hostfwd_count != 0)
        abort();
    for (unsigned i = 0; i < spec->hostfwd_count; i++) {
        const struct net_hostfwd *forward = &spec->hostfwds[i];
        if (forward->host_port == 0 || forward->guest_port == 0 || !guest_address_valid(forward->guest_address))
            abort();
        for (unsigned j = 0; j < i; j++) {
            if (spec->hostfwds[j].udp == forward->udp && spec->hostfwds[j].host_port == forward->host_port)
                abort();
        }
    }
}

static void check_error(const struct error *error, bool input_has_newline)
{
    if (error->exit_status != EXIT_STATUS_USAGE || error->message[0] == '\0' ||
        strncmp(error->message, "--net", 5) != 0)
        abort();
    if (!input_has_newline && strchr(error->message, '\n'))
        abort();
}

static void check_distinct(const struct net_spec *first, const struct net_spec *second)
{
    if (first->mac_given && second->mac_given && memcmp(first->mac, second->mac, sizeof(first->mac)) == 0)
        abort();
    if (first->ifname && second->ifname && strcmp(first->ifname, second->ifname) == 0)
        abort();
    for (unsigned i = 0; i < first->hostfwd_count; i++) {
        for (unsigned j = 0; j < second->hostfwd_count; j++) {
            if (first->hostfwds[i].udp == second->hostfwds[j].udp &&
                first->hostfwds[i].host_port == second->hostfwds[j].host_port)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct net_spec nets[CLI_MAX_NETS];
    char *texts[CLI_MAX_NETS] = {NULL};
    unsigned parsed = 0;
    bool input_has_newline = memchr(data, '\n', size) != NULL;
    size_t offset = 0;
    for (unsigned i = 0; i < CLI_MAX_NETS && offset <= size; i++) {
        const uint8_t *end = memchr(data + offset, '\0', size - offset);
        size_t length = end ? (size_t)(end - (data + offset)) : size - offset;
        char *text = malloc(length + 1);
        if (!text)
            break;
        memcpy(text, data + offset, length);
        text[length] = '\0';
        texts[i] = text;
        struct error error = {0};
        if (cli_net_parse(text, &nets[parsed], &error) == 0) {
            check_spec(&nets[parsed], text, length + 1);
            parsed++;
        } else {
            check_error(&error, input_has_newline);
        }
        offset += length + 1;
    }
    struct error error = {0};
    if (cli_net_check_distinct(nets, parsed, &error) == 0) {
        for (unsigned second = 1; second < parsed; second++) {
            for (unsigned first = 0; first < second; first++)
                check_distinct(&nets[first], &nets[second]);
        }
    } else {
        check_error(&error, input_has_newline);
    }
    for (unsigned i = 0; i < CLI_MAX_NETS; i++)
        free(texts[i]);
    return 0;
}
