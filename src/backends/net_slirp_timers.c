#include "backends/net_slirp_timers.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

/* More than libslirp ever arms (one per IPv6 router-advertisement timer): a round never runs forever. */
enum { TIMERS_PER_ROUND_MAX = 64 };

int64_t net_slirp_timers_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

struct net_slirp_timer *net_slirp_timers_add(struct net_slirp_timer_list *list, void (*callback)(void *opaque),
                                             void *callback_opaque)
{
    struct net_slirp_timer *timer = calloc(1, sizeof(*timer));
    if (!timer)
        return NULL;
    timer->callback = callback;
    timer->callback_opaque = callback_opaque;
    timer->expire_ms = NET_SLIRP_TIMER_IDLE;
    timer->next = list->head;
    list->head = timer;
    return timer;
}

void net_slirp_timers_arm(struct net_slirp_timer *timer, int64_t expire_ms)
{
    timer->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

void net_slirp_timers_remove(struct net_slirp_timer_list *list, struct net_slirp_timer *timer)
{
    for (struct net_slirp_timer **link = &list->head; *link; link = &(*link)->next) {
        if (*link == timer) {
            *link = timer->next;
            free(timer);
            return;
        }
    }
}

void net_slirp_timers_remove_all(struct net_slirp_timer_list *list)
{
    while (list->head) {
        struct net_slirp_timer *next = list->head->next;
        free(list->head);
        list->head = next;
    }
}

void net_slirp_timers_bound_timeout(const struct net_slirp_timer_list *list, int64_t now_ms, int *timeout_ms)
{
    for (const struct net_slirp_timer *timer = list->head; timer; timer = timer->next) {
        if (timer->expire_ms == NET_SLIRP_TIMER_IDLE)
            continue;
        int64_t left = timer->expire_ms - now_ms;
        if (left < 0)
            left = 0;
        if (left > INT_MAX)
            left = INT_MAX;
        if (*timeout_ms < 0 || left < *timeout_ms)
            *timeout_ms = (int)left;
    }
}

static struct net_slirp_timer *first_due(const struct net_slirp_timer_list *list, int64_t now_ms)
{
    for (struct net_slirp_timer *timer = list->head; timer; timer = timer->next)
        if (timer->expire_ms != NET_SLIRP_TIMER_IDLE && timer->expire_ms <= now_ms)
            return timer;
    return NULL;
}

unsigned net_slirp_timers_run_due(struct net_slirp_timer_list *list, int64_t now_ms)
{
    /* Search again after each callback: it may have removed the timer that came next. */
    unsigned ran = 0;
    struct net_slirp_timer *timer;
    while (ran < TIMERS_PER_ROUND_MAX && (timer = first_due(list, now_ms)) != NULL) {
        timer->expire_ms = NET_SLIRP_TIMER_IDLE;
        timer->callback(timer->callback_opaque);
        ran++;
    }
    return ran;
}
