#include "backends/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/net_tap_queue.h"

/* Removed from <linux/if_tun.h> with UFO in 4.14 and re-added later: spell it out for headers from in between. */
#ifndef TUN_F_UFO
#define TUN_F_UFO 0x10
#endif

struct net_tap {
    struct net_tap_queue queues[NET_TAP_MAX_PAIRS];
    int fds[NET_TAP_MAX_PAIRS]; /* backend->tap_fds: the same fds, for vhost-net */
    bool attached[NET_TAP_MAX_PAIRS];
    unsigned pair_count;
    bool multi_queue;
    bool created;
    char name[IFNAMSIZ];
};

static const struct {
    unsigned offload;
    unsigned tun_flag;
} offload_flags[] = {
    { NET_OFFLOAD_CSUM, TUN_F_CSUM }, { NET_OFFLOAD_TSO4, TUN_F_TSO4 }, { NET_OFFLOAD_TSO6, TUN_F_TSO6 },
    { NET_OFFLOAD_ECN, TUN_F_TSO_ECN }, { NET_OFFLOAD_UFO, TUN_F_UFO },
};

/*
 * The kernel refuses segmentation offloads without checksum offload and ECN
 * without TSO (virtio forbids the same combinations, but the guest is not
 * trusted to follow it), so those are dropped rather than failing the call.
 */
static unsigned offload_to_tun_flags(unsigned offloads)
{
    if (!(offloads & NET_OFFLOAD_CSUM))
        return 0;
    if (!(offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
        offloads &= ~NET_OFFLOAD_ECN;
    unsigned flags = 0;
    for (size_t i = 0; i < sizeof(offload_flags) / sizeof(offload_flags[0]); i++)
        if (offloads & offload_flags[i].offload)
            flags |= offload_flags[i].tun_flag;
    return flags;
}

/* What this kernel's tap accepts: each flag tried on top of checksum offload (and ECN on top of TSO). */
static unsigned tap_probe_offloads(int fd)
{
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0)
        return 0;
    unsigned accepted = NET_OFFLOAD_CSUM;
    const unsigned candidates[] = { NET_OFFLOAD_TSO4, NET_OFFLOAD_TSO6, NET_OFFLOAD_ECN, NET_OFFLOAD_UFO };
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        unsigned trial = accepted | candidates[i];
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload_to_tun_flags(trial)) == 0 &&
            (offload_to_tun_flags(trial) & ~offload_to_tun_flags(accepted)))
            accepted = trial;
    }
    /* Nothing is offloaded until the guest negotiates it: until then the kernel hands over whole, summed frames. */
    (void)ioctl(fd, TUNSETOFFLOAD, 0ul);
    return accepted;
}

static int tap_check_name(const char *name, struct error *error)
{
    size_t length = strnlen(name, NET_TAP_NAME_MAX + 1);
    if (length == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: the interface name is empty");
    if (length > NET_TAP_NAME_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: interface name '%s' is too long (at most %d bytes)",
                         name, NET_TAP_NAME_MAX);
    /* The kernel's dev_valid_name(): it would answer EINVAL, which reads like a device of the wrong kind. */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strpbrk(name, "/: \t\n\v\f\r"))
        return error_set(error, EXIT_STATUS_USAGE,
                         "--net tap: interface name '%s' is not valid (no '/', ':' or spaces, not '.' or '..')", name);
    return 0;
}

/* The driver and kind (ethtool's bus_info: "tap" or "tun") of an existing interface, to explain a refusal. */
static bool interface_is_tap(const char *name)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return false;
    struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
    struct ifreq request = { 0 };
    snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name);
    request.ifr_data = (void *)&info;
    bool tap = ioctl(sock, SIOCETHTOOL, &request) == 0 && strcmp(info.driver, "tun") == 0 &&
               strcmp(info.bus_info, "tap") == 0;
    close(sock);
    return tap;
}

