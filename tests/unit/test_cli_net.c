/*
 * The --net value parser (src/cli_net.c, src/cli_net_hostfwd.c) on its own:
 * every accepted form and every error, each error checked to be one usage
 * line naming the problem. How cli_parse calls it (repeats, the NIC limit,
 * the cross-NIC checks) is in test_cli.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli_net.h"

enum { TEXT_BYTES = 4096 };

/* A writable copy, as argv is; static because the spec points into it until the next parse. */
static char text_copy[TEXT_BYTES];

static int parse(const char *text, struct net_spec *spec, struct error *error)
{
    size_t length = strlen(text) + 1;
    assert_true(length <= sizeof(text_copy));
    memcpy(text_copy, text, length);
    memset(error, 0, sizeof(*error));
    return cli_net_parse(text_copy, spec, error);
}

static struct net_spec parse_ok(const char *text)
{
    struct net_spec spec;
    struct error error;
    if (parse(text, &spec, &error) != 0)
        fail_msg("'%s' refused: %s", text, error.message);
    return spec;
}

static void assert_refused(const char *text, const char *fragment)
{
    struct net_spec spec;
    struct error error;
    if (parse(text, &spec, &error) != -1)
        fail_msg("'%s' accepted, expected an error with '%s'", text, fragment);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, fragment))
        fail_msg("'%s': message '%s' lacks '%s'", text, error.message, fragment);
    if (strncmp(error.message, "--net", 5) != 0)
        fail_msg("'%s': message '%s' does not start with --net", text, error.message);
    if (!strchr(text, '\n'))
        assert_null(strchr(error.message, '\n'));
}

/* One refused value and a fragment its message must hold. */
struct refusal {
    const char *text;
    const char *fragment;
};

#define ASSERT_ALL_REFUSED(cases)                                                                                      \
    assert_all_refused(cases, sizeof(cases) / sizeof((cases)[0]))

static void assert_all_refused(const struct refusal *cases, size_t count)
{
    for (size_t i = 0; i < count; i++)
        assert_refused(cases[i].text, cases[i].fragment);
}

static uint32_t ipv4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static void assert_forward(const struct net_hostfwd *forward, bool udp, uint32_t host_address, uint16_t host_port,
                           uint32_t guest_address, uint16_t guest_port)
{
    assert_int_equal(forward->udp, udp);
    assert_int_equal(forward->host_address, host_address);
    assert_int_equal(forward->host_port, host_port);
    assert_int_equal(forward->guest_address, guest_address);
    assert_int_equal(forward->guest_port, guest_port);
}

static void test_user_defaults(void **state)
{
    (void)state;
    struct net_spec spec = parse_ok("user");
    assert_int_equal(spec.backend, NET_BACKEND_USER);
    assert_null(spec.ifname);
    assert_int_equal(spec.vhost, NET_VHOST_AUTO);
    assert_int_equal(spec.queue_pairs, 0);
    assert_false(spec.mac_given);
    assert_int_equal(spec.hostfwd_count, 0);
}

static void test_tap_defaults(void **state)
{
    (void)state;
    struct net_spec spec = parse_ok("tap");
    assert_int_equal(spec.backend, NET_BACKEND_TAP);
    assert_null(spec.ifname);
    assert_int_equal(spec.vhost, NET_VHOST_AUTO);
    assert_int_equal(spec.queue_pairs, 0); /* one per vCPU */
    assert_false(spec.mac_given);
    assert_int_equal(spec.hostfwd_count, 0);
}

