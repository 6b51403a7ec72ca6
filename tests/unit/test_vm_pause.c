/* KESTREL_TSAN_TEST: pause and resume race with vCPU threads entering and leaving "KVM_RUN", and with stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "vm_pause.h"
#include "vm_stop.h"

enum { VCPU_THREADS = 4 };

/*
 * A stand-in for a vCPU thread, looping as vcpu_loop_thread does. Its
 * "KVM_RUN" returns EINTR if immediate_exit is set, else "runs the guest"
 * (counts work) for up to a millisecond, sleeping with the kick signal
 * unblocked, and returns as for an exit to handle.
 */
struct fake_vcpu {
    struct vm_stop *stop;
    struct vm_pause *pause;
    struct kvm_run run;
    atomic_uint_fast64_t work;
};

static int fake_kvm_run(struct fake_vcpu *vcpu, const sigset_t *during_sleep)
{
    if (__atomic_load_n(&vcpu->run.immediate_exit, __ATOMIC_SEQ_CST)) {
        errno = EINTR;
        return -1;
    }
    atomic_fetch_add(&vcpu->work, 1);
    struct timespec slice = {.tv_nsec = 1000000};
    if (ppoll(NULL, 0, &slice, during_sleep) < 0 && errno == EINTR)
        return -1;
    return 0;
}

static void *fake_vcpu_thread(void *argument)
{
    struct fake_vcpu *vcpu = argument;
    sigset_t blocked, during_sleep;
    sigemptyset(&blocked);
    sigaddset(&blocked, VM_STOP_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &blocked, &during_sleep);
    sigdelset(&during_sleep, VM_STOP_KICK_SIGNAL);
    vm_stop_register_vcpu(vcpu->stop, &vcpu->run);
    vm_pause_park_if_requested(vcpu->pause, vcpu->stop, &vcpu->run);
    while (vm_stop_current(vcpu->stop) == VM_STOP_NONE) {
        if (fake_kvm_run(vcpu, &during_sleep) < 0)
            vm_pause_park_if_requested(vcpu->pause, vcpu->stop, &vcpu->run);
    }
    return NULL;
}

struct machine {
    struct vm_stop stop;
    struct vm_pause pause;
    struct fake_vcpu vcpus[VCPU_THREADS];
    pthread_t threads[VCPU_THREADS];
};

static struct machine *machine_start(void)
{
    struct machine *machine = calloc(1, sizeof(*machine));
    assert_non_null(machine);
    struct error error;
    assert_int_equal(vm_stop_install_kick_handler(&error), 0);
    assert_int_equal(vm_stop_init(&machine->stop, &error), 0);
    assert_int_equal(vm_pause_init(&machine->pause, VCPU_THREADS, &error), 0);
    for (unsigned i = 0; i < VCPU_THREADS; i++) {
        machine->vcpus[i].stop = &machine->stop;
        machine->vcpus[i].pause = &machine->pause;
        assert_int_equal(pthread_create(&machine->threads[i], NULL, fake_vcpu_thread, &machine->vcpus[i]), 0);
    }
    return machine;
}

static void machine_stop(struct machine *machine)
{
    vm_stop_request(&machine->stop, VM_STOP_QUIT);
    for (unsigned i = 0; i < VCPU_THREADS; i++)
        pthread_join(machine->threads[i], NULL);
    vm_pause_destroy(&machine->pause);
    vm_stop_destroy(&machine->stop);
    free(machine);
}

static uint64_t total_work(struct machine *machine)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < VCPU_THREADS; i++)
        total += atomic_load(&machine->vcpus[i].work);
    return total;
}

static void wait_for_work(struct machine *machine, uint64_t above)
{
    for (int i = 0; i < 5000 && total_work(machine) <= above; i++)
        usleep(1000);
    assert_true(total_work(machine) > above);
}

static void test_pause_stops_every_vcpu_and_resume_restarts_them(void **state)
{
    (void)state;
    unsigned rounds = getenv("KESTREL_STRESS_SCALE") ? 20 : 100;
    struct machine *machine = machine_start();
    struct error error;
    for (unsigned round = 0; round < rounds; round++) {
        /* Some rounds pause before the vCPUs have run at all. */
        if (round % 3)
            wait_for_work(machine, total_work(machine));
        assert_int_equal(vm_pause_vcpus(&machine->pause, &machine->stop, &error), 0);
        assert_true(vm_pause_is_paused(&machine->pause));
        /* Idempotent. */
        assert_int_equal(vm_pause_vcpus(&machine->pause, &machine->stop, &error), 0);
        uint64_t frozen = total_work(machine);
        usleep(round % 10 ? 200 : 20000);
        assert_int_equal(total_work(machine), frozen);
        vm_pause_resume_vcpus(&machine->pause);
        assert_false(vm_pause_is_paused(&machine->pause));
        wait_for_work(machine, frozen);
    }
    machine_stop(machine);
}

static void test_a_stop_ends_a_pause(void **state)
{
    (void)state;
    struct machine *machine = machine_start();
    struct error error;
    assert_int_equal(vm_pause_vcpus(&machine->pause, &machine->stop, &error), 0);
    /* The parked vCPUs leave on a stop, without a resume. */
    vm_stop_request(&machine->stop, VM_STOP_POWER_OFF);
    for (unsigned i = 0; i < VCPU_THREADS; i++)
        pthread_join(machine->threads[i], NULL);
    /* And a pause asked for after the stop fails instead of waiting forever. */
    vm_pause_resume_vcpus(&machine->pause);
    assert_int_equal(vm_pause_vcpus(&machine->pause, &machine->stop, &error), -1);
    assert_non_null(strstr(error.message, "stopping"));
    vm_pause_destroy(&machine->pause);
    vm_stop_destroy(&machine->stop);
    free(machine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_stops_every_vcpu_and_resume_restarts_them),
        cmocka_unit_test(test_a_stop_ends_a_pause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
