#include "cli_net_hostfwd.h"

#include <string.h>

/* A piece of the value, not NUL-terminated: the value itself stays whole for the error messages. */
struct text_span {
    const char *start;
    size_t length;
};

enum {
    SHOWN_SPAN_MAX = 64, /* bytes of a piece quoted in an error, so that a message stays readable */
    PORT_DIGITS_MAX = 5,
};

static int shown_length(struct text_span span)
{
    return span.length > SHOWN_SPAN_MAX ? SHOWN_SPAN_MAX : (int)span.length;
}

static bool span_equals(struct text_span span, const char *word)
{
    return span.length == strlen(word) && memcmp(span.start, word, span.length) == 0;
}

static bool is_digit(char character)
{
    return character >= '0' && character <= '9';
}

/* Four decimal octets 0..255; a leading zero is refused rather than read as octal or decimal. */
static bool ipv4_read(struct text_span text, uint32_t *address)
{
    uint32_t result = 0;
    size_t position = 0;
    for (unsigned octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (position >= text.length || text.start[position] != '.')
                return false;
            position++;
        }
        size_t first = position;
        unsigned value = 0;
        while (position < text.length && position - first < 3 && is_digit(text.start[position]))
            value = value * 10 + (unsigned)(text.start[position++] - '0');
        size_t digits = position - first;
        if (digits == 0 || value > 255 || (digits > 1 && text.start[first] == '0'))
            return false;
        result = result << 8 | value;
    }
    if (position != text.length)
        return false;
    *address = result;
    return true;
}

static bool port_read(struct text_span text, uint16_t *port)
{
    if (text.length == 0 || text.length > PORT_DIGITS_MAX)
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < text.length; i++) {
        if (!is_digit(text.start[i]))
            return false;
        value = value * 10 + (unsigned)(text.start[i] - '0');
    }
    if (value == 0 || value > UINT16_MAX)
        return false;
    *port = (uint16_t)value;
    return true;
}

/* One side, [ADDRESS]:PORT; `side` is "host" or "guest" for the messages. */
static int endpoint_read(const char *value, const char *side, struct text_span text, uint32_t default_address,
                         uint32_t *address, uint16_t *port, struct error *error)
{
    const char *colon = memrchr(text.start, ':', text.length);
    if (!colon)
        return error_set(error, EXIT_STATUS_USAGE, "--net user: hostfwd=%s: the %s side '%.*s' is not [ADDRESS]:PORT",
                         value, side, shown_length(text), text.start);
    struct text_span address_text = {text.start, (size_t)(colon - text.start)};
    struct text_span port_text = {colon + 1, text.length - address_text.length - 1};
    *address = default_address;
    if (address_text.length > 0 && !ipv4_read(address_text, address))
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net user: hostfwd=%s: %s address '%.*s' is not a dotted IPv4 address like 127.0.0.1",
                         value, side, shown_length(address_text), address_text.start);
    if (!port_read(port_text, port))
        return error_set(error, EXIT_STATUS_USAGE, "--net user: hostfwd=%s: %s port '%.*s' is not 1..65535", value,
                         side, shown_length(port_text), port_text.start);
    return 0;
}

/* libslirp delivers a forward only to a guest on its network, and .2 and .3 are libslirp itself. */
static bool guest_address_usable(uint32_t address)
{
    uint32_t broadcast = CLI_NET_USER_NETWORK | ~CLI_NET_USER_NETMASK;
    return (address & CLI_NET_USER_NETMASK) == CLI_NET_USER_NETWORK && address != CLI_NET_USER_NETWORK &&
           address != broadcast && address != CLI_NET_USER_GATEWAY && address != CLI_NET_USER_DNS;
}

bool cli_net_hostfwd_find_port(const struct net_spec *spec, bool udp, uint16_t port)
{
    for (unsigned i = 0; i < spec->hostfwd_count && i < CLI_NET_MAX_HOSTFWDS; i++) {
        if (spec->hostfwds[i].udp == udp && spec->hostfwds[i].host_port == port)
            return true;
    }
    return false;
}

int cli_net_hostfwd_parse(const char *value, struct net_spec *spec, struct error *error)
{
    if (spec->hostfwd_count >= CLI_NET_MAX_HOSTFWDS)
        return error_set(error, EXIT_STATUS_USAGE, "--net user: more than %u hostfwd= (the limit per NIC)",
                         CLI_NET_MAX_HOSTFWDS);
    const char *colon = strchr(value, ':');
    const char *dash = colon ? strchr(colon + 1, '-') : NULL;
    if (!dash)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net user: hostfwd=%s: not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", value);
    struct net_hostfwd forward = {.udp = false};
    struct text_span protocol = {value, (size_t)(colon - value)};
    if (span_equals(protocol, "udp"))
        forward.udp = true;
    else if (protocol.length != 0 && !span_equals(protocol, "tcp"))
        return error_set(error, EXIT_STATUS_USAGE, "--net user: hostfwd=%s: protocol '%.*s' is not tcp or udp", value,
                         shown_length(protocol), protocol.start);
    struct text_span host = {colon + 1, (size_t)(dash - colon - 1)};
    struct text_span guest = {dash + 1, strlen(dash + 1)};
    if (endpoint_read(value, "host", host, CLI_NET_HOSTFWD_HOST, &forward.host_address, &forward.host_port, error) < 0 ||
        endpoint_read(value, "guest", guest, CLI_NET_USER_GUEST, &forward.guest_address, &forward.guest_port,
                      error) < 0)
        return -1;
    if (!guest_address_usable(forward.guest_address))
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net user: hostfwd=%s: guest address %u.%u.%u.%u is not a guest address in the user network "
                         "10.0.2.0/24 (.2 is the host, .3 its DNS server; the guest is .15)",
                         value, forward.guest_address >> 24, forward.guest_address >> 16 & 0xff,
                         forward.guest_address >> 8 & 0xff, forward.guest_address & 0xff);
    if (cli_net_hostfwd_find_port(spec, forward.udp, forward.host_port))
        return error_set(error, EXIT_STATUS_USAGE, "--net user: hostfwd=%s: %s host port %u is forwarded twice", value,
                         forward.udp ? "udp" : "tcp", forward.host_port);
    spec->hostfwds[spec->hostfwd_count++] = forward;
    return 0;
}