static int tap_set_up(const char *name, struct error *error)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "--net tap: socket: %s", strerror(errno));
    struct ifreq request = { 0 };
    snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name);
    int status = ioctl(sock, SIOCGIFFLAGS, &request);
    if (status == 0) {
        request.ifr_flags |= IFF_UP;
        status = ioctl(sock, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(sock);
    if (status < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "--net tap: cannot bring %s up: %s", name, strerror(saved));
    return 0;
}

static int tap_open_device(struct error *error)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    if (errno == EACCES || errno == EPERM)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: cannot open /dev/net/tun: permission denied");
    if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: /dev/net/tun is missing (is the tun module loaded?)");
    return error_set(error, EXIT_STATUS_USAGE, "--net tap: cannot open /dev/net/tun: %s", strerror(errno));
}

static int tap_check_features(int fd, bool multi_queue, struct error *error)
{
    unsigned features = 0;
    if (ioctl(fd, TUNGETFEATURES, &features) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: TUNGETFEATURES: %s", strerror(errno));
    unsigned needed = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
    if ((features & needed) != needed)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: this kernel's tun driver lacks %s",
                         !(features & IFF_VNET_HDR) ? "IFF_VNET_HDR" : !(features & IFF_MULTI_QUEUE) ?
                                                      "IFF_MULTI_QUEUE (several queues)" : "IFF_TAP");
    return 0;
}

/* Why TUNSETIFF failed, in the user's words. `existed`: the name was taken before we started. */
static int tap_attach_error(const char *name, bool existed, bool multi_queue, unsigned pair, int code,
                            struct error *error)
{
    const char *shown = name[0] ? name : "tapN";
    if (code == EPERM || code == EACCES)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: cannot %s tap %s: permission denied (needs CAP_NET_ADMIN)",
                         existed ? "attach to" : "create", shown);
    if (code == EINVAL && existed && !interface_is_tap(name))
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: %s exists and is not a tap device", shown);
    if (code == EINVAL && existed)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: the existing tap %s %s", shown,
                         multi_queue ? "is not multi_queue (queues=N above 1 needs `ip tuntap add ... multi_queue`)"
                                     : "does not take these flags");
    if (code == EBUSY)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: tap %s is busy (open in another process%s)", shown,
                         multi_queue ? "" : " without multi_queue");
    return error_set(error, EXIT_STATUS_USAGE, "--net tap: cannot %s tap %s (queue %u): %s",
                     existed ? "attach to" : "create", shown, pair, strerror(code));
}

/*
 * One queue: TUNSETIFF on a fresh fd (creating the tap at pair 0 when the name
 * is free), then the header size. Fills `name` with the kernel's name.
 */
static int tap_attach_queue(struct net_tap *tap, unsigned pair, bool existed, struct error *error)
{
    int fd = tap_open_device(error);
    if (fd < 0)
        return -1;
    tap->fds[pair] = fd;
    if (pair == 0 && tap_check_features(fd, tap->multi_queue, error) < 0)
        return -1;
    struct ifreq request = { 0 };
    snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", tap->name);
    request.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (tap->multi_queue ? IFF_MULTI_QUEUE : 0));
    int status = ioctl(fd, TUNSETIFF, &request);
    int code = errno;
    /* A multi_queue tap serves one queue as well: attach as multi_queue rather than refuse. */
    if (status < 0 && code == EINVAL && existed && pair == 0 && !tap->multi_queue && interface_is_tap(tap->name)) {
        request.ifr_flags |= IFF_MULTI_QUEUE;
        status = ioctl(fd, TUNSETIFF, &request);
        if (status == 0)
            tap->multi_queue = true;
    }
    if (status < 0)
        return tap_attach_error(tap->name, existed, tap->multi_queue, pair, code, error);
    memcpy(tap->name, request.ifr_name, sizeof(tap->name));
    tap->name[sizeof(tap->name) - 1] = '\0';
    /* An existing tap whose queues another process holds keeps that process's flags: check what we got. */
    struct ifreq current = { 0 };
    if (ioctl(fd, TUNGETIFF, &current) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: TUNGETIFF on %s: %s", tap->name, strerror(errno));
    if (!(current.ifr_flags & IFF_VNET_HDR) || !(current.ifr_flags & IFF_NO_PI))
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: the existing tap %s is in use without vnet_hdr",
                         tap->name);
    int header_size = NET_BACKEND_HEADER_SIZE;
    int reported = 0;
    if (ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0 || ioctl(fd, TUNGETVNETHDRSZ, &reported) < 0 ||
        reported != NET_BACKEND_HEADER_SIZE)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: %s does not take a %d-byte virtio-net header",
                         tap->name, NET_BACKEND_HEADER_SIZE);
    return 0;
}

