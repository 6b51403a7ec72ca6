#ifndef KESTREL_VCPU_LOOP_H
#define KESTREL_VCPU_LOOP_H

/*
 * A vCPU thread: KVM_RUN until a stop is requested, dispatching each exit.
 * Port I/O and MMIO go to the buses; the guest's power-off, reset and crash
 * events and fatal exits (triple fault, failed entry, KVM internal error)
 * become stop requests. Everything in kvm_run is written by a hostile guest
 * or by KVM on its behalf: sizes and offsets are checked before use.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "kvm/exit_stats.h"
#include "kvm/kvm_vcpu.h"
#include "vm_pause.h"
#include "vm_stop.h"

struct vcpu_loop {
    struct kvm_vcpu *vcpu;
    struct io_bus *pio;
    struct io_bus *mmio;
    struct vm_stop *stop;
    struct vm_pause *pause; /* NULL: never paused */
    struct exit_stats stats; /* written only by the vCPU thread; readable live (exit_stats_read) */
    /* Boot vCPU only (else NULL): CLOCK_MONOTONIC ns just before its first KVM_RUN, for --stats. */
    _Atomic uint64_t *first_run_ns;
};

/* pthread entry point; `argument` is a struct vcpu_loop. */
void *vcpu_loop_thread(void *argument);

/* Handles the exit in loop->vcpu->run; false when the vCPU must stop. */
bool vcpu_loop_handle_exit(struct vcpu_loop *loop);

#endif
