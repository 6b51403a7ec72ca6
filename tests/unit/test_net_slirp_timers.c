/* libslirp's timer list: arming, the poll timeout it implies, running what is due, callbacks that change the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backends/net_slirp_timers.h"

struct callback_record {
    unsigned calls;
    struct net_slirp_timer_list *list;
    struct net_slirp_timer *target; /* removed or re-armed by the callback */
};

static void count_call(void *opaque)
{
    struct callback_record *record = opaque;
    record->calls++;
}

static void remove_target(void *opaque)
{
    struct callback_record *record = opaque;
    record->calls++;
    net_slirp_timers_remove(record->list, record->target);
}

static void rearm_in_past(void *opaque)
{
    struct callback_record *record = opaque;
    record->calls++;
    net_slirp_timers_arm(record->target, 0);
}

static void test_timeout_follows_earliest_armed(void **state)
{
    (void)state;
    struct net_slirp_timer_list list = { 0 };
    struct callback_record record = { 0 };
    struct net_slirp_timer *late = net_slirp_timers_add(&list, count_call, &record);
    struct net_slirp_timer *early = net_slirp_timers_add(&list, count_call, &record);
    int timeout = -1;
    net_slirp_timers_bound_timeout(&list, 1000, &timeout);
    assert_int_equal(timeout, -1); /* nothing armed */
    net_slirp_timers_arm(late, 1500);
    net_slirp_timers_arm(early, 1200);
    net_slirp_timers_bound_timeout(&list, 1000, &timeout);
    assert_int_equal(timeout, 200);
    timeout = 50;
    net_slirp_timers_bound_timeout(&list, 1000, &timeout);
    assert_int_equal(timeout, 50); /* an earlier wait is kept */
    timeout = -1;
    net_slirp_timers_bound_timeout(&list, 5000, &timeout);
    assert_int_equal(timeout, 0); /* overdue: do not wait */
    net_slirp_timers_arm(early, INT64_MAX);
    net_slirp_timers_arm(late, INT64_MAX);
    timeout = -1;
    net_slirp_timers_bound_timeout(&list, 0, &timeout);
    assert_int_equal(timeout, INT32_MAX); /* clamped, not wrapped */
    net_slirp_timers_remove_all(&list);
    assert_null(list.head);
}

static void test_runs_due_once_and_disarms(void **state)
{
    (void)state;
    struct net_slirp_timer_list list = { 0 };
    struct callback_record due = { 0 }, later = { 0 }, idle = { 0 };
    net_slirp_timers_arm(net_slirp_timers_add(&list, count_call, &due), 100);
    net_slirp_timers_arm(net_slirp_timers_add(&list, count_call, &later), 300);
    net_slirp_timers_add(&list, count_call, &idle);
    assert_int_equal(net_slirp_timers_run_due(&list, 200), 1);
    assert_int_equal(net_slirp_timers_run_due(&list, 200), 0);
    assert_int_equal(due.calls, 1);
    assert_int_equal(later.calls, 0);
    assert_int_equal(net_slirp_timers_run_due(&list, 300), 1);
    assert_int_equal(later.calls, 1);
    assert_int_equal(idle.calls, 0);
    net_slirp_timers_remove_all(&list);
}

static void test_callback_removes_another_timer(void **state)
{
    (void)state;
    struct net_slirp_timer_list list = { 0 };
    struct callback_record victim_record = { 0 };
    struct net_slirp_timer *victim = net_slirp_timers_add(&list, count_call, &victim_record);
    struct callback_record remover = { .list = &list, .target = victim };
    struct net_slirp_timer *first = net_slirp_timers_add(&list, remove_target, &remover);
    net_slirp_timers_arm(victim, 10);
    net_slirp_timers_arm(first, 10);
    /* The list runs newest first: the remover goes first and the victim must not run after being freed. */
    assert_int_equal(net_slirp_timers_run_due(&list, 10), 1);
    assert_int_equal(remover.calls, 1);
    assert_int_equal(victim_record.calls, 0);
    assert_ptr_equal(list.head, first);
    assert_null(first->next);
    net_slirp_timers_remove_all(&list);
}

static void test_self_rearming_callback_is_bounded(void **state)
{
    (void)state;
    struct net_slirp_timer_list list = { 0 };
    struct callback_record record = { .list = &list };
    record.target = net_slirp_timers_add(&list, rearm_in_past, &record);
    net_slirp_timers_arm(record.target, 0);
    unsigned ran = net_slirp_timers_run_due(&list, 1000);
    assert_true(ran > 1 && ran <= 64);
    assert_int_equal(record.calls, ran);
    net_slirp_timers_remove_all(&list);
}

static void test_negative_expiry_is_due_now(void **state)
{
    (void)state;
    struct net_slirp_timer_list list = { 0 };
    struct callback_record record = { 0 };
    net_slirp_timers_arm(net_slirp_timers_add(&list, count_call, &record), -5);
    assert_int_equal(net_slirp_timers_run_due(&list, 0), 1);
    net_slirp_timers_remove_all(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_follows_earliest_armed),
        cmocka_unit_test(test_runs_due_once_and_disarms),
        cmocka_unit_test(test_callback_removes_another_timer),
        cmocka_unit_test(test_self_rearming_callback_is_bounded),
        cmocka_unit_test(test_negative_expiry_is_due_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
