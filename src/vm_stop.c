#include "vm_stop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int vm_stop_init(struct vm_stop *stop, struct error *error)
{
    memset(stop, 0, sizeof(*stop));
    atomic_init(&stop->reason, VM_STOP_NONE);
    stop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop->wake_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "eventfd: %s", strerror(errno));
    pthread_mutex_init(&stop->lock, NULL);
    return 0;
}

void vm_stop_destroy(struct vm_stop *stop)
{
    if (stop->wake_fd >= 0)
        close(stop->wake_fd);
    stop->wake_fd = -1;
    pthread_mutex_destroy(&stop->lock);
}

static void kick_signal_handler(int signal_number)
{
    /* Its only job is to make KVM_RUN return EINTR. */
    (void)signal_number;
}

int vm_stop_install_kick_handler(struct error *error)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = kick_signal_handler;
    sigemptyset(&action.sa_mask);
    if (sigaction(VM_STOP_KICK_SIGNAL, &action, NULL) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "sigaction: %s", strerror(errno));
    return 0;
}

static void kick(struct kvm_run *run, pthread_t thread)
{
    /* Checked by KVM at every entry: a thread about to enter KVM_RUN returns at once. */
    __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(thread, VM_STOP_KICK_SIGNAL);
}

void vm_stop_register_vcpu(struct vm_stop *stop, struct kvm_run *run)
{
    pthread_mutex_lock(&stop->lock);
    if (stop->vcpu_count < VM_STOP_MAX_VCPUS) {
        stop->vcpus[stop->vcpu_count].thread = pthread_self();
        stop->vcpus[stop->vcpu_count].run = run;
        stop->vcpu_count++;
    }
    /* A stop requested before this vCPU registered must still reach it. */
    if (atomic_load(&stop->reason) != VM_STOP_NONE)
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&stop->lock);
}

void vm_stop_kick_vcpus(struct vm_stop *stop)
{
    pthread_mutex_lock(&stop->lock);
    for (unsigned i = 0; i < stop->vcpu_count; i++)
        kick(stop->vcpus[i].run, stop->vcpus[i].thread);
    pthread_mutex_unlock(&stop->lock);
}

bool vm_stop_request(struct vm_stop *stop, enum vm_stop_reason reason)
{
    int expected = VM_STOP_NONE;
    bool first = atomic_compare_exchange_strong(&stop->reason, &expected, (int)reason);
    if (!first)
        return false;
    pthread_mutex_lock(&stop->lock);
    for (unsigned i = 0; i < stop->vcpu_count; i++)
        kick(stop->vcpus[i].run, stop->vcpus[i].thread);
    pthread_mutex_unlock(&stop->lock);
    uint64_t one = 1;
    if (write(stop->wake_fd, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow from one write per VM; nothing to do. */
    }
    return true;
}

enum vm_stop_reason vm_stop_current(struct vm_stop *stop)
{
    return (enum vm_stop_reason)atomic_load(&stop->reason);
}

void vm_stop_rearm(struct vm_stop *stop)
{
    pthread_mutex_lock(&stop->lock);
    stop->vcpu_count = 0;
    atomic_store(&stop->reason, VM_STOP_NONE);
    pthread_mutex_unlock(&stop->lock);
    uint64_t drained;
    if (read(stop->wake_fd, &drained, sizeof(drained)) < 0) {
        /* Nonblocking: nothing was pending. */
    }
}
