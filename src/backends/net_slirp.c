#include "backends/net_slirp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/net_slirp_timers.h"
#include "backends/slirp_library.h"
#include "mem/iovec.h"
#include "util/log.h"

enum {
    ETHERNET_HEADER_BYTES = 14,
    VLAN_TAG_BYTES = 4,
    ETHERTYPE_IPV4 = 0x0800,
    IPV4_FRAGMENT_FIELD = 6,      /* flags and offset, from the start of the IPv4 header */
    IPV4_MORE_OR_OFFSET = 0x3fff, /* MF and the 13-bit fragment offset */
    /*
     * Sockets past the device's poll array are polled without waiting in
     * poll_dispatch; the pair thread then wakes at least this often so that
     * they are not starved.
     */
    OVERFLOW_POLL_INTERVAL_MS = 10,
};

struct net_slirp {
    const struct slirp_library *library;
    Slirp *slirp;
    struct net_slirp_timer_list timers;
    /* What libslirp asked to watch in the last slirp_pollfds_fill; indices are libslirp's. */
    struct pollfd *watched;
    unsigned watched_count, watched_capacity;
    unsigned exported; /* watched[0, exported) went to the device's poll array */
    bool receive_paused; /* the guest had no buffers at the last fill: POLLIN withheld */
    /* The sink of the poll_dispatch or transmit in progress; libslirp's send_packet writes into it. */
    const struct net_receive_sink *sink;
    /* The one copy on the transmit path: libslirp takes a linear frame. */
    uint8_t *frame;
    size_t frame_capacity;
    struct net_slirp_counters counters;
    struct log_ratelimit guest_error_limit;
    struct log_ratelimit overflow_limit;
    /* The forwards, kept to make libslirp afresh on a VM reset (net_slirp_reset). */
    struct net_hostfwd *hostfwds;
    unsigned hostfwd_count;
    uint32_t mtu;
};

/* --- libslirp's callbacks ------------------------------------------------- */

static ssize_t slirp_send_packet(const void *buffer, size_t length, void *opaque)
{
    struct net_slirp *state = opaque;
    const struct net_receive_sink *sink = state->sink;
    struct iovec *segments = NULL;
    unsigned count = 0;
    /* Outside a dispatch (never expected) there is nowhere to write: like a full ring, drop. */
    if (!sink || !sink->acquire(sink->opaque, length, &segments, &count)) {
        state->counters.dropped_to_guest++;
        return (ssize_t)length;
    }
    size_t copied = iovec_copy_to(segments, count, 0, buffer, length);
    if (copied != length) {
        sink->commit(sink->opaque, 0);
        state->counters.dropped_to_guest++;
        return (ssize_t)length;
    }
    sink->commit(sink->opaque, length);
    state->counters.frames_to_guest++;
    return (ssize_t)length;
}

static void slirp_guest_error(const char *message, void *opaque)
{
    struct net_slirp *state = opaque;
    log_ratelimited(&state->guest_error_limit, "--net user: guest error: %s", message);
}

static int64_t slirp_clock_get_ns(void *opaque)
{
    (void)opaque;
    return net_slirp_timers_now_ns();
}

static void *slirp_timer_new(SlirpTimerCb callback, void *callback_opaque, void *opaque)
{
    struct net_slirp *state = opaque;
    return net_slirp_timers_add(&state->timers, callback, callback_opaque);
}

static void slirp_timer_free(void *timer, void *opaque)
{
    struct net_slirp *state = opaque;
    if (timer)
        net_slirp_timers_remove(&state->timers, timer);
}

static void slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    if (timer)
        net_slirp_timers_arm(timer, expire_ms);
}

/* libslirp's sockets are found afresh by every slirp_pollfds_fill, so there is no set to keep. */
static void slirp_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void slirp_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

/* libslirp is driven by the thread that would be woken, which polls again before it sleeps. */
static void slirp_notify(void *opaque)
{
    (void)opaque;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_send_packet,
    .guest_error = slirp_guest_error,
    .clock_get_ns = slirp_clock_get_ns,
    .timer_new = slirp_timer_new,
    .timer_free = slirp_timer_free,
    .timer_mod = slirp_timer_mod,
    .register_poll_fd = slirp_register_poll_fd,
    .unregister_poll_fd = slirp_unregister_poll_fd,
    .notify = slirp_notify,
};

