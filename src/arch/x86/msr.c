#include "arch/x86/msr.h"

#include <stdbool.h>
#include <stddef.h>

struct boot_msr {
    uint32_t index;
    uint64_t value;
    /*
     * KVM emulates the MTRRs on every version but leaves them out of
     * KVM_GET_MSR_INDEX_LIST, so they cannot be filtered by it.
     */
    bool always_emulated;
};

static const struct boot_msr boot_msrs[] = {
    {MSR_IA32_SYSENTER_CS, 0, false},
    {MSR_IA32_SYSENTER_ESP, 0, false},
    {MSR_IA32_SYSENTER_EIP, 0, false},
    {MSR_STAR, 0, false},
    {MSR_LSTAR, 0, false},
    {MSR_CSTAR, 0, false},
    {MSR_SYSCALL_MASK, 0, false},
    {MSR_KERNEL_GS_BASE, 0, false},
    /* All vCPUs write 0 at nearly the same moment; KVM then keeps their TSCs in sync. */
    {MSR_IA32_TSC, 0, false},
    {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING, false},
    /* Without enabled MTRRs Linux also leaves PAT off and maps everything uncached-minus. */
    {MSR_MTRR_DEF_TYPE, MSR_MTRR_DEF_TYPE_ENABLE | MSR_MTRR_TYPE_WRITE_BACK, true},
};

_Static_assert(sizeof(boot_msrs) / sizeof(boot_msrs[0]) <= MSR_BOOT_LIST_MAX, "MSR_BOOT_LIST_MAX too small");

static bool list_contains(const uint32_t *list, uint32_t count, uint32_t index)
{
    for (uint32_t i = 0; i < count; i++) {
        if (list[i] == index)
            return true;
    }
    return false;
}

uint32_t msr_build_boot_list(const uint32_t *supported, uint32_t supported_count, struct kvm_msr_entry *out)
{
    uint32_t count = 0;
    for (size_t i = 0; i < sizeof(boot_msrs) / sizeof(boot_msrs[0]); i++) {
        if (boot_msrs[i].always_emulated || list_contains(supported, supported_count, boot_msrs[i].index))
            out[count++] = (struct kvm_msr_entry){.index = boot_msrs[i].index, .data = boot_msrs[i].value};
    }
    return count;
}