static void tap_free(struct net_tap *tap)
{
    for (unsigned pair = 0; pair < tap->pair_count; pair++)
        if (tap->fds[pair] >= 0)
            close(tap->fds[pair]);
    free(tap);
}

/* The tap's MTU now, or 0 when it cannot be read. */
static unsigned tap_mtu(const struct net_tap *tap)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return 0;
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", tap->name);
    int result = ioctl(sock, SIOCGIFMTU, &request);
    close(sock);
    return result < 0 || request.ifr_mtu <= 0 ? 0 : (unsigned)request.ifr_mtu;
}

/*
 * Without segmentation offloads the kernel hands over frames no longer than
 * the link's MTU, so a read needs guest buffers for only that much (a VLAN
 * tag included); asking for 64 KiB would make the device hold buffers for
 * frames that cannot come.
 */
static uint32_t receive_frame_bytes(const struct net_tap *tap, unsigned offloads)
{
    if (offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_UFO))
        return NET_TAP_RECEIVE_FRAME_BYTES;
    unsigned mtu = tap_mtu(tap);
    uint32_t bytes = NET_BACKEND_HEADER_SIZE + 14u + 4u + mtu;
    return mtu == 0 || bytes > NET_TAP_RECEIVE_FRAME_BYTES ? NET_TAP_RECEIVE_FRAME_BYTES : bytes;
}

static int tap_set_offload(void *state, unsigned offloads)
{
    struct net_tap *tap = state;
    if (ioctl(tap->fds[0], TUNSETOFFLOAD, (unsigned long)offload_to_tun_flags(offloads)) < 0)
        return -errno;
    uint32_t frame_bytes = receive_frame_bytes(tap, offloads);
    for (unsigned pair = 0; pair < tap->pair_count; pair++)
        atomic_store_explicit(&tap->queues[pair].receive_frame_bytes, frame_bytes, memory_order_relaxed);
    return 0;
}

/*
 * The kernel steers received frames over the attached queues only. A
 * detached queue's fd still polls and still sends (tun keeps it bound), so a
 * guest that transmits on an inactive pair is served rather than refused.
 * Called from one thread at a time (the control queue's).
 */
static int tap_set_active_pairs(void *state, unsigned active)
{
    struct net_tap *tap = state;
    if (active == 0 || active > tap->pair_count)
        return -EINVAL;
    if (!tap->multi_queue)
        return 0;
    for (unsigned pair = 0; pair < tap->pair_count; pair++) {
        bool attach = pair < active;
        if (tap->attached[pair] == attach)
            continue;
        struct ifreq request = { .ifr_flags = (short)(attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE) };
        if (ioctl(tap->fds[pair], TUNSETQUEUE, &request) < 0)
            return -errno;
        tap->attached[pair] = attach;
    }
    return 0;
}

static struct net_tap *tap_of(void *state)
{
    return state;
}

static unsigned tap_poll_fill(void *state, unsigned pair, struct pollfd *fds, unsigned capacity, bool want_receive,
                              bool want_transmit, int *timeout_ms)
{
    (void)timeout_ms;
    struct net_tap *tap = tap_of(state);
    if (pair >= tap->pair_count)
        return 0;
    return net_tap_queue_poll_fill(&tap->queues[pair], fds, capacity, want_receive, want_transmit);
}

