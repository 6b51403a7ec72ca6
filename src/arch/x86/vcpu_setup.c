#include "arch/x86/vcpu_setup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "arch/x86/regs.h"

static int setup_cpuid(struct kvm_vcpu *vcpu, const struct x86_vcpu_template *template, struct error *error)
{
    /* Room for the rebuilt topology leaves and the KVM leaves beyond the supported list. */
    uint32_t capacity = template->supported_cpuid->nent + 16;
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + capacity * sizeof(struct kvm_cpuid_entry2));
    if (!cpuid)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for vCPU %u's CPUID", vcpu->index);
    uint32_t count;
    int result = cpuid_build_for_vcpu(template->supported_cpuid->entries, template->supported_cpuid->nent,
                                      vcpu->index, template->vcpu_count, cpuid->entries, capacity, &count, error);
    if (result == 0) {
        cpuid->nent = count;
        if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
            result = error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_CPUID2 on vCPU %u: %s", vcpu->index,
                               strerror(errno));
    }
    free(cpuid);
    return result;
}

static int setup_msrs(struct kvm_vcpu *vcpu, const struct x86_vcpu_template *template, struct error *error)
{
    struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + MSR_BOOT_LIST_MAX * sizeof(struct kvm_msr_entry));
    if (!msrs)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for vCPU %u's MSRs", vcpu->index);
    msrs->nmsrs = msr_build_boot_list(template->supported_msrs->indices, template->supported_msrs->nmsrs,
                                      msrs->entries);
    int result = 0;
    int written = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
    if (written < 0)
        result = error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_MSRS on vCPU %u: %s", vcpu->index, strerror(errno));
    else if ((uint32_t)written != msrs->nmsrs)
        result = error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_MSRS on vCPU %u: MSR 0x%x refused", vcpu->index,
                           msrs->entries[written].index);
    free(msrs);
    return result;
}

static int setup_lapic(struct kvm_vcpu *vcpu, struct error *error)
{
    struct kvm_lapic_state lapic;
    if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_LAPIC on vCPU %u: %s", vcpu->index, strerror(errno));
    regs_set_lapic_lint(&lapic);
    if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_LAPIC on vCPU %u: %s", vcpu->index, strerror(errno));
    return 0;
}

static int setup_boot_registers(struct kvm_vcpu *vcpu, const struct boot_entry *entry, struct error *error)
{
    struct kvm_sregs sregs;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_SREGS: %s", strerror(errno));
    regs_set_boot_sregs(&sregs, entry->mode);
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_SREGS: %s", strerror(errno));
    struct kvm_regs regs;
    regs_set_boot_regs(&regs, entry);
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_REGS: %s", strerror(errno));
    struct kvm_fpu fpu;
    regs_set_boot_fpu(&fpu);
    if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_FPU: %s", strerror(errno));
    return 0;
}

int x86_vcpu_setup(struct kvm_vcpu *vcpu, const struct x86_vcpu_template *template, const struct boot_entry *entry,
                   struct error *error)
{
    /* CPUID first: KVM derives the vCPU's feature set (and which MSRs are valid) from it. */
    if (setup_cpuid(vcpu, template, error) < 0)
        return -1;
    if (setup_msrs(vcpu, template, error) < 0)
        return -1;
    if (setup_lapic(vcpu, error) < 0)
        return -1;
    if (entry && setup_boot_registers(vcpu, entry, error) < 0)
        return -1;
    return 0;
}
