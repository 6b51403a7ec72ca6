#ifndef KESTREL_KVM_KVM_VCPU_H
#define KESTREL_KVM_KVM_VCPU_H

/* One KVM vCPU: its fd and the kvm_run area it shares with the kernel. */

#include <stdint.h>

#include <linux/kvm.h>

#include "kvm/kvm_system.h"
#include "kvm/kvm_vm.h"
#include "util/error.h"

struct kvm_vcpu {
    int fd;
    unsigned index; /* also its APIC id */
    struct kvm_run *run;
    uint64_t run_size; /* bytes mapped at `run`: bounds for io.data_offset */
};

int kvm_vcpu_create(struct kvm_vcpu *vcpu, const struct kvm_system *kvm, struct kvm_vm *vm, unsigned index,
                    struct error *error);
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu);

/* KVM_RUN: 0 on an exit to handle, -1 with errno (EINTR: kicked out by a signal or immediate_exit). */
int kvm_vcpu_run(struct kvm_vcpu *vcpu);

#endif