static void tap_poll_dispatch(void *state, unsigned pair, const struct pollfd *fds, unsigned count,
                              const struct net_receive_sink *sink)
{
    struct net_tap *tap = tap_of(state);
    if (pair < tap->pair_count)
        net_tap_queue_poll_dispatch(&tap->queues[pair], fds, count, sink);
}

static int tap_transmit(void *state, unsigned pair, const struct iovec *segments, unsigned count,
                        const struct net_receive_sink *sink)
{
    (void)sink;
    struct net_tap *tap = tap_of(state);
    if (pair >= tap->pair_count)
        return 0;
    return net_tap_queue_transmit(&tap->queues[pair], segments, count);
}

static const struct net_backend_ops tap_ops = {
    .name = "tap",
    .header_size = NET_BACKEND_HEADER_SIZE,
    .poll_fill = tap_poll_fill,
    .poll_dispatch = tap_poll_dispatch,
    .transmit = tap_transmit,
    .set_offload = tap_set_offload,
    .set_active_pairs = tap_set_active_pairs,
};

int net_tap_open(struct net_backend *backend, const struct net_tap_options *options, struct error *error)
{
    if (options->pair_count == 0 || options->pair_count > NET_TAP_MAX_PAIRS)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap: %u queue pairs (1 .. %d)", options->pair_count,
                         NET_TAP_MAX_PAIRS);
    if (options->ifname && tap_check_name(options->ifname, error) < 0)
        return -1;
    struct net_tap *tap = calloc(1, sizeof(*tap));
    if (!tap)
        return error_set(error, EXIT_STATUS_FAILURE, "--net tap: out of memory");
    for (unsigned pair = 0; pair < NET_TAP_MAX_PAIRS; pair++)
        tap->fds[pair] = -1;
    tap->pair_count = options->pair_count;
    tap->multi_queue = options->pair_count > 1;
    if (options->ifname)
        snprintf(tap->name, sizeof(tap->name), "%s", options->ifname);
    bool existed = tap->name[0] && if_nametoindex(tap->name) != 0;

    for (unsigned pair = 0; pair < tap->pair_count; pair++) {
        if (tap_attach_queue(tap, pair, existed, error) < 0) {
            tap_free(tap); /* a tap we created goes with its last fd; an existing one only loses our queues */
            return -1;
        }
    }
    tap->created = !existed;
    unsigned offloads = tap_probe_offloads(tap->fds[0]);
    if (tap->created && tap_set_up(tap->name, error) < 0) {
        tap_free(tap);
        return -1;
    }
    for (unsigned pair = 0; pair < tap->pair_count; pair++) {
        net_tap_queue_init(&tap->queues[pair], tap->fds[pair], tap->name, pair);
        tap->attached[pair] = true;
    }

    *backend = (struct net_backend){
        .ops = &tap_ops,
        .state = tap,
        .pair_count = tap->pair_count,
        .offloads = offloads,
        .tap_fds = tap->fds,
    };
    return 0;
}

void net_tap_close(struct net_backend *backend)
{
    if (!backend->state)
        return;
    tap_free(backend->state);
    *backend = (struct net_backend){ 0 };
}

const char *net_tap_name(const struct net_backend *backend)
{
    const struct net_tap *tap = backend->state;
    return tap->name;
}

bool net_tap_created(const struct net_backend *backend)
{
    const struct net_tap *tap = backend->state;
    return tap->created;
}

uint64_t net_tap_dropped_transmits(const struct net_backend *backend)
{
    const struct net_tap *tap = backend->state;
    uint64_t total = 0;
    for (unsigned pair = 0; pair < tap->pair_count; pair++)
        total += net_tap_queue_dropped_transmits(&tap->queues[pair]);
    return total;
}

uint64_t net_tap_receive_errors(const struct net_backend *backend)
{
    const struct net_tap *tap = backend->state;
    uint64_t total = 0;
    for (unsigned pair = 0; pair < tap->pair_count; pair++)
        total += net_tap_queue_receive_errors(&tap->queues[pair]);
    return total;
}