static void test_hostfwd_forms(void **state)
{
    (void)state;
    struct net_spec spec = parse_ok("user,hostfwd=tcp::2222-:22");
    assert_int_equal(spec.hostfwd_count, 1);
    assert_forward(&spec.hostfwds[0], false, ipv4(127, 0, 0, 1), 2222, ipv4(10, 0, 2, 15), 22);

    spec = parse_ok("user,hostfwd=udp:0.0.0.0:5353-10.0.2.16:53,hostfwd=::8080-:80,"
                    "hostfwd=tcp:192.168.100.254:65535-10.0.2.254:1,hostfwd=tcp:127.0.0.1:1-10.0.2.1:65535");
    assert_int_equal(spec.hostfwd_count, 4);
    assert_forward(&spec.hostfwds[0], true, 0, 5353, ipv4(10, 0, 2, 16), 53);
    assert_forward(&spec.hostfwds[1], false, ipv4(127, 0, 0, 1), 8080, ipv4(10, 0, 2, 15), 80); /* no protocol: tcp */
    assert_forward(&spec.hostfwds[2], false, ipv4(192, 168, 100, 254), 65535, ipv4(10, 0, 2, 254), 1);
    assert_forward(&spec.hostfwds[3], false, ipv4(127, 0, 0, 1), 1, ipv4(10, 0, 2, 1), 65535);

    /* One port for both protocols, and leading zeros in a port (not in an address). */
    spec = parse_ok("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53,hostfwd=tcp::00080-:008");
    assert_int_equal(spec.hostfwd_count, 3);
    assert_forward(&spec.hostfwds[1], true, ipv4(127, 0, 0, 1), 53, ipv4(10, 0, 2, 15), 53);
    assert_forward(&spec.hostfwds[2], false, ipv4(127, 0, 0, 1), 80, ipv4(10, 0, 2, 15), 8);

    /* mac= with hostfwd, in either order. */
    spec = parse_ok("user,mac=52:54:00:12:34:56,hostfwd=tcp::2222-:22");
    assert_true(spec.mac_given);
    assert_int_equal(spec.hostfwd_count, 1);
}

static void test_hostfwd_limit(void **state)
{
    (void)state;
    char text[TEXT_BYTES] = "user";
    for (unsigned i = 0; i < CLI_NET_MAX_HOSTFWDS; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, ",hostfwd=tcp::%u-:22", 10000 + i);
    }
    struct net_spec spec = parse_ok(text);
    assert_int_equal(spec.hostfwd_count, CLI_NET_MAX_HOSTFWDS);
    assert_int_equal(spec.hostfwds[CLI_NET_MAX_HOSTFWDS - 1].host_port, 10000 + CLI_NET_MAX_HOSTFWDS - 1);
    size_t used = strlen(text);
    snprintf(text + used, sizeof(text) - used, ",hostfwd=udp::9-:9");
    assert_refused(text, "--net user: more than 16 hostfwd=");
}

static void test_tap_every_key(void **state)
{
    (void)state;
    struct net_spec spec = parse_ok("tap,ifname=tap0,vhost=on,queues=16,mac=52:54:00:AB:cd:Ef");
    assert_int_equal(spec.backend, NET_BACKEND_TAP);
    assert_string_equal(spec.ifname, "tap0");
    assert_ptr_equal(spec.ifname, text_copy + strlen("tap,ifname="));
    assert_int_equal(spec.vhost, NET_VHOST_ON);
    assert_int_equal(spec.queue_pairs, CLI_NET_MAX_QUEUE_PAIRS);
    assert_true(spec.mac_given);
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    assert_memory_equal(spec.mac, mac, sizeof(mac));

    spec = parse_ok("tap,queues=1,vhost=off,mac=02-00-00-00-00-01,ifname=123456789012345");
    assert_int_equal(spec.vhost, NET_VHOST_OFF);
    assert_int_equal(spec.queue_pairs, 1);
    static const uint8_t dashed[6] = {0x02, 0, 0, 0, 0, 0x01};
    assert_memory_equal(spec.mac, dashed, sizeof(dashed));
    assert_int_equal(strlen(spec.ifname), CLI_NET_IFNAME_MAX);

    /* Names the kernel takes: dots and dashes, a leading digit, UTF-8, "..." (only "." and ".." are reserved). */
    static const char *const names[] = {"a.b", "-x", "0", "br-lan_1", "t\xc3\xa9st", "...", "x..", "@tap!"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "tap,ifname=%s", names[i]);
        spec = parse_ok(text);
        assert_string_equal(spec.ifname, names[i]);
    }
    spec = parse_ok("tap,queues=007");
    assert_int_equal(spec.queue_pairs, 7);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    assert_refused("", "--net: no backend given");
    assert_refused(",mac=52:54:00:12:34:56", "--net: no backend given");
    assert_refused("bridge", "--net: unknown backend 'bridge' (user or tap)");
    assert_refused("USER", "unknown backend 'USER'");
    assert_refused("tap0", "unknown backend 'tap0'");
    assert_refused("user=1", "unknown backend 'user=1'");
    assert_refused("user,bogus=1", "--net user: unknown key 'bogus' (keys: hostfwd, iothreads, mac)");
    assert_refused("tap,bogus=1", "--net tap: unknown key 'bogus' (keys: ifname, vhost, queues, iothreads, mac)");
    assert_refused("tap,MAC=52:54:00:12:34:56", "unknown key 'MAC'");
    assert_refused("tap,=on", "unknown key ''");
    assert_refused("tap,mac", "--net tap: 'mac' is not key=value");
    assert_refused("tap,", "--net tap: an empty key=value (a stray comma?)");
    assert_refused("user,,mac=52:54:00:12:34:56", "--net user: an empty key=value");
    assert_refused("tap,queues=1,", "an empty key=value");
    assert_refused("tap,vhost=on,vhost=off", "--net tap: key 'vhost' is given twice");
    assert_refused("tap,queues=1,ifname=a,queues=1", "key 'queues' is given twice");
    assert_refused("tap,ifname=a,ifname=b", "key 'ifname' is given twice");
    assert_refused("user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "--net user: key 'mac' is given twice");
    /* Keys of the other backend: named, with the backend they belong to. */
    assert_refused("tap,hostfwd=tcp::2222-:22", "--net tap: hostfwd= is for --net user only");
    assert_refused("user,ifname=tap0", "--net user: ifname= is for --net tap only");
    assert_refused("user,vhost=on", "--net user: vhost= is for --net tap only");
    assert_refused("user,queues=2", "--net user: queues= is for --net tap only");
    /* Empty values. */
    assert_refused("tap,mac=", "--net tap: mac= is empty");
    assert_refused("tap,ifname=", "--net tap: ifname= is empty");
    assert_refused("tap,vhost=", "--net tap: vhost= is empty");
    assert_refused("tap,queues=", "--net tap: queues= is empty");
    assert_refused("tap,iothreads=", "--net tap: iothreads= is empty");
    assert_refused("tap,iothreads=1,iothreads=1", "--net tap: key 'iothreads' is given twice");
    assert_refused("user,hostfwd=", "--net user: hostfwd= is empty");
}

