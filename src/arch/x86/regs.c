#include "arch/x86/regs.h"

#include <string.h>

#include "arch/x86/layout.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PAGE_PRESENT  (1ull << 0)
#define PAGE_WRITABLE (1ull << 1)
#define PAGE_LARGE    (1ull << 7)
#define LARGE_PAGE_SIZE 0x200000ull
#define PAGE_TABLE_ENTRIES 512u
#define PAGE_DIRECTORY_COUNT 4u /* one per GiB of the identity map */

/* Segment descriptor types (S=1 code/data, S=0 system). */
#define SEGMENT_TYPE_DATA_READ_WRITE_ACCESSED 0x3
#define SEGMENT_TYPE_CODE_EXECUTE_READ_ACCESSED 0xb
#define SEGMENT_TYPE_TSS_BUSY 0xb
#define BOOT_TSS_LIMIT 0x67

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_DELIVERY_MODE_MASK 0x700u
#define APIC_DELIVERY_MODE_NMI 0x4u
#define APIC_DELIVERY_MODE_EXTINT 0x7u

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t code_64bit)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code_64bit ? 0 : 1, /* D must be clear when L is set */
        .s = 1,
        .l = code_64bit,
        .g = 1,
    };
}

static struct kvm_segment boot_tss_segment(void)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = BOOT_TSS_LIMIT,
        .selector = REGS_BOOT_TSS_SELECTOR,
        .type = SEGMENT_TYPE_TSS_BUSY,
        .present = 1,
        .s = 0,
    };
}

/* The 8-byte descriptor encoding of `segment` (its limit given byte- or page-granular per `g`). */
static uint64_t gdt_descriptor(const struct kvm_segment *segment)
{
    uint64_t limit = segment->g ? segment->limit >> 12 : segment->limit;
    uint64_t base = segment->base & 0xffffffffull;
    uint64_t access = (uint64_t)segment->type | ((uint64_t)segment->s << 4) | ((uint64_t)segment->dpl << 5) |
                      ((uint64_t)segment->present << 7);
    uint64_t flags = ((uint64_t)segment->avl) | ((uint64_t)segment->l << 1) | ((uint64_t)segment->db << 2) |
                     ((uint64_t)segment->g << 3);
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (access << 40) | (((limit >> 16) & 0xf) << 48) |
           (flags << 52) | ((base >> 24) << 56);
}

static struct kvm_segment boot_code_segment(enum boot_entry_mode mode)
{
    return flat_segment(REGS_BOOT_CODE_SELECTOR, SEGMENT_TYPE_CODE_EXECUTE_READ_ACCESSED,
                        mode == BOOT_ENTRY_LINUX_64BIT ? 1 : 0);
}

static struct kvm_segment boot_data_segment(void)
{
    return flat_segment(REGS_BOOT_DATA_SELECTOR, SEGMENT_TYPE_DATA_READ_WRITE_ACCESSED, 0);
}

int regs_write_boot_gdt(const struct guest_memory *memory, enum boot_entry_mode mode, struct error *error)
{
    struct kvm_segment code = boot_code_segment(mode);
    struct kvm_segment data = boot_data_segment();
    struct kvm_segment tss = boot_tss_segment();
    uint64_t gdt[REGS_BOOT_GDT_ENTRIES] = {0};
    gdt[REGS_BOOT_CODE_SELECTOR / 8] = gdt_descriptor(&code);
    gdt[REGS_BOOT_DATA_SELECTOR / 8] = gdt_descriptor(&data);
    gdt[REGS_BOOT_TSS_SELECTOR / 8] = gdt_descriptor(&tss);
    gdt[REGS_BOOT_TSS_SELECTOR / 8 + 1] = 0; /* upper half of the 16-byte system descriptor: base 63:32 = 0 */
    if (guest_memory_write(memory, LAYOUT_GDT_GPA, gdt, sizeof(gdt)) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "guest memory has no room for the boot GDT at 0x%llx",
                         (unsigned long long)LAYOUT_GDT_GPA);
    return 0;
}