/* --- polling -------------------------------------------------------------- */

static short poll_events_from_slirp(int events)
{
    short result = 0;
    if (events & SLIRP_POLL_IN)
        result |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        result |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        result |= POLLPRI;
    return result;
}

static int slirp_events_from_poll(short revents)
{
    int result = 0;
    if (revents & POLLIN)
        result |= SLIRP_POLL_IN;
    if (revents & POLLOUT)
        result |= SLIRP_POLL_OUT;
    if (revents & POLLPRI)
        result |= SLIRP_POLL_PRI;
    if (revents & POLLERR)
        result |= SLIRP_POLL_ERR;
    if (revents & POLLHUP)
        result |= SLIRP_POLL_HUP;
    return result;
}

static int slirp_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *state = opaque;
    if (state->watched_count == state->watched_capacity) {
        unsigned capacity = state->watched_capacity ? state->watched_capacity * 2 : NET_BACKEND_MAX_POLL_FDS;
        struct pollfd *grown = capacity > state->watched_capacity
                                   ? reallocarray(state->watched, capacity, sizeof(*grown))
                                   : NULL;
        /* libslirp skips a socket whose index is -1 this round. */
        if (!grown)
            return -1;
        state->watched = grown;
        state->watched_capacity = capacity;
    }
    short wanted = poll_events_from_slirp(events);
    /* Without guest buffers a frame read now would be dropped: leave the data in the host socket. */
    if (state->receive_paused)
        wanted &= (short)~(POLLIN | POLLPRI);
    state->watched[state->watched_count] = (struct pollfd){ .fd = fd, .events = wanted };
    return (int)state->watched_count++;
}

static int slirp_get_revents(int index, void *opaque)
{
    const struct net_slirp *state = opaque;
    if (index < 0 || (unsigned)index >= state->watched_count)
        return 0;
    return slirp_events_from_poll(state->watched[index].revents);
}

static unsigned net_slirp_poll_fill(void *backend, unsigned pair, struct pollfd *fds, unsigned capacity,
                                    bool want_receive, bool want_transmit, int *timeout_ms)
{
    struct net_slirp *state = backend;
    (void)want_transmit; /* transmit never defers a frame */
    state->watched_count = 0;
    state->exported = 0;
    if (pair != 0)
        return 0;
    state->receive_paused = !want_receive;
    uint32_t slirp_timeout = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
    state->library->pollfds_fill(state->slirp, &slirp_timeout, slirp_add_poll, state);
    if (slirp_timeout != UINT32_MAX)
        *timeout_ms = slirp_timeout > INT_MAX ? INT_MAX : (int)slirp_timeout;
    net_slirp_timers_bound_timeout(&state->timers, net_slirp_timers_now_ns() / 1000000, timeout_ms);

    state->exported = state->watched_count < capacity ? state->watched_count : capacity;
    if (state->exported > 0)
        memcpy(fds, state->watched, state->exported * sizeof(*fds));
    if (state->exported < state->watched_count) {
        state->counters.poll_overflows++;
        log_ratelimited(&state->overflow_limit, "--net user: %u host sockets, %u polled in the wait",
                        state->watched_count, capacity);
        if (*timeout_ms < 0 || *timeout_ms > OVERFLOW_POLL_INTERVAL_MS)
            *timeout_ms = OVERFLOW_POLL_INTERVAL_MS;
    }
    return state->exported;
}

static void net_slirp_poll_dispatch(void *backend, unsigned pair, const struct pollfd *fds, unsigned count,
                                    const struct net_receive_sink *sink)
{
    struct net_slirp *state = backend;
    if (pair != 0)
        return;
    for (unsigned i = 0; i < state->exported; i++) {
        bool reported = i < count && fds[i].fd == state->watched[i].fd;
        state->watched[i].revents = reported ? fds[i].revents : 0;
    }
    unsigned overflow = state->watched_count - state->exported;
    if (overflow > 0 && poll(state->watched + state->exported, overflow, 0) < 0) {
        for (unsigned i = state->exported; i < state->watched_count; i++)
            state->watched[i].revents = 0;
    }

    state->sink = sink;
    state->library->pollfds_poll(state->slirp, 0, slirp_get_revents, state);
    net_slirp_timers_run_due(&state->timers, net_slirp_timers_now_ns() / 1000000);
    state->sink = NULL;
    /* A second dispatch without a fill must not see these events again. */
    for (unsigned i = 0; i < state->watched_count; i++)
        state->watched[i].revents = 0;
}

