#ifndef KESTREL_VM_PAUSE_H
#define KESTREL_VM_PAUSE_H

/*
 * Parking the vCPU threads at a consistent point, as kvmtool's pause does:
 * the controller sets the request and kicks every vCPU (immediate_exit plus
 * the kick signal, vm_stop_kick_vcpus); a vCPU parks only after a KVM_RUN
 * that returned EINTR, so KVM has completed any port or MMIO access it was
 * in the middle of and its state is whole. Resume clears immediate_exit and
 * lets them run. A stop request ends the wait on both sides.
 */

#include <pthread.h>
#include <stdbool.h>

#include <linux/kvm.h>

#include "util/error.h"
#include "vm_stop.h"

struct vm_pause {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool requested;
    unsigned parked;
    unsigned vcpu_count; /* threads that must park before a pause is complete */
};

int vm_pause_init(struct vm_pause *pause, unsigned vcpu_count, struct error *error);
void vm_pause_destroy(struct vm_pause *pause);

/*
 * vCPU side: called where KVM_RUN returned EINTR (and before the first
 * KVM_RUN). Parks while a pause is requested and no stop is; before it
 * returns to KVM_RUN it clears immediate_exit, unless a stop has begun.
 */
void vm_pause_park_if_requested(struct vm_pause *pause, struct vm_stop *stop, struct kvm_run *run);

/*
 * Controller side. Returns when every vCPU is parked (0), or -1 when a stop
 * request ended the wait. Idempotent.
 */
int vm_pause_vcpus(struct vm_pause *pause, struct vm_stop *stop, struct error *error);
void vm_pause_resume_vcpus(struct vm_pause *pause);
bool vm_pause_is_paused(struct vm_pause *pause);

#endif
