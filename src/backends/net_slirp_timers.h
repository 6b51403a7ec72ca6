#ifndef KESTREL_BACKENDS_NET_SLIRP_TIMERS_H
#define KESTREL_BACKENDS_NET_SLIRP_TIMERS_H

/*
 * The timers libslirp asks for through SlirpCb (timer_new, timer_mod,
 * timer_free), kept in a plain list and run by the pair thread between polls:
 * libslirp has no thread of its own, so its timers fire only when the thread
 * that drives it looks at this list. Times are milliseconds on
 * CLOCK_MONOTONIC, the clock libslirp reads through clock_get_ns.
 */

#include <stdint.h>

struct net_slirp_timer {
    struct net_slirp_timer *next;
    void (*callback)(void *opaque);
    void *callback_opaque;
    int64_t expire_ms; /* NET_SLIRP_TIMER_IDLE when not armed */
};

enum { NET_SLIRP_TIMER_IDLE = -1 };

struct net_slirp_timer_list {
    struct net_slirp_timer *head;
};

int64_t net_slirp_timers_now_ns(void);

/* NULL when out of memory. */
struct net_slirp_timer *net_slirp_timers_add(struct net_slirp_timer_list *list, void (*callback)(void *opaque),
                                             void *callback_opaque);
void net_slirp_timers_arm(struct net_slirp_timer *timer, int64_t expire_ms);
void net_slirp_timers_remove(struct net_slirp_timer_list *list, struct net_slirp_timer *timer);
void net_slirp_timers_remove_all(struct net_slirp_timer_list *list);

/* Lowers *timeout_ms (-1: none) to the time left before the earliest armed timer. */
void net_slirp_timers_bound_timeout(const struct net_slirp_timer_list *list, int64_t now_ms, int *timeout_ms);

/*
 * Runs the timers due at `now_ms`, each disarmed before its callback (which
 * may re-arm or remove any timer); returns how many ran. Bounded, so a
 * callback that re-arms itself in the past cannot hold the thread.
 */
unsigned net_slirp_timers_run_due(struct net_slirp_timer_list *list, int64_t now_ms);

#endif
