#include "vm_pause.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* How often a parked or pausing thread looks for a stop request, which does not signal this condition. */
#define VM_PAUSE_STOP_CHECK_NS 50000000L

int vm_pause_init(struct vm_pause *pause, unsigned vcpu_count, struct error *error)
{
    memset(pause, 0, sizeof(*pause));
    pause->vcpu_count = vcpu_count;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    int result = pthread_cond_init(&pause->changed, &attributes);
    pthread_condattr_destroy(&attributes);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "pause: condition variable: %s", strerror(result));
    pthread_mutex_init(&pause->lock, NULL);
    return 0;
}

void vm_pause_destroy(struct vm_pause *pause)
{
    pthread_cond_destroy(&pause->changed);
    pthread_mutex_destroy(&pause->lock);
}

static void wait_a_little(struct vm_pause *pause)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += VM_PAUSE_STOP_CHECK_NS;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&pause->changed, &pause->lock, &deadline);
}

void vm_pause_park_if_requested(struct vm_pause *pause, struct vm_stop *stop, struct kvm_run *run)
{
    pthread_mutex_lock(&pause->lock);
    /* Not requested: a pause that was resumed before this vCPU saw it; its kick must not spin KVM_RUN. */
    if (pause->requested) {
        pause->parked++;
        pthread_cond_broadcast(&pause->changed);
        while (pause->requested && vm_stop_current(stop) == VM_STOP_NONE)
            wait_a_little(pause);
        pause->parked--;
    }
    /*
     * The pause's kick set immediate_exit; a stop's kick sets it too, after
     * publishing its reason, so clearing it here can only lose a kick whose
     * reason the vCPU loop sees before its next KVM_RUN.
     */
    if (vm_stop_current(stop) == VM_STOP_NONE)
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&pause->lock);
}

int vm_pause_vcpus(struct vm_pause *pause, struct vm_stop *stop, struct error *error)
{
    pthread_mutex_lock(&pause->lock);
    pause->requested = true;
    pthread_mutex_unlock(&pause->lock);
    /* After the request is visible: a vCPU that registers later sees it before its first KVM_RUN. */
    vm_stop_kick_vcpus(stop);
    pthread_mutex_lock(&pause->lock);
    while (pause->parked < pause->vcpu_count && vm_stop_current(stop) == VM_STOP_NONE)
        wait_a_little(pause);
    bool stopping = pause->parked < pause->vcpu_count;
    pthread_mutex_unlock(&pause->lock);
    if (stopping)
        return error_set(error, EXIT_STATUS_FAILURE, "the VM is stopping");
    return 0;
}

void vm_pause_resume_vcpus(struct vm_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    pause->requested = false;
    pthread_cond_broadcast(&pause->changed);
    pthread_mutex_unlock(&pause->lock);
}

bool vm_pause_is_paused(struct vm_pause *pause)
{
    pthread_mutex_lock(&pause->lock);
    bool paused = pause->requested;
    pthread_mutex_unlock(&pause->lock);
    return paused;
}
