#ifndef KESTREL_ARCH_X86_VCPU_SETUP_H
#define KESTREL_ARCH_X86_VCPU_SETUP_H

/*
 * Programs a freshly created vCPU through KVM: CPUID, boot MSRs, LAPIC LINT
 * pins, and for the boot vCPU the registers of the kernel's entry point.
 * Application processors keep KVM's reset state and wait for INIT/SIPI.
 */

#include <linux/kvm.h>

#include "arch/x86/boot_entry.h"
#include "kvm/kvm_vcpu.h"
#include "util/error.h"

struct x86_vcpu_template {
    const struct kvm_cpuid2 *supported_cpuid;
    const struct kvm_msr_list *supported_msrs;
    unsigned vcpu_count;
};

/* `entry` is the boot entry for the BSP, NULL for an AP. */
int x86_vcpu_setup(struct kvm_vcpu *vcpu, const struct x86_vcpu_template *template, const struct boot_entry *entry,
                   struct error *error);

#endif
