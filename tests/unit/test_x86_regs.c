#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "arch/x86/msr.h"
#include "arch/x86/regs.h"
#include "arch/x86/regs_dump.h"
#include "kvm/exit_stats.h"

static int memory_setup(void **state)
{
    static struct guest_memory memory;
    struct error error;
    assert_int_equal(guest_memory_create(&memory, 64ull << 20, &error), 0);
    *state = &memory;
    return 0;
}

static int memory_teardown(void **state)
{
    guest_memory_destroy(*state);
    return 0;
}

static uint64_t read_u64(const struct guest_memory *memory, uint64_t gpa)
{
    uint64_t value;
    assert_int_equal(guest_memory_read(memory, gpa, &value, sizeof(value)), 0);
    return value;
}

static void test_gdt_64bit(void **state)
{
    const struct guest_memory *memory = *state;
    struct error error;
    assert_int_equal(regs_write_boot_gdt(memory, BOOT_ENTRY_LINUX_64BIT, &error), 0);
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA), 0);
    /* Flat 64-bit code (L=1, D=0, G=1, type execute/read accessed) and flat data. */
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA + REGS_BOOT_CODE_SELECTOR), 0x00af9b000000ffffull);
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA + REGS_BOOT_DATA_SELECTOR), 0x00cf93000000ffffull);
    /* Busy TSS at base 0, limit 0x67, and the upper half of its 16-byte descriptor. */
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA + REGS_BOOT_TSS_SELECTOR), 0x00008b0000000067ull);
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA + REGS_BOOT_TSS_SELECTOR + 8), 0);
}

static void test_gdt_pvh(void **state)
{
    const struct guest_memory *memory = *state;
    struct error error;
    assert_int_equal(regs_write_boot_gdt(memory, BOOT_ENTRY_PVH_32BIT, &error), 0);
    /* Flat 32-bit code: D=1, L=0. */
    assert_int_equal(read_u64(memory, LAYOUT_GDT_GPA + REGS_BOOT_CODE_SELECTOR), 0x00cf9b000000ffffull);
}

static void test_identity_page_tables(void **state)
{
    const struct guest_memory *memory = *state;
    struct error error;
    assert_int_equal(regs_write_identity_page_tables(memory, &error), 0);
    assert_int_equal(read_u64(memory, LAYOUT_PML4_GPA), LAYOUT_PDPT_GPA | 3);
    assert_int_equal(read_u64(memory, LAYOUT_PML4_GPA + 8), 0);
    for (uint64_t gib = 0; gib < 4; gib++)
        assert_int_equal(read_u64(memory, LAYOUT_PDPT_GPA + gib * 8), (LAYOUT_PD_GPA + gib * 4096) | 3);
    assert_int_equal(read_u64(memory, LAYOUT_PDPT_GPA + 4 * 8), 0);
    /* Walk a few addresses through the tables as the MMU would. */
    const uint64_t addresses[] = {0, 0x1234567, 0xbfffffff, 0xfee00000, 0xffffffff};
    for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
        uint64_t address = addresses[i];
        uint64_t pml4e = read_u64(memory, LAYOUT_PML4_GPA + ((address >> 39) & 511) * 8);
        uint64_t pdpte = read_u64(memory, (pml4e & ~0xfffull) + ((address >> 30) & 511) * 8);
        uint64_t pde = read_u64(memory, (pdpte & ~0xfffull) + ((address >> 21) & 511) * 8);
        assert_int_equal(pde & 0x83, 0x83); /* present, writable, 2 MiB page */
        assert_int_equal((pde & ~0x1fffffull) | (address & 0x1fffff), address);
    }
    /* The tables end before the command line the boot loader writes. */
    assert_true(LAYOUT_PD_GPA + 4 * 4096 <= LAYOUT_CMDLINE_GPA);
}

static void test_tables_need_guest_memory(void **state)
{
    (void)state;
    struct guest_memory empty;
    memset(&empty, 0, sizeof(empty));
    struct error error;
    assert_int_equal(regs_write_identity_page_tables(&empty, &error), -1);
    assert_int_equal(regs_write_boot_gdt(&empty, BOOT_ENTRY_LINUX_64BIT, &error), -1);
}

