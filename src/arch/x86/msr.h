#ifndef KESTREL_ARCH_X86_MSR_H
#define KESTREL_ARCH_X86_MSR_H

/*
 * The model-specific registers a vCPU starts with: the values Linux expects
 * at its boot entry (fast strings on, syscall MSRs clear, MTRRs default
 * write-back). Only MSRs the host's KVM lists (KVM_GET_MSR_INDEX_LIST) are
 * set, so an older KVM does not fail KVM_SET_MSRS.
 */

#include <stdint.h>

#include <linux/kvm.h>

/* MSR numbers (not in the UAPI headers). */
#define MSR_IA32_TSC            0x00000010u
#define MSR_IA32_SYSENTER_CS    0x00000174u
#define MSR_IA32_SYSENTER_ESP   0x00000175u
#define MSR_IA32_SYSENTER_EIP   0x00000176u
#define MSR_IA32_MISC_ENABLE    0x000001a0u
#define MSR_MTRR_DEF_TYPE       0x000002ffu
#define MSR_EFER                0xc0000080u
#define MSR_STAR                0xc0000081u
#define MSR_LSTAR               0xc0000082u
#define MSR_CSTAR               0xc0000083u
#define MSR_SYSCALL_MASK        0xc0000084u
#define MSR_KERNEL_GS_BASE      0xc0000102u

#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ull << 0)
#define MSR_MTRR_DEF_TYPE_ENABLE         (1ull << 11)
#define MSR_MTRR_TYPE_WRITE_BACK         6ull

enum { MSR_BOOT_LIST_MAX = 16 };

/*
 * Fills `out` with the boot MSRs that appear in `supported` (count
 * `supported_count`); returns how many (at most MSR_BOOT_LIST_MAX).
 */
uint32_t msr_build_boot_list(const uint32_t *supported, uint32_t supported_count, struct kvm_msr_entry *out);

#endif
