#ifndef KESTREL_ARCH_X86_CPUID_H
#define KESTREL_ARCH_X86_CPUID_H

/*
 * The CPUID a vCPU sees: KVM's supported list, adjusted so the guest finds
 * one socket of `vcpu_count` cores (one thread each, APIC id = vCPU index),
 * the hypervisor bit and the KVM paravirtual leaves (kvmclock).
 *
 * Pure functions on kvm_cpuid_entry2 arrays, so they run in unit tests
 * without /dev/kvm.
 */

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "util/error.h"

/*
 * Writes vCPU `vcpu_index`'s CPUID into `out` (room for `capacity` entries)
 * and its length into `out_count`. Fails (status 1) when the list does not
 * fit or the topology is out of range (vcpu_count 0, index >= count).
 */
int cpuid_build_for_vcpu(const struct kvm_cpuid_entry2 *supported, uint32_t supported_count, uint32_t vcpu_index,
                         uint32_t vcpu_count, struct kvm_cpuid_entry2 *out, uint32_t capacity, uint32_t *out_count,
                         struct error *error);

/* Finds (function, index) in a list; index is ignored for leaves without KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *entries, uint32_t count, uint32_t function,
                                    uint32_t index);

/*
 * The guest physical address width a CPUID list declares (leaf 0x80000008,
 * EAX[7:0]); 36 when the list has no such leaf, as the SDM says to assume.
 */
unsigned cpuid_physical_address_bits(const struct kvm_cpuid_entry2 *entries, uint32_t count);

/* The same width from the host's own CPUID instruction. */
unsigned cpuid_host_physical_address_bits(void);

/* Bits needed to number `count` items: 0 for 1, 1 for 2, 2 for 3-4, ... */
unsigned cpuid_id_width(uint32_t count);

#endif