/* --- transmit and the rest of the ops ------------------------------------- */

/*
 * libslirp 4.7.0 (Debian bookworm) faults on a single frame: an IPv4 fragment
 * with a nonzero offset that arrives before the first fragment of its datagram
 * sends ip_reass down its "reassembly complete" path with a bad pointer
 * (fuzz_net_slirp found it; tests/unit/test_net_slirp.c keeps the frame). So
 * no guest fragment reaches it. Fragmentation is rare from a guest here: TCP
 * sets DF, and the link's MTU (65520 by default) carries any UDP datagram up to
 * 65492 bytes whole.
 */
static bool frame_is_ipv4_fragment(const uint8_t *frame, size_t length)
{
    if (length < ETHERNET_HEADER_BYTES + IPV4_FRAGMENT_FIELD + 2)
        return false;
    if (((unsigned)frame[12] << 8 | frame[13]) != ETHERTYPE_IPV4)
        return false;
    const uint8_t *field = frame + ETHERNET_HEADER_BYTES + IPV4_FRAGMENT_FIELD;
    return ((unsigned)field[0] << 8 | field[1]) & IPV4_MORE_OR_OFFSET;
}

static int net_slirp_transmit(void *backend, unsigned pair, const struct iovec *segments, unsigned count,
                              const struct net_receive_sink *sink)
{
    struct net_slirp *state = backend;
    uint64_t length = iovec_total_length(segments, count);
    if (pair != 0 || length < ETHERNET_HEADER_BYTES || length > state->frame_capacity) {
        state->counters.dropped_from_guest++;
        return 0;
    }
    size_t copied = iovec_copy_from(segments, count, 0, state->frame, (size_t)length);
    if (frame_is_ipv4_fragment(state->frame, copied)) {
        state->counters.dropped_from_guest++;
        return 0;
    }
    state->counters.frames_from_guest++;
    state->sink = sink;
    state->library->input(state->slirp, state->frame, (int)copied);
    state->sink = NULL;
    return 0;
}

static int net_slirp_set_offload(void *backend, unsigned offloads)
{
    (void)backend;
    return offloads == 0 ? 0 : -EINVAL;
}

static int net_slirp_set_active_pairs(void *backend, unsigned active)
{
    (void)backend;
    return active <= 1 ? 0 : -EINVAL;
}

static const struct net_backend_ops net_slirp_ops = {
    .name = "user",
    .header_size = 0,
    .poll_fill = net_slirp_poll_fill,
    .poll_dispatch = net_slirp_poll_dispatch,
    .transmit = net_slirp_transmit,
    .set_offload = net_slirp_set_offload,
    .set_active_pairs = net_slirp_set_active_pairs,
};

/* --- open and close ------------------------------------------------------- */

static struct in_addr address_from_host_order(uint32_t address)
{
    return (struct in_addr){ .s_addr = htonl(address) };
}

/* libslirp and what it asked for: its sockets closed, its timers gone, nothing watched. */
static void stop_slirp(struct net_slirp *state)
{
    /* libslirp frees its timers through timer_free while it cleans up: the list goes after it. */
    if (state->slirp)
        state->library->cleanup(state->slirp);
    state->slirp = NULL;
    net_slirp_timers_remove_all(&state->timers);
    state->watched_count = 0;
    state->exported = 0;
    state->receive_paused = false;
}

static void state_free(struct net_slirp *state)
{
    stop_slirp(state);
    free(state->watched);
    free(state->frame);
    free(state->hostfwds);
    free(state);
}

static int hostfwd_error(struct error *error, const struct net_hostfwd *forward, int saved_errno)
{
    char host[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN], reason[128];
    struct in_addr host_address = address_from_host_order(forward->host_address);
    struct in_addr guest_address = address_from_host_order(forward->guest_address);
    inet_ntop(AF_INET, &host_address, host, sizeof(host));
    inet_ntop(AF_INET, &guest_address, guest, sizeof(guest));
    snprintf(reason, sizeof(reason), "%s", strerror(saved_errno));
    reason[0] = (char)tolower((unsigned char)reason[0]);
    return error_set(error, EXIT_STATUS_USAGE, "--net user: hostfwd %s:%s:%u-%s:%u: %s", forward->udp ? "udp" : "tcp",
                     host, forward->host_port, guest, forward->guest_port, reason);
}