static void test_sregs_64bit(void **state)
{
    (void)state;
    struct kvm_sregs sregs;
    memset(&sregs, 0xa5, sizeof(sregs));
    regs_set_boot_sregs(&sregs, BOOT_ENTRY_LINUX_64BIT);
    assert_int_equal(sregs.cr0, 0x80000011ull); /* PG | ET | PE, caches on */
    assert_int_equal(sregs.cr3, LAYOUT_PML4_GPA);
    assert_int_equal(sregs.cr4, 0x20);          /* PAE */
    assert_int_equal(sregs.efer, 0x500);        /* LMA | LME */
    assert_int_equal(sregs.cs.selector, REGS_BOOT_CODE_SELECTOR);
    assert_int_equal(sregs.cs.l, 1);
    assert_int_equal(sregs.cs.db, 0);
    assert_int_equal(sregs.cs.base, 0);
    assert_int_equal(sregs.ds.selector, REGS_BOOT_DATA_SELECTOR);
    assert_int_equal(sregs.ss.db, 1);
    assert_int_equal(sregs.ss.limit, 0xffffffff);
    assert_int_equal(sregs.tr.type, 0xb);
    assert_int_equal(sregs.tr.s, 0);
    assert_int_equal(sregs.gdt.base, LAYOUT_GDT_GPA);
    assert_int_equal(sregs.gdt.limit, REGS_BOOT_GDT_ENTRIES * 8 - 1);
}

static void test_sregs_pvh(void **state)
{
    (void)state;
    struct kvm_sregs sregs;
    memset(&sregs, 0, sizeof(sregs));
    regs_set_boot_sregs(&sregs, BOOT_ENTRY_PVH_32BIT);
    assert_int_equal(sregs.cr0, 0x11); /* PE, paging off */
    assert_int_equal(sregs.cr4, 0);
    assert_int_equal(sregs.efer, 0);
    assert_int_equal(sregs.cs.l, 0);
    assert_int_equal(sregs.cs.db, 1);
    assert_int_equal(sregs.cs.limit, 0xffffffff);
    assert_int_equal(sregs.es.selector, REGS_BOOT_DATA_SELECTOR);
}

static void test_regs_per_mode(void **state)
{
    (void)state;
    struct kvm_regs regs;
    struct boot_entry linux64 = {.mode = BOOT_ENTRY_LINUX_64BIT, .entry_gpa = 0x1000200, .boot_info_gpa = 0x7000};
    regs_set_boot_regs(&regs, &linux64);
    assert_int_equal(regs.rip, 0x1000200);
    assert_int_equal(regs.rsi, 0x7000);
    assert_int_equal(regs.rbx, 0);
    assert_int_equal(regs.rflags, 2);
    assert_int_equal(regs.rsp, LAYOUT_BOOT_STACK_TOP);
    struct boot_entry pvh = {.mode = BOOT_ENTRY_PVH_32BIT, .entry_gpa = 0x1000000, .boot_info_gpa = 0x6000};
    regs_set_boot_regs(&regs, &pvh);
    assert_int_equal(regs.rbx, 0x6000);
    assert_int_equal(regs.rsi, 0);
    assert_int_equal(regs.rip, 0x1000000);
}

static void test_fpu(void **state)
{
    (void)state;
    struct kvm_fpu fpu;
    memset(&fpu, 0xff, sizeof(fpu));
    regs_set_boot_fpu(&fpu);
    assert_int_equal(fpu.fcw, 0x37f);
    assert_int_equal(fpu.mxcsr, 0x1f80);
    assert_int_equal(fpu.fsw, 0);
}

static void test_lapic_lint_pins(void **state)
{
    (void)state;
    struct kvm_lapic_state lapic;
    memset(&lapic, 0, sizeof(lapic));
    uint32_t masked = 0x10000; /* reset value: masked, fixed delivery */
    memcpy(&lapic.regs[0x350], &masked, 4);
    memcpy(&lapic.regs[0x360], &masked, 4);
    regs_set_lapic_lint(&lapic);
    assert_int_equal(regs_lapic_read(&lapic, 0x350), 0x10700); /* ExtINT, mask left to the guest */
    assert_int_equal(regs_lapic_read(&lapic, 0x360), 0x10400); /* NMI */
    uint32_t unmasked_extint = 0x700;
    memcpy(&lapic.regs[0x350], &unmasked_extint, 4);
    regs_set_lapic_lint(&lapic);
    assert_int_equal(regs_lapic_read(&lapic, 0x350), 0x700);
}

