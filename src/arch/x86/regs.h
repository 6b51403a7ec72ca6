#ifndef KESTREL_ARCH_X86_REGS_H
#define KESTREL_ARCH_X86_REGS_H

/*
 * The boot vCPU's state at the kernel's entry point, per boot protocol:
 *   BOOT_ENTRY_LINUX_64BIT  long mode with the first 4 GiB identity-mapped
 *                           (2 MiB pages), flat 64-bit code, RSI = zero page;
 *   BOOT_ENTRY_PVH_32BIT    32-bit protected mode, paging off, flat segments,
 *                           EBX = hvm_start_info.
 * Both: interrupts off (RFLAGS = 2), a stack in low memory, a busy TSS.
 *
 * The builders fill KVM structures and write guest memory only through
 * guest_memory, so unit tests check them without /dev/kvm.
 */

#include <stdint.h>

#include <linux/kvm.h>

#include "arch/x86/boot_entry.h"
#include "mem/guest_memory.h"
#include "util/error.h"

/* Boot GDT selectors (the Linux boot protocol's __BOOT_CS / __BOOT_DS). */
#define REGS_BOOT_CODE_SELECTOR 0x10
#define REGS_BOOT_DATA_SELECTOR 0x18
#define REGS_BOOT_TSS_SELECTOR  0x20 /* 16-byte system descriptor: entries 4 and 5 */
enum { REGS_BOOT_GDT_ENTRIES = 6 };

#define REGS_IDENTITY_MAP_END 0x100000000ull /* the page tables map [0, 4 GiB) */

/* Writes the boot GDT at LAYOUT_GDT_GPA, with the code segment the mode needs. */
int regs_write_boot_gdt(const struct guest_memory *memory, enum boot_entry_mode mode, struct error *error);

/* Writes the identity page tables at LAYOUT_PML4_GPA / PDPT / PD (64-bit entry only). */
int regs_write_identity_page_tables(const struct guest_memory *memory, struct error *error);

/* Adjusts `sregs` (as read from KVM_GET_SREGS) for the entry mode. */
void regs_set_boot_sregs(struct kvm_sregs *sregs, enum boot_entry_mode mode);

void regs_set_boot_regs(struct kvm_regs *regs, const struct boot_entry *entry);

void regs_set_boot_fpu(struct kvm_fpu *fpu);

/* LINT0 delivers the 8259 PIC's interrupts (ExtINT), LINT1 delivers NMIs. */
void regs_set_lapic_lint(struct kvm_lapic_state *lapic);

/* 32-bit LAPIC register at byte `offset` of a kvm_lapic_state. */
uint32_t regs_lapic_read(const struct kvm_lapic_state *lapic, unsigned offset);

#endif
