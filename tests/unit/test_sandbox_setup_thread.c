/* KESTREL_TSAN_TEST: vCPU threads hand work to the device set-up thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "sandbox/sandbox.h"

#define VCPUS 4
#define REQUESTS_PER_VCPU 50

static _Atomic unsigned served;
static _Atomic unsigned served_on_a_vcpu;

/* Runs where the request was served: it must not be a vCPU thread. */
static int work(void *argument)
{
    atomic_fetch_add(&served, 1);
    if (sandbox_thread_kind() == THREAD_KIND_VCPU)
        atomic_fetch_add(&served_on_a_vcpu, 1);
    return (int)(intptr_t)argument;
}

static void *vcpu_thread(void *argument)
{
    (void)argument;
    sandbox_thread_enter(THREAD_KIND_VCPU);
    for (int i = 0; i < REQUESTS_PER_VCPU; i++)
        if (sandbox_run_for_vcpu(work, (void *)(intptr_t)i) != i)
            return (void *)1;
    return NULL;
}

static void test_vcpu_requests_run_on_the_setup_thread(void **state)
{
    (void)state;
    atomic_store(&served, 0);
    atomic_store(&served_on_a_vcpu, 0);
    struct error error;
    assert_int_equal(sandbox_setup_thread_start(&error), 0);
    pthread_t threads[VCPUS];
    for (int i = 0; i < VCPUS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, vcpu_thread, NULL), 0);
    for (int i = 0; i < VCPUS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        assert_null(result);
    }
    sandbox_setup_thread_stop();
    assert_int_equal(atomic_load(&served), VCPUS * REQUESTS_PER_VCPU);
    assert_int_equal(atomic_load(&served_on_a_vcpu), 0);
}

static void *one_request(void *argument)
{
    (void)argument;
    sandbox_thread_enter(THREAD_KIND_VCPU);
    return (void *)(intptr_t)sandbox_run_for_vcpu(work, (void *)7);
}

static void test_requests_fail_once_stopped(void **state)
{
    (void)state;
    struct error error;
    assert_int_equal(sandbox_setup_thread_start(&error), 0);
    sandbox_setup_thread_stop();
    pthread_t thread;
    void *result;
    assert_int_equal(pthread_create(&thread, NULL, one_request, NULL), 0);
    pthread_join(thread, &result);
    assert_int_equal((intptr_t)result, -1);
}

static void test_other_threads_run_in_place(void **state)
{
    (void)state;
    /* The main thread (VMM) needs no set-up thread: reset at exit runs after it stopped. */
    atomic_store(&served, 0);
    assert_int_equal(sandbox_run_for_vcpu(work, (void *)3), 3);
    assert_int_equal(atomic_load(&served), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcpu_requests_run_on_the_setup_thread),
        cmocka_unit_test(test_requests_fail_once_stopped),
        cmocka_unit_test(test_other_threads_run_in_place),
    };
    return cmocka_run_group_tests_name("sandbox_setup_thread", tests, NULL, NULL);
}
