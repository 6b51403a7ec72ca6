#ifndef KESTREL_VM_STOP_H
#define KESTREL_VM_STOP_H

/*
 * Why and when the VM stops. Any thread (a vCPU handling an exit, the
 * console's input thread, the main thread on a signal) may request a stop;
 * the first reason wins, so a panic reported before the guest's follow-up
 * reset stays the verdict. A request kicks every vCPU out of KVM_RUN
 * (immediate_exit plus a signal to its thread) and wakes the main thread.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <linux/kvm.h>

#include "util/error.h"

enum vm_stop_reason {
    VM_STOP_NONE = 0,
    VM_STOP_POWER_OFF, /* ACPI S5 or a KVM shutdown event: status 0 */
    VM_STOP_RESET,     /* the guest rebooted: the VM resets (or, --on-reboot exit, kestrel exits, status 0) */
    VM_STOP_PANIC,     /* pvpanic or a KVM crash event: status 1 */
    VM_STOP_QUIT,      /* Ctrl-A x: status 0 */
    VM_STOP_ERROR,     /* a fatal vCPU exit or host error, already reported: status 1 */
    VM_STOP_SIGNAL,    /* SIGTERM, SIGINT or SIGHUP to kestrel: status 1 */
};

enum { VM_STOP_MAX_VCPUS = 1024 };

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define VM_STOP_KICK_SIGNAL SIGUSR1

struct vm_stop {
    atomic_int reason;
    int wake_fd; /* eventfd the main thread polls; written once per request */
    pthread_mutex_t lock;
    unsigned vcpu_count;
    struct {
        pthread_t thread;
        struct kvm_run *run;
    } vcpus[VM_STOP_MAX_VCPUS];
};

int vm_stop_init(struct vm_stop *stop, struct error *error);
void vm_stop_destroy(struct vm_stop *stop);

/* Installs the (empty) kick signal handler, without SA_RESTART. */
int vm_stop_install_kick_handler(struct error *error);

/* Called by each vCPU thread before its first KVM_RUN. */
void vm_stop_register_vcpu(struct vm_stop *stop, struct kvm_run *run);

/* Kicks every registered vCPU out of KVM_RUN without a stop (a pause); its loop decides what next. */
void vm_stop_kick_vcpus(struct vm_stop *stop);

/* Returns true when this request set the reason (it was the first). */
bool vm_stop_request(struct vm_stop *stop, enum vm_stop_reason reason);

enum vm_stop_reason vm_stop_current(struct vm_stop *stop);

/*
 * For the next boot after a reset, once every vCPU thread of the last one
 * was joined: no reason, no registered vCPU, no wake pending.
 */
void vm_stop_rearm(struct vm_stop *stop);

#endif
