#include "arch/x86/cpuid.h"

#include <stdbool.h>
#include <string.h>

#include <asm/kvm_para.h>
#include <cpuid.h>

/* Register bits this module sets, by leaf. */
#define LEAF1_EDX_HTT              (1u << 28)
#define LEAF1_ECX_HYPERVISOR       (1u << 31)
#define EXT_LEAF7_EDX_INVARIANT_TSC (1u << 8)

/* Leaf 0xB / 0x1F level types (ECX[15:8]). */
#define TOPOLOGY_LEVEL_INVALID 0u
#define TOPOLOGY_LEVEL_SMT     1u
#define TOPOLOGY_LEVEL_CORE    2u

#define CACHE_LEVEL_SHARED_BY_PACKAGE 3u

unsigned cpuid_id_width(uint32_t count)
{
    unsigned width = 0;
    while (width < 32 && (1ull << width) < count)
        width++;
    return width;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *entries, uint32_t count, uint32_t function,
                                    uint32_t index)
{
    for (uint32_t i = 0; i < count; i++) {
        if (entries[i].function != function)
            continue;
        if (!(entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || entries[i].index == index)
            return &entries[i];
    }
    return NULL;
}

static int append_entry(struct kvm_cpuid_entry2 *out, uint32_t capacity, uint32_t *count,
                        const struct kvm_cpuid_entry2 *entry, struct error *error)
{
    if (*count >= capacity)
        return error_set(error, EXIT_STATUS_FAILURE, "CPUID list needs more than %u entries", capacity);
    out[(*count)++] = *entry;
    return 0;
}

static uint32_t clamp_u32(uint32_t value, uint32_t max)
{
    return value > max ? max : value;
}

static void set_basic_topology(struct kvm_cpuid_entry2 *leaf1, uint32_t apic_id, uint32_t vcpu_count)
{
    /* EBX: [31:24] initial APIC id, [23:16] logical processors per package, [15:0] kept (CLFLUSH size, brand). */
    leaf1->ebx = (leaf1->ebx & 0xffffu) | (clamp_u32(vcpu_count, 0xff) << 16) | ((apic_id & 0xffu) << 24);
    if (vcpu_count > 1)
        leaf1->edx |= LEAF1_EDX_HTT;
    else
        leaf1->edx &= ~LEAF1_EDX_HTT;
    leaf1->ecx |= LEAF1_ECX_HYPERVISOR;
}

/* Intel leaf 4: cores per package and how many share each cache (only the last level is shared). */
static void set_cache_topology(struct kvm_cpuid_entry2 *leaf4, uint32_t vcpu_count)
{
    if ((leaf4->eax & 0x1fu) == 0) /* no cache at this subleaf */
        return;
    uint32_t cores_minus_one = clamp_u32(vcpu_count - 1, 0x3f);
    uint32_t cache_level = (leaf4->eax >> 5) & 0x7u;
    uint32_t sharing_minus_one = cache_level >= CACHE_LEVEL_SHARED_BY_PACKAGE ? clamp_u32(vcpu_count - 1, 0xfff) : 0;
    leaf4->eax = (leaf4->eax & 0x3fffu) | (sharing_minus_one << 14) | (cores_minus_one << 26);
}

/* Leaf 0xB or 0x1F: SMT level (1 thread), core level (vcpu_count cores), terminator. */
static int append_extended_topology(struct kvm_cpuid_entry2 *out, uint32_t capacity, uint32_t *count,
                                    uint32_t function, uint32_t apic_id, uint32_t vcpu_count, struct error *error)
{
    struct kvm_cpuid_entry2 levels[3] = {
        {.eax = 0, .ebx = 1, .ecx = (TOPOLOGY_LEVEL_SMT << 8) | 0},
        {.eax = cpuid_id_width(vcpu_count), .ebx = clamp_u32(vcpu_count, 0xffff), .ecx = (TOPOLOGY_LEVEL_CORE << 8) | 1},
        {.eax = 0, .ebx = 0, .ecx = (TOPOLOGY_LEVEL_INVALID << 8) | 2},
    };
    for (uint32_t i = 0; i < 3; i++) {
        levels[i].function = function;
        levels[i].index = i;
        levels[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        levels[i].edx = apic_id; /* x2APIC id */
        if (append_entry(out, capacity, count, &levels[i], error) < 0)
            return -1;
    }
    return 0;
}

static void set_amd_topology(struct kvm_cpuid_entry2 *entries, uint32_t count, uint32_t apic_id, uint32_t vcpu_count)
{
    struct kvm_cpuid_entry2 *size = cpuid_find(entries, count, 0x80000008u, 0);
    if (size) {
        /* ECX: [7:0] NC = cores - 1, [15:12] APIC id bits for the cores. */
        size->ecx = (size->ecx & ~0xf0ffu) | clamp_u32(vcpu_count - 1, 0xff) |
                    ((cpuid_id_width(vcpu_count) & 0xfu) << 12);
    }
    struct kvm_cpuid_entry2 *extended_apic = cpuid_find(entries, count, 0x8000001eu, 0);
    if (extended_apic) {
        extended_apic->eax = apic_id;
        /* EBX: [7:0] core id, [15:8] threads per core - 1 (0). ECX: node 0 of 1. */
        extended_apic->ebx = (extended_apic->ebx & ~0xffffu) | (apic_id & 0xffu);
        extended_apic->ecx &= ~0x7ffu;
    }
}

static int set_kvm_leaves(struct kvm_cpuid_entry2 *out, uint32_t capacity, uint32_t *count, struct error *error)
{
    struct kvm_cpuid_entry2 *signature = cpuid_find(out, *count, KVM_CPUID_SIGNATURE, 0);
    if (!signature) {
        struct kvm_cpuid_entry2 entry = {.function = KVM_CPUID_SIGNATURE};
        if (append_entry(out, capacity, count, &entry, error) < 0)
            return -1;
        signature = &out[*count - 1];
    }
    if (signature->eax < KVM_CPUID_FEATURES)
        signature->eax = KVM_CPUID_FEATURES;
    memcpy(&signature->ebx, "KVMK", 4);
    memcpy(&signature->ecx, "VMKV", 4);
    memcpy(&signature->edx, "M\0\0\0", 4);

    struct kvm_cpuid_entry2 *features = cpuid_find(out, *count, KVM_CPUID_FEATURES, 0);
    if (!features) {
        struct kvm_cpuid_entry2 entry = {.function = KVM_CPUID_FEATURES};
        if (append_entry(out, capacity, count, &entry, error) < 0)
            return -1;
        features = &out[*count - 1];
    }
    /* kvmclock is the guest's clocksource; every KVM that reaches here provides it. */
    features->eax |= (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
    return 0;
}

int cpuid_build_for_vcpu(const struct kvm_cpuid_entry2 *supported, uint32_t supported_count, uint32_t vcpu_index,
                         uint32_t vcpu_count, struct kvm_cpuid_entry2 *out, uint32_t capacity, uint32_t *out_count,
                         struct error *error)
{
    *out_count = 0;
    if (vcpu_count == 0 || vcpu_index >= vcpu_count)
        return error_set(error, EXIT_STATUS_FAILURE, "CPUID for vCPU %u of %u", vcpu_index, vcpu_count);
    uint32_t apic_id = vcpu_index;
    uint32_t count = 0;
    bool has_leaf_b = false, has_leaf_1f = false;
    for (uint32_t i = 0; i < supported_count; i++) {
        /* The topology leaves are rebuilt whole below. */
        if (supported[i].function == 0xbu) {
            has_leaf_b = true;
            continue;
        }
        if (supported[i].function == 0x1fu) {
            has_leaf_1f = true;
            continue;
        }
        if (append_entry(out, capacity, &count, &supported[i], error) < 0)
            return -1;
    }
    if (has_leaf_b && append_extended_topology(out, capacity, &count, 0xbu, apic_id, vcpu_count, error) < 0)
        return -1;
    if (has_leaf_1f && append_extended_topology(out, capacity, &count, 0x1fu, apic_id, vcpu_count, error) < 0)
        return -1;

    for (uint32_t i = 0; i < count; i++) {
        struct kvm_cpuid_entry2 *entry = &out[i];
        switch (entry->function) {
        case 1:
            set_basic_topology(entry, apic_id, vcpu_count);
            break;
        case 4:
            set_cache_topology(entry, vcpu_count);
            break;
        case 0x80000007u:
            /*
             * Hide the invariant TSC as QEMU does by default: with it, Linux
             * demotes kvm-clock below the TSC, and kvm-clock is the clock
             * that stays right across host TSC changes.
             */
            entry->edx &= ~EXT_LEAF7_EDX_INVARIANT_TSC;
            break;
        default:
            break;
        }
    }
    set_amd_topology(out, count, apic_id, vcpu_count);
    if (set_kvm_leaves(out, capacity, &count, error) < 0)
        return -1;
    *out_count = count;
    return 0;
}

/* Leaf 0x80000008 absent: the SDM's rule is 36 bits when PAE is there, and every x86-64 CPU has it. */
enum { DEFAULT_PHYSICAL_ADDRESS_BITS = 36 };

unsigned cpuid_physical_address_bits(const struct kvm_cpuid_entry2 *entries, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (entries[i].function == 0x80000008u && (entries[i].eax & 0xffu) != 0)
            return entries[i].eax & 0xffu;
    }
    return DEFAULT_PHYSICAL_ADDRESS_BITS;
}

unsigned cpuid_host_physical_address_bits(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000008u)
        return DEFAULT_PHYSICAL_ADDRESS_BITS;
    __get_cpuid(0x80000008u, &eax, &ebx, &ecx, &edx);
    return (eax & 0xffu) ? (eax & 0xffu) : DEFAULT_PHYSICAL_ADDRESS_BITS;
}