static void test_mac_errors(void **state)
{
    (void)state;
    static const struct refusal cases[] = {
        {"tap,mac=01:00:5e:00:00:01", "--net tap: mac=01:00:5e:00:00:01: a multicast address"},
        {"user,mac=ff:ff:ff:ff:ff:ff", "--net user: mac=ff:ff:ff:ff:ff:ff: a multicast address"},
        {"tap,mac=33-33-00-00-00-01", "mac=33-33-00-00-00-01: a multicast address"},
        {"tap,mac=00:00:00:00:00:00", "--net tap: mac=00:00:00:00:00:00: all zero"},
        {"user,mac=00-00-00-00-00-00", "mac=00-00-00-00-00-00: all zero"},
        {"tap,mac=52:54:00:12:34:5g", "mac=52:54:00:12:34:5g: not six two-digit hex octets"},
        {"tap,mac=52:54:00:12:34", "mac=52:54:00:12:34: not six"},
        {"tap,mac=52:54:00:12:34:56:78", "mac=52:54:00:12:34:56:78: not six"},
        {"tap,mac=52:54:00:12:34:5", "not six"},
        {"tap,mac=5:54:00:12:34:56", "not six"},
        {"tap,mac=52:54:00-12:34:56", "mac=52:54:00-12:34:56: not six"}, /* mixed separators */
        {"tap,mac=52.54.00.12.34.56", "not six"},
        {"tap,mac=525400123456", "not six"},
        {"tap,mac=52:54:00:12:34:56 ", "not six"},
        {"tap,mac= 2:54:00:12:34:56", "not six"},
        {"tap,mac=+2:54:00:12:34:56", "not six"},
        {"tap,mac=52::54:00:12:34:5", "not six"},
    };
    ASSERT_ALL_REFUSED(cases);
}