int regs_write_identity_page_tables(const struct guest_memory *memory, struct error *error)
{
    uint64_t *pml4 = gpa_to_hva(memory, LAYOUT_PML4_GPA, 4096);
    uint64_t *pdpt = gpa_to_hva(memory, LAYOUT_PDPT_GPA, 4096);
    uint64_t *pd = gpa_to_hva(memory, LAYOUT_PD_GPA, 4096 * PAGE_DIRECTORY_COUNT);
    if (!pml4 || !pdpt || !pd)
        return error_set(error, EXIT_STATUS_FAILURE, "guest memory has no room for the boot page tables");
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = LAYOUT_PDPT_GPA | PAGE_PRESENT | PAGE_WRITABLE;
    for (uint64_t directory = 0; directory < PAGE_DIRECTORY_COUNT; directory++) {
        pdpt[directory] = (LAYOUT_PD_GPA + directory * 4096) | PAGE_PRESENT | PAGE_WRITABLE;
        for (uint64_t entry = 0; entry < PAGE_TABLE_ENTRIES; entry++) {
            uint64_t page = directory * PAGE_TABLE_ENTRIES + entry;
            pd[page] = page * LARGE_PAGE_SIZE | PAGE_PRESENT | PAGE_WRITABLE | PAGE_LARGE;
        }
    }
    return 0;
}

void regs_set_boot_sregs(struct kvm_sregs *sregs, enum boot_entry_mode mode)
{
    struct kvm_segment data = boot_data_segment();
    sregs->cs = boot_code_segment(mode);
    sregs->ds = data;
    sregs->es = data;
    sregs->fs = data;
    sregs->gs = data;
    sregs->ss = data;
    sregs->tr = boot_tss_segment();
    sregs->ldt = (struct kvm_segment){.unusable = 1, .type = 2, .present = 0};
    sregs->gdt.base = LAYOUT_GDT_GPA;
    sregs->gdt.limit = REGS_BOOT_GDT_ENTRIES * 8 - 1;
    /* No IDT: the kernel installs its own before it enables interrupts. */
    sregs->idt.base = 0;
    sregs->idt.limit = 0;
    if (mode == BOOT_ENTRY_LINUX_64BIT) {
        sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
        sregs->cr3 = LAYOUT_PML4_GPA;
        sregs->cr4 = CR4_PAE;
        sregs->efer = EFER_LME | EFER_LMA;
    } else {
        sregs->cr0 = CR0_PE | CR0_ET;
        sregs->cr3 = 0;
        sregs->cr4 = 0;
        sregs->efer = 0;
    }
}

void regs_set_boot_regs(struct kvm_regs *regs, const struct boot_entry *entry)
{
    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2; /* bit 1 is reserved-one; IF clear */
    regs->rip = entry->entry_gpa;
    regs->rsp = LAYOUT_BOOT_STACK_TOP;
    regs->rbp = LAYOUT_BOOT_STACK_TOP;
    if (entry->mode == BOOT_ENTRY_LINUX_64BIT)
        regs->rsi = entry->boot_info_gpa;
    else
        regs->rbx = entry->boot_info_gpa;
}

void regs_set_boot_fpu(struct kvm_fpu *fpu)
{
    memset(fpu, 0, sizeof(*fpu));
    fpu->fcw = 0x37f;     /* FNINIT's control word: all exceptions masked, extended precision */
    fpu->mxcsr = 0x1f80;  /* all SSE exceptions masked, round to nearest */
}

uint32_t regs_lapic_read(const struct kvm_lapic_state *lapic, unsigned offset)
{
    uint32_t value;
    memcpy(&value, &lapic->regs[offset], sizeof(value));
    return value;
}

static void lapic_write(struct kvm_lapic_state *lapic, unsigned offset, uint32_t value)
{
    memcpy(&lapic->regs[offset], &value, sizeof(value));
}

void regs_set_lapic_lint(struct kvm_lapic_state *lapic)
{
    uint32_t lint0 = regs_lapic_read(lapic, APIC_LVT_LINT0);
    uint32_t lint1 = regs_lapic_read(lapic, APIC_LVT_LINT1);
    lint0 = (lint0 & ~APIC_DELIVERY_MODE_MASK) | (APIC_DELIVERY_MODE_EXTINT << 8);
    lint1 = (lint1 & ~APIC_DELIVERY_MODE_MASK) | (APIC_DELIVERY_MODE_NMI << 8);
    lapic_write(lapic, APIC_LVT_LINT0, lint0);
    lapic_write(lapic, APIC_LVT_LINT1, lint1);
}
