/* KESTREL_TSAN_TEST: stop requests race with each other and with vCPU threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "vm_stop.h"

enum { VCPU_THREADS = 4, REQUESTERS = 4 };

/*
 * A stand-in for a vCPU thread in KVM_RUN: it registers, then sleeps until
 * kicked. Like KVM it checks immediate_exit with the kick signal blocked and
 * sleeps with it unblocked atomically (ppoll), so a kick is never lost.
 */
struct fake_vcpu {
    struct vm_stop *stop;
    struct kvm_run run;
    atomic_bool registered;
};

static void *fake_vcpu_thread(void *argument)
{
    struct fake_vcpu *vcpu = argument;
    sigset_t blocked, during_sleep;
    sigemptyset(&blocked);
    sigaddset(&blocked, VM_STOP_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &blocked, &during_sleep);
    sigdelset(&during_sleep, VM_STOP_KICK_SIGNAL);
    vm_stop_register_vcpu(vcpu->stop, &vcpu->run);
    atomic_store(&vcpu->registered, true);
    while (!__atomic_load_n(&vcpu->run.immediate_exit, __ATOMIC_SEQ_CST))
        ppoll(NULL, 0, NULL, &during_sleep);
    return NULL;
}

struct requester {
    struct vm_stop *stop;
    enum vm_stop_reason reason;
    bool was_first;
};

static void *requester_thread(void *argument)
{
    struct requester *requester = argument;
    requester->was_first = vm_stop_request(requester->stop, requester->reason);
    return NULL;
}

static void test_first_reason_wins_and_every_vcpu_is_kicked(void **state)
{
    (void)state;
    struct error error;
    assert_int_equal(vm_stop_install_kick_handler(&error), 0);
    unsigned rounds = getenv("KESTREL_STRESS_SCALE") ? 20 : 200;
    for (unsigned round = 0; round < rounds; round++) {
        struct vm_stop *stop = malloc(sizeof(*stop));
        assert_non_null(stop);
        assert_int_equal(vm_stop_init(stop, &error), 0);
        struct fake_vcpu vcpus[VCPU_THREADS];
        pthread_t vcpu_threads[VCPU_THREADS];
        memset(vcpus, 0, sizeof(vcpus));
        for (unsigned i = 0; i < VCPU_THREADS; i++) {
            vcpus[i].stop = stop;
            assert_int_equal(pthread_create(&vcpu_threads[i], NULL, fake_vcpu_thread, &vcpus[i]), 0);
        }
        /* Some rounds request before the vCPUs register, some after. */
        if (round % 2) {
            for (unsigned i = 0; i < VCPU_THREADS; i++)
                while (!atomic_load(&vcpus[i].registered))
                    usleep(100);
        }
        struct requester requesters[REQUESTERS];
        pthread_t requester_threads[REQUESTERS];
        static const enum vm_stop_reason reasons[REQUESTERS] = {VM_STOP_PANIC, VM_STOP_RESET, VM_STOP_POWER_OFF,
                                                                 VM_STOP_QUIT};
        for (unsigned i = 0; i < REQUESTERS; i++) {
            requesters[i] = (struct requester){.stop = stop, .reason = reasons[i]};
            assert_int_equal(pthread_create(&requester_threads[i], NULL, requester_thread, &requesters[i]), 0);
        }
        for (unsigned i = 0; i < REQUESTERS; i++)
            pthread_join(requester_threads[i], NULL);
        /* Every vCPU leaves its "KVM_RUN"; a lost kick would hang here. */
        for (unsigned i = 0; i < VCPU_THREADS; i++)
            pthread_join(vcpu_threads[i], NULL);
        unsigned winners = 0;
        for (unsigned i = 0; i < REQUESTERS; i++) {
            if (requesters[i].was_first) {
                winners++;
                assert_int_equal(vm_stop_current(stop), requesters[i].reason);
            }
        }
        assert_int_equal(winners, 1);
        /* The main thread's wake-up is readable. */
        struct pollfd wake = {.fd = stop->wake_fd, .events = POLLIN};
        assert_int_equal(poll(&wake, 1, 0), 1);
        vm_stop_destroy(stop);
        free(stop);
    }
}

static void test_later_requests_change_nothing(void **state)
{
    (void)state;
    struct vm_stop stop;
    struct error error;
    assert_int_equal(vm_stop_init(&stop, &error), 0);
    assert_int_equal(vm_stop_current(&stop), VM_STOP_NONE);
    assert_true(vm_stop_request(&stop, VM_STOP_PANIC));
    assert_false(vm_stop_request(&stop, VM_STOP_RESET));
    assert_false(vm_stop_request(&stop, VM_STOP_ERROR));
    assert_int_equal(vm_stop_current(&stop), VM_STOP_PANIC);
    /* A vCPU registering after the stop is told at once. */
    struct kvm_run run;
    memset(&run, 0, sizeof(run));
    vm_stop_register_vcpu(&stop, &run);
    assert_int_equal(run.immediate_exit, 1);
    vm_stop_destroy(&stop);
}

/* After a reset the next boot starts clean: no reason, nothing pending on the wake fd, requests count again. */
static void test_rearm_after_a_reset(void **state)
{
    (void)state;
    struct vm_stop stop;
    struct error error;
    assert_int_equal(vm_stop_init(&stop, &error), 0);
    /* This thread stands in for the vCPU: the kick signal must not kill it. */
    assert_int_equal(vm_stop_install_kick_handler(&error), 0);
    struct kvm_run run;
    memset(&run, 0, sizeof(run));
    vm_stop_register_vcpu(&stop, &run);
    assert_true(vm_stop_request(&stop, VM_STOP_RESET));
    assert_int_equal(vm_stop_current(&stop), VM_STOP_RESET);
    vm_stop_rearm(&stop);
    assert_int_equal(vm_stop_current(&stop), VM_STOP_NONE);
    assert_int_equal(stop.vcpu_count, 0);
    struct pollfd wake = {.fd = stop.wake_fd, .events = POLLIN};
    assert_int_equal(poll(&wake, 1, 0), 0);
    /* The last boot's vCPU is gone: a new request must not signal its thread. */
    run.immediate_exit = 0;
    assert_true(vm_stop_request(&stop, VM_STOP_POWER_OFF));
    assert_int_equal(run.immediate_exit, 0);
    assert_int_equal(poll(&wake, 1, 0), 1);
    vm_stop_destroy(&stop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_reason_wins_and_every_vcpu_is_kicked),
        cmocka_unit_test(test_later_requests_change_nothing),
        cmocka_unit_test(test_rearm_after_a_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