static SlirpConfig slirp_config_for(uint32_t mtu)
{
    SlirpConfig config = {
        .version = 4,
        .restricted = 0,
        .in_enabled = true,
        .in6_enabled = false,
        .if_mtu = mtu,
        .if_mru = mtu,
    };
#ifdef KESTREL_FUZZING
    /* Fuzzed frames must not reach real host sockets: only libslirp's own services (ARP, DHCP, ping) answer. */
    config.restricted = 1;
#endif
    inet_pton(AF_INET, "10.0.2.0", &config.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &config.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &config.vhost);
    inet_pton(AF_INET, "10.0.2.15", &config.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &config.vnameserver);
    return config;
}

/* libslirp with the state's MTU and forwards (their host sockets bound and listening). */
static int start_slirp(struct net_slirp *state, struct error *error)
{
    SlirpConfig config = slirp_config_for(state->mtu);
    state->slirp = state->library->create(&config, &slirp_callbacks, state);
    if (!state->slirp)
        return error_set(error, EXIT_STATUS_FAILURE, "--net user: libslirp could not start");
    for (unsigned i = 0; i < state->hostfwd_count; i++) {
        const struct net_hostfwd *forward = &state->hostfwds[i];
        errno = 0;
        if (state->library->add_hostfwd(state->slirp, forward->udp, address_from_host_order(forward->host_address),
                                        forward->host_port, address_from_host_order(forward->guest_address),
                                        forward->guest_port) < 0) {
            int saved_errno = errno ? errno : EADDRNOTAVAIL;
            stop_slirp(state);
            return hostfwd_error(error, forward, saved_errno);
        }
    }
    return 0;
}

int net_slirp_open(struct net_backend *backend, const struct net_slirp_options *options, struct error *error)
{
    uint32_t mtu = options->mtu ? options->mtu : NET_SLIRP_MTU_DEFAULT;
    /* libslirp asserts on an MTU it cannot take: refuse it here, as the user's error. */
    if (mtu < NET_SLIRP_MTU_MIN || mtu > NET_SLIRP_MTU_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "--net user: mtu %u is outside %u..%u", mtu, NET_SLIRP_MTU_MIN,
                         NET_SLIRP_MTU_MAX);
    const struct slirp_library *library = slirp_library_get(error);
    if (!library)
        return -1;
    struct net_slirp *state = calloc(1, sizeof(*state));
    if (!state)
        return error_set(error, EXIT_STATUS_FAILURE, "--net user: out of memory");
    state->library = library;
    state->frame_capacity = ETHERNET_HEADER_BYTES + VLAN_TAG_BYTES + mtu;
    state->frame = malloc(state->frame_capacity);
    if (!state->frame) {
        state_free(state);
        return error_set(error, EXIT_STATUS_FAILURE, "--net user: out of memory");
    }
    state->mtu = mtu;
    if (options->hostfwd_count) {
        state->hostfwds = calloc(options->hostfwd_count, sizeof(*state->hostfwds));
        if (!state->hostfwds) {
            state_free(state);
            return error_set(error, EXIT_STATUS_FAILURE, "--net user: out of memory");
        }
        memcpy(state->hostfwds, options->hostfwds, options->hostfwd_count * sizeof(*state->hostfwds));
        state->hostfwd_count = options->hostfwd_count;
    }
    if (start_slirp(state, error) < 0) {
        state_free(state);
        return -1;
    }
    *backend = (struct net_backend){ .ops = &net_slirp_ops, .state = state, .pair_count = 1, .offloads = 0 };
    return 0;
}

int net_slirp_reset(struct net_backend *backend, struct error *error)
{
    struct net_slirp *state = backend->state;
    stop_slirp(state);
    return start_slirp(state, error);
}

void net_slirp_close(struct net_backend *backend)
{
    if (!backend->state)
        return;
    state_free(backend->state);
    backend->state = NULL;
}

struct net_slirp_counters net_slirp_counters(const struct net_backend *backend)
{
    const struct net_slirp *state = backend->state;
    return state->counters;
}