static void test_tap_value_errors(void **state)
{
    (void)state;
    static const struct refusal cases[] = {
        {"tap,queues=0", "--net tap: queues=0: must be at least 1"},
        {"tap,queues=000", "queues=000: must be at least 1"},
        {"tap,queues=17", "--net tap: queues=17: more than 16 queue pairs"},
        {"tap,queues=4294967297", "queues=4294967297: more than 16"},
        {"tap,queues=99999999999999999999999", "queues=99999999999999999999999: more than 16"},
        {"tap,queues=two", "--net tap: queues=two: not a number"},
        {"tap,queues=-1", "queues=-1: not a number"},
        {"tap,queues=+1", "queues=+1: not a number"},
        {"tap,queues= 1", "queues= 1: not a number"},
        {"tap,queues=1x", "queues=1x: not a number"},
        {"tap,vhost=yes", "--net tap: vhost=yes: not on or off"},
        {"tap,vhost=ON", "vhost=ON: not on or off"},
        {"tap,vhost=auto", "vhost=auto: not on or off"},
        {"tap,ifname=1234567890123456", "--net tap: ifname=1234567890123456: longer than 15 bytes"},
        {"tap,ifname=a/b", "ifname= holds byte 0x2f ('/')"},
        {"tap,ifname=eth0:1", "ifname= holds byte 0x3a (':')"},
        {"tap,ifname=a b", "ifname= holds byte 0x20"},
        {"tap,ifname=a\tb", "ifname= holds byte 0x09"},
        {"tap,ifname=a\nb", "ifname= holds byte 0x0a"},
        {"tap,ifname=\x7f", "ifname= holds byte 0x7f"},
        {"tap,ifname=a\xa0", "ifname= holds byte 0xa0"}, /* the kernel's isspace() counts it */
        {"tap,ifname=.", "--net tap: ifname=.: not a name the kernel accepts"},
        {"tap,ifname=..", "ifname=..: not a name the kernel accepts"},
        {"tap,ifname=tap%d", "--net tap: ifname=tap%d: '%' is not allowed"},
    };
    ASSERT_ALL_REFUSED(cases);
}

static void test_io_threads(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("tap").io_threads, 0); /* one per pair */
    assert_int_equal(parse_ok("user").io_threads, 0);
    assert_int_equal(parse_ok("user,iothreads=1").io_threads, 1);
    assert_int_equal(parse_ok("tap,iothreads=16").io_threads, 16);
    struct net_spec spec = parse_ok("tap,iothreads=02,queues=4");
    assert_int_equal(spec.io_threads, 2);
    assert_int_equal(spec.queue_pairs, 4);
    assert_int_equal(parse_ok("tap,queues=3,iothreads=3").io_threads, 3);
    assert_int_equal(parse_ok("tap,vhost=on,iothreads=1").io_threads, 1);
    static const struct refusal cases[] = {
        {"tap,iothreads=0", "--net tap: iothreads must be at least 1"},
        {"user,iothreads=000", "--net user: iothreads must be at least 1"},
        {"tap,iothreads=x", "--net tap: iothreads='x' is not a number"},
        {"tap,iothreads=-1", "iothreads='-1' is not a number"},
        {"tap,iothreads=+1", "iothreads='+1' is not a number"},
        {"tap,iothreads= 1", "iothreads=' 1' is not a number"},
        {"tap,iothreads=1x", "iothreads='1x' is not a number"},
        {"tap,iothreads=17", "--net tap: iothreads=17 is more than a virtio-net device's queue pair limit (16)"},
        {"tap,iothreads=99999999999999999999999", "iothreads=99999999999999999999999 is more than"},
        {"tap,queues=2,iothreads=3", "--net tap: iothreads=3 is more than queues=2"},
        {"tap,iothreads=3,queues=2", "--net tap: iothreads=3 is more than queues=2"},
        {"user,iothreads=2", "--net user: iothreads=2 is more than its 1 queue pair"},
    };
    ASSERT_ALL_REFUSED(cases);
}