static void test_boot_msrs_filtered_by_kvm(void **state)
{
    (void)state;
    struct kvm_msr_entry entries[MSR_BOOT_LIST_MAX];
    const uint32_t everything[] = {MSR_IA32_TSC,  MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
                                   MSR_STAR,      MSR_LSTAR,            MSR_CSTAR,             MSR_SYSCALL_MASK,
                                   MSR_KERNEL_GS_BASE, MSR_IA32_MISC_ENABLE, MSR_EFER};
    uint32_t count = msr_build_boot_list(everything, sizeof(everything) / sizeof(everything[0]), entries);
    assert_int_equal(count, 11); /* 10 listed boot MSRs + the MTRR default type */
    bool saw_misc = false, saw_mtrr = false;
    for (uint32_t i = 0; i < count; i++) {
        if (entries[i].index == MSR_IA32_MISC_ENABLE) {
            saw_misc = true;
            assert_int_equal(entries[i].data, MSR_IA32_MISC_ENABLE_FAST_STRING);
        } else if (entries[i].index == MSR_MTRR_DEF_TYPE) {
            saw_mtrr = true;
            assert_int_equal(entries[i].data, (1u << 11) | 6);
        } else {
            assert_int_equal(entries[i].data, 0);
        }
        assert_int_not_equal(entries[i].index, MSR_EFER); /* set through sregs, not here */
    }
    assert_true(saw_misc);
    assert_true(saw_mtrr);
    /* A KVM that lists none of them still gets the always-emulated MTRR type only. */
    count = msr_build_boot_list(NULL, 0, entries);
    assert_int_equal(count, 1);
    assert_int_equal(entries[0].index, MSR_MTRR_DEF_TYPE);
}

static void test_register_dump(void **state)
{
    (void)state;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    memset(&regs, 0, sizeof(regs));
    memset(&sregs, 0, sizeof(sregs));
    regs.rip = 0xffffffff81000000ull;
    regs.rsp = 0x8ff0;
    sregs.cr0 = 0x80000011;
    sregs.cr3 = 0x9000;
    sregs.efer = 0x500;
    sregs.fs.base = 0x1234;
    char text[2048];
    regs_dump_format(&regs, &sregs, text, sizeof(text));
    assert_non_null(strstr(text, "RIP=ffffffff81000000"));
    assert_non_null(strstr(text, "RSP=0000000000008ff0"));
    assert_non_null(strstr(text, "CR0=0000000080000011"));
    assert_non_null(strstr(text, "CR3=0000000000009000"));
    assert_non_null(strstr(text, "EFER=0000000000000500"));
    assert_non_null(strstr(text, "FS  sel=0000 base=0000000000001234"));
    /* A small buffer is cut, never overrun. */
    char small[40];
    memset(small, 'z', sizeof(small));
    regs_dump_format(&regs, &sregs, small, 32);
    assert_int_equal(strlen(small), 31);
    assert_int_equal(small[32], 'z');
}

static void test_exit_stats(void **state)
{
    (void)state;
    struct exit_stats a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    exit_stats_count(&a, KVM_EXIT_IO);
    exit_stats_count(&a, KVM_EXIT_IO);
    exit_stats_count(&b, KVM_EXIT_MMIO);
    exit_stats_count(&b, 5000);
    exit_stats_add(&a, &b);
    assert_int_equal(exit_stats_total(&a), 4);
    assert_string_equal(exit_stats_reason_name(KVM_EXIT_IO), "io");
    assert_string_equal(exit_stats_reason_name(KVM_EXIT_SHUTDOWN), "shutdown");
    assert_null(exit_stats_reason_name(5000));
    char buffer[512] = {0};
    FILE *out = fmemopen(buffer, sizeof(buffer) - 1, "w");
    assert_non_null(out);
    exit_stats_print(&a, out);
    fclose(out);
    assert_non_null(strstr(buffer, "KVM exits: 4"));
    char *io = strstr(buffer, "  io ");
    char *mmio = strstr(buffer, "  mmio ");
    assert_non_null(io);
    assert_non_null(mmio);
    assert_true(io < mmio); /* busiest first */
    assert_non_null(strstr(buffer, "  other "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gdt_64bit, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(test_gdt_pvh, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(test_identity_page_tables, memory_setup, memory_teardown),
        cmocka_unit_test(test_tables_need_guest_memory),
        cmocka_unit_test(test_sregs_64bit),
        cmocka_unit_test(test_sregs_pvh),
        cmocka_unit_test(test_regs_per_mode),
        cmocka_unit_test(test_fpu),
        cmocka_unit_test(test_lapic_lint_pins),
        cmocka_unit_test(test_boot_msrs_filtered_by_kvm),
        cmocka_unit_test(test_register_dump),
        cmocka_unit_test(test_exit_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
