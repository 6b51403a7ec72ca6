#ifndef KESTREL_KVM_KVM_SYSTEM_H
#define KESTREL_KVM_KVM_SYSTEM_H

/*
 * The /dev/kvm handle: API version, capabilities and the host-wide queries
 * (supported CPUID, MSR index list, vCPU limits, kvm_run mmap size).
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "util/error.h"

struct kvm_system {
    int fd;
    unsigned max_vcpus;          /* KVM_CAP_MAX_VCPUS (falls back to NR_VCPUS, then 4) */
    unsigned recommended_vcpus;  /* KVM_CAP_NR_VCPUS */
    uint64_t vcpu_mmap_size;     /* size of each vCPU's shared kvm_run area */
};

/* Opens /dev/kvm; no device or an incompatible API is a host error (status 1). */
int kvm_system_open(struct kvm_system *kvm, struct error *error);
void kvm_system_close(struct kvm_system *kvm);

/* KVM_CHECK_EXTENSION on /dev/kvm; 0 when absent. */
int kvm_system_check_extension(const struct kvm_system *kvm, long capability);

/* KVM_GET_SUPPORTED_CPUID. Returns a malloc'd list the caller frees; grows the buffer until it fits. */
struct kvm_cpuid2 *kvm_system_supported_cpuid(const struct kvm_system *kvm, struct error *error);

/* KVM_GET_MSR_INDEX_LIST: a malloc'd list the caller frees. */
struct kvm_msr_list *kvm_system_msr_index_list(const struct kvm_system *kvm, struct error *error);

/* True on a PVM host (/sys/module/kvm_pvm), where stock kernels cannot boot. */
bool kvm_host_is_pvm(void);

#endif