/* iothreads= against the pairs a NIC gets from --cpus, checked once every option is read. */
static void test_io_threads_against_cpus(void **state)
{
    (void)state;
    struct error error = {0};
    struct net_spec spec = parse_ok("tap,iothreads=3");
    assert_int_equal(cli_net_queue_pairs(&spec, 2), 2);
    assert_int_equal(cli_net_check_against_cpus(&spec, 2, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_string_equal(error.message,
                        "--net tap: iothreads=3 is more than its 2 queue pairs (one per vCPU unless queues= says)");
    assert_int_equal(cli_net_check_against_cpus(&spec, 3, &error), 0);
    assert_int_equal(cli_net_check_against_cpus(&spec, 100, &error), 0);
    assert_int_equal(cli_net_queue_pairs(&spec, 100), CLI_NET_MAX_QUEUE_PAIRS);
    spec = parse_ok("tap,queues=4,iothreads=4");
    assert_int_equal(cli_net_check_against_cpus(&spec, 1, &error), 0); /* queues= may exceed --cpus */
    spec = parse_ok("user,iothreads=1");
    assert_int_equal(cli_net_queue_pairs(&spec, 8), 1);
    assert_int_equal(cli_net_check_against_cpus(&spec, 8, &error), 0);
    spec = parse_ok("tap");
    assert_int_equal(cli_net_queue_pairs(&spec, 0), 1);
    assert_int_equal(cli_net_check_against_cpus(&spec, 1, &error), 0);
}

static void test_hostfwd_errors(void **state)
{
    (void)state;
    static const struct refusal cases[] = {
        {"user,hostfwd=tcp", "--net user: hostfwd=tcp: not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"},
        {"user,hostfwd=tcp::2222", "hostfwd=tcp::2222: not [tcp|udp]"},
        {"user,hostfwd=2222-22", "hostfwd=2222-22: not [tcp|udp]"},
        {"user,hostfwd=tcp::1:2", "hostfwd=tcp::1:2: not [tcp|udp]"},
        {"user,hostfwd=sctp::1-:2", "hostfwd=sctp::1-:2: protocol 'sctp' is not tcp or udp"},
        {"user,hostfwd=TCP::1-:2", "protocol 'TCP' is not tcp or udp"},
        {"user,hostfwd=tcp:2222-:22", "hostfwd=tcp:2222-:22: the host side '2222' is not [ADDRESS]:PORT"},
        {"user,hostfwd=tcp::2222-22", "the guest side '22' is not [ADDRESS]:PORT"},
        {"user,hostfwd=tcp::0-:22", "hostfwd=tcp::0-:22: host port '0' is not 1..65535"},
        {"user,hostfwd=tcp::65536-:22", "host port '65536' is not 1..65535"},
        {"user,hostfwd=tcp::100000-:22", "host port '100000' is not 1..65535"},
        {"user,hostfwd=tcp::-:22", "host port '' is not 1..65535"},
        {"user,hostfwd=tcp::http-:22", "host port 'http' is not 1..65535"},
        {"user,hostfwd=tcp::+22-:22", "host port '+22' is not 1..65535"},
        {"user,hostfwd=tcp::22-:0", "guest port '0' is not 1..65535"},
        {"user,hostfwd=tcp::22-:", "guest port '' is not 1..65535"},
        {"user,hostfwd=tcp::22-:22-", "guest port '22-' is not 1..65535"},
        {"user,hostfwd=tcp::22-:99999", "guest port '99999' is not 1..65535"},
        {"user,hostfwd=tcp:localhost:22-:22", "host address 'localhost' is not a dotted IPv4 address"},
        {"user,hostfwd=tcp:010.0.0.1:22-:22", "host address '010.0.0.1' is not a dotted IPv4"},
        {"user,hostfwd=tcp:256.0.0.1:22-:22", "host address '256.0.0.1'"},
        {"user,hostfwd=tcp:1.2.3:22-:22", "host address '1.2.3'"},
        {"user,hostfwd=tcp:1.2.3.4.5:22-:22", "host address '1.2.3.4.5'"},
        {"user,hostfwd=tcp:1.2.3.:22-:22", "host address '1.2.3.'"},
        {"user,hostfwd=tcp:1..3.4:22-:22", "host address '1..3.4'"},
        {"user,hostfwd=tcp:1.2.3.1234:22-:22", "host address '1.2.3.1234'"},
        {"user,hostfwd=tcp: 1.2.3.4:22-:22", "host address ' 1.2.3.4'"},
        {"user,hostfwd=tcp:::22-:22", "host address ':'"},
        {"user,hostfwd=tcp:[::1]:22-:22", "host address '[::1]'"},
        {"user,hostfwd=tcp::22-10.0.2:22", "guest address '10.0.2' is not a dotted IPv4"},
        {"user,hostfwd=tcp::22-10.0.2.015:22", "guest address '10.0.2.015'"},
        /* A guest address outside the user network, or one of libslirp's own. */
        {"user,hostfwd=tcp::22-10.0.3.15:22",
         "hostfwd=tcp::22-10.0.3.15:22: guest address 10.0.3.15 is not a guest address in the user network 10.0.2.0/24"},
        {"user,hostfwd=tcp::22-192.168.0.2:22", "guest address 192.168.0.2 is not a guest address"},
        {"user,hostfwd=tcp::22-10.0.2.0:22", "guest address 10.0.2.0 is not"},
        {"user,hostfwd=tcp::22-10.0.2.2:22", "guest address 10.0.2.2 is not"},
        {"user,hostfwd=tcp::22-10.0.2.3:22", "guest address 10.0.2.3 is not"},
        {"user,hostfwd=tcp::22-10.0.2.255:22", "guest address 10.0.2.255 is not"},
        /* The same host port and protocol twice, however the addresses are spelt. */
        {"user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23",
         "--net user: hostfwd=tcp::2222-:23: tcp host port 2222 is forwarded twice"},
        {"user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=:0.0.0.0:2222-10.0.2.16:22", "tcp host port 2222 is forwarded twice"},
        {"user,hostfwd=udp::53-:53,hostfwd=udp::53-:53", "udp host port 53 is forwarded twice"},
    };
    ASSERT_ALL_REFUSED(cases);
}

static void test_long_values_stay_one_bounded_line(void **state)
{
    (void)state;
    char text[TEXT_BYTES];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    memcpy(text, "user,hostfwd=tcp:", strlen("user,hostfwd=tcp:"));
    struct net_spec spec;
    struct error error;
    assert_int_equal(parse(text, &spec, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_true(strlen(error.message) < sizeof(error.message));
    assert_non_null(strstr(error.message, "hostfwd="));
    memcpy(text, "tap,ifname=", strlen("tap,ifname="));
    assert_int_equal(parse(text, &spec, &error), -1);
    assert_non_null(strstr(error.message, "...: longer than 15 bytes"));
}

static struct net_spec nets[CLI_MAX_NETS];
static char net_texts[CLI_MAX_NETS][256];

/* Parses each text into nets[] (each must parse), then runs the cross-NIC check. */
static int check_distinct(const char *const *texts, unsigned count, struct error *error)
{
    for (unsigned i = 0; i < count; i++) {
        snprintf(net_texts[i], sizeof(net_texts[i]), "%s", texts[i]);
        struct error parse_error = {0};
        if (cli_net_parse(net_texts[i], &nets[i], &parse_error) != 0)
            fail_msg("'%s' refused: %s", texts[i], parse_error.message);
    }
    memset(error, 0, sizeof(*error));
    return cli_net_check_distinct(nets, count, error);
}

static void assert_distinct_refused(const char *const *texts, unsigned count, const char *fragment)
{
    struct error error;
    assert_int_equal(check_distinct(texts, count, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    if (!strstr(error.message, fragment))
        fail_msg("message '%s' lacks '%s'", error.message, fragment);
}

static void test_distinct_nics(void **state)
{
    (void)state;
    struct error error;
    const char *const fine[] = {"user,mac=52:54:00:12:34:56,hostfwd=tcp::2222-:22",
                                "user,mac=52:54:00:12:34:57,hostfwd=udp::2222-:22",
                                "tap,ifname=tap0,mac=52:54:00:12:34:58",
                                "tap,ifname=tap1",
                                "tap",
                                "tap",
                                "user",
                                "user"};
    assert_int_equal(check_distinct(fine, CLI_MAX_NETS, &error), 0);
    assert_int_equal(check_distinct(fine, 0, &error), 0);

    const char *const same_mac[] = {"tap,mac=52:54:00:12:34:56", "user", "user,mac=52-54-00-12-34-56"};
    assert_distinct_refused(same_mac, 3, "--net: mac=52:54:00:12:34:56 is given to two NICs (--net 1 and 3)");
    const char *const same_mac_case[] = {"tap,mac=52:54:00:AB:CD:EF", "tap,mac=52:54:00:ab:cd:ef"};
    assert_distinct_refused(same_mac_case, 2, "mac=52:54:00:ab:cd:ef is given to two NICs (--net 1 and 2)");
    const char *const same_ifname[] = {"tap", "tap,ifname=tap0", "tap,ifname=tap1", "tap,ifname=tap0,vhost=off"};
    assert_distinct_refused(same_ifname, 4, "--net: ifname=tap0 is given to two NICs (--net 2 and 4)");
    const char *const same_port[] = {"user,hostfwd=tcp::80-:80,hostfwd=tcp::2222-:22",
                                     "user,hostfwd=tcp:0.0.0.0:2222-:22"};
    assert_distinct_refused(same_port, 2, "--net: hostfwd: tcp host port 2222 is forwarded by two NICs (--net 1 and 2)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_defaults),    cmocka_unit_test(test_tap_defaults),
        cmocka_unit_test(test_hostfwd_forms),    cmocka_unit_test(test_hostfwd_limit),
        cmocka_unit_test(test_tap_every_key),    cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_mac_errors),       cmocka_unit_test(test_tap_value_errors),
        cmocka_unit_test(test_hostfwd_errors),   cmocka_unit_test(test_long_values_stay_one_bounded_line),
        cmocka_unit_test(test_distinct_nics),    cmocka_unit_test(test_io_threads),
        cmocka_unit_test(test_io_threads_against_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
