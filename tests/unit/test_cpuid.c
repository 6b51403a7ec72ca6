#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <asm/kvm_para.h>

#include "arch/x86/cpuid.h"

enum { SUPPORTED_MAX = 32, OUT_CAPACITY = 64 };

struct cpuid_list {
    struct kvm_cpuid_entry2 entries[SUPPORTED_MAX];
    uint32_t count;
};

static void add(struct cpuid_list *list, uint32_t function, uint32_t index, bool indexed, uint32_t eax, uint32_t ebx,
                uint32_t ecx, uint32_t edx)
{
    assert_true(list->count < SUPPORTED_MAX);
    list->entries[list->count++] = (struct kvm_cpuid_entry2){
        .function = function,
        .index = index,
        .flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
        .eax = eax,
        .ebx = ebx,
        .ecx = ecx,
        .edx = edx,
    };
}

/* Shaped like KVM_GET_SUPPORTED_CPUID on a host: host topology leaked into leaves 1, 4, 0xB, 0x8000001E. */
static struct cpuid_list host_like_supported(bool with_kvm_leaves)
{
    struct cpuid_list list = {.count = 0};
    add(&list, 0, 0, false, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
    add(&list, 1, 0, false, 0x00800f12, 0x07100800 /* host APIC id 7, 16 logical, CLFLUSH 8 */, 0x7ed8320b,
        0x078bfbff & ~(1u << 28));
    add(&list, 4, 0, true, 0x1c004121 /* L1d, 8 sharing */, 0x01c0003f, 0x3f, 0);
    add(&list, 4, 1, true, 0x1c004143 /* L2 */, 0x01c0003f, 0x3ff, 0);
    add(&list, 4, 2, true, 0x1c03c163 /* L3, 16 sharing */, 0x03c0003f, 0x3fff, 0x6);
    add(&list, 4, 3, true, 0, 0, 0, 0);
    add(&list, 0xb, 0, true, 1, 2, 0x100, 7);
    add(&list, 0xb, 1, true, 4, 16, 0x201, 7);
    add(&list, 0xb, 2, true, 0, 0, 2, 7);
    if (with_kvm_leaves) {
        add(&list, KVM_CPUID_SIGNATURE, 0, false, KVM_CPUID_FEATURES, 0x4b4d564b, 0x564b4d56, 0x4d);
        add(&list, KVM_CPUID_FEATURES, 0, false, (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY),
            0, 0, 0);
    }
    add(&list, 0x80000000u, 0, false, 0x8000001fu, 0x68747541, 0x444d4163, 0x69746e65);
    add(&list, 0x80000007u, 0, false, 0, 0, 0, 0x100 | 0x1);
    add(&list, 0x80000008u, 0, false, 0x3030, 0, 0x0000700f /* host: 16 cores */ | (1u << 16), 0);
    add(&list, 0x8000001eu, 0, false, 7, 0x0103, 0x0300, 0);
    return list;
}

struct built {
    struct kvm_cpuid_entry2 entries[OUT_CAPACITY];
    uint32_t count;
};

static struct built build(const struct cpuid_list *supported, uint32_t index, uint32_t vcpus)
{
    struct built built;
    memset(&built, 0, sizeof(built));
    struct error error;
    int result = cpuid_build_for_vcpu(supported->entries, supported->count, index, vcpus, built.entries, OUT_CAPACITY,
                                      &built.count, &error);
    if (result != 0)
        fail_msg("cpuid_build_for_vcpu: %s", error.message);
    return built;
}

static struct kvm_cpuid_entry2 *find(struct built *built, uint32_t function, uint32_t index)
{
    struct kvm_cpuid_entry2 *entry = cpuid_find(built->entries, built->count, function, index);
    if (!entry)
        fail_msg("leaf 0x%x.%u missing", function, index);
    return entry;
}

static unsigned count_leaf(const struct built *built, uint32_t function)
{
    unsigned count = 0;
    for (uint32_t i = 0; i < built->count; i++)
        count += built->entries[i].function == function;
    return count;
}

static void test_id_width(void **state)
{
    (void)state;
    assert_int_equal(cpuid_id_width(1), 0);
    assert_int_equal(cpuid_id_width(2), 1);
    assert_int_equal(cpuid_id_width(3), 2);
    assert_int_equal(cpuid_id_width(4), 2);
    assert_int_equal(cpuid_id_width(5), 3);
    assert_int_equal(cpuid_id_width(254), 8);
    assert_int_equal(cpuid_id_width(256), 8);
    assert_int_equal(cpuid_id_width(257), 9);
}

static void test_leaf1_apic_ids_and_counts(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    for (uint32_t index = 0; index < 4; index++) {
        struct built built = build(&supported, index, 4);
        struct kvm_cpuid_entry2 *leaf1 = find(&built, 1, 0);
        assert_int_equal(leaf1->ebx >> 24, index);
        assert_int_equal((leaf1->ebx >> 16) & 0xff, 4);
        assert_int_equal(leaf1->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
        assert_true(leaf1->edx & (1u << 28));          /* HTT: more than one logical processor */
        assert_true(leaf1->ecx & (1u << 31));          /* hypervisor */
        assert_int_equal(leaf1->eax, 0x00800f12);
    }
}

static void test_single_vcpu_has_no_htt(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    supported.entries[1].edx |= 1u << 28;
    struct built built = build(&supported, 0, 1);
    struct kvm_cpuid_entry2 *leaf1 = find(&built, 1, 0);
    assert_false(leaf1->edx & (1u << 28));
    assert_int_equal((leaf1->ebx >> 16) & 0xff, 1);
    assert_int_equal(leaf1->ebx >> 24, 0);
}

static void test_extended_topology(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct built built = build(&supported, 2, 3);
    assert_int_equal(count_leaf(&built, 0xb), 3);
    struct kvm_cpuid_entry2 *smt = find(&built, 0xb, 0);
    struct kvm_cpuid_entry2 *core = find(&built, 0xb, 1);
    struct kvm_cpuid_entry2 *end = find(&built, 0xb, 2);
    /* SMT level: one thread, no id bits. */
    assert_int_equal(smt->eax, 0);
    assert_int_equal(smt->ebx, 1);
    assert_int_equal(smt->ecx, (1u << 8) | 0);
    /* Core level: 3 cores, 2 id bits. */
    assert_int_equal(core->eax, 2);
    assert_int_equal(core->ebx, 3);
    assert_int_equal(core->ecx, (2u << 8) | 1);
    /* Terminator: level type 0. */
    assert_int_equal(end->ebx, 0);
    assert_int_equal((end->ecx >> 8) & 0xff, 0);
    assert_int_equal(end->ecx & 0xff, 2);
    /* x2APIC id everywhere, not the host's 7. */
    assert_int_equal(smt->edx, 2);
    assert_int_equal(core->edx, 2);
    assert_int_equal(end->edx, 2);
    assert_true(smt->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
    /* No leaf 0x1F was supported, so none is invented. */
    assert_int_equal(count_leaf(&built, 0x1f), 0);
}

static void test_leaf_1f_rebuilt_when_supported(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    add(&supported, 0x1f, 0, true, 1, 2, 0x100, 7);
    add(&supported, 0x1f, 1, true, 0, 0, 1, 7);
    struct built built = build(&supported, 1, 2);
    assert_int_equal(count_leaf(&built, 0x1f), 3);
    assert_int_equal(find(&built, 0x1f, 1)->ebx, 2);
    assert_int_equal(find(&built, 0x1f, 1)->edx, 1);
}

static void test_cache_leaf_sharing(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct built built = build(&supported, 0, 4);
    struct kvm_cpuid_entry2 *l1 = find(&built, 4, 0);
    struct kvm_cpuid_entry2 *l3 = find(&built, 4, 2);
    struct kvm_cpuid_entry2 *none = find(&built, 4, 3);
    assert_int_equal(l1->eax >> 26, 3);            /* cores per package - 1 */
    assert_int_equal((l1->eax >> 14) & 0xfff, 0);  /* L1 private */
    assert_int_equal(l1->eax & 0x3fff, 0x0121);    /* type and level kept */
    assert_int_equal(l3->eax >> 26, 3);
    assert_int_equal((l3->eax >> 14) & 0xfff, 3);  /* L3 shared by all 4 */
    assert_int_equal(l3->edx, 0x6);
    assert_int_equal(none->eax, 0);                /* the terminator stays empty */
}

static void test_amd_topology(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct built built = build(&supported, 3, 4);
    struct kvm_cpuid_entry2 *size = find(&built, 0x80000008u, 0);
    assert_int_equal(size->ecx & 0xff, 3);         /* NC */
    assert_int_equal((size->ecx >> 12) & 0xf, 2);  /* ApicIdSize */
    assert_true(size->ecx & (1u << 16));           /* other bits kept */
    struct kvm_cpuid_entry2 *extended = find(&built, 0x8000001eu, 0);
    assert_int_equal(extended->eax, 3);
    assert_int_equal(extended->ebx & 0xff, 3);
    assert_int_equal((extended->ebx >> 8) & 0xff, 0); /* one thread per core */
    assert_int_equal(extended->ecx & 0x7ff, 0);       /* node 0 of 1 */
}

static void test_kvm_leaves(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct built built = build(&supported, 0, 1);
    struct kvm_cpuid_entry2 *signature = find(&built, KVM_CPUID_SIGNATURE, 0);
    char vendor[13] = {0};
    memcpy(vendor, &signature->ebx, 4);
    memcpy(vendor + 4, &signature->ecx, 4);
    memcpy(vendor + 8, &signature->edx, 4);
    assert_string_equal(vendor, "KVMKVMKVM");
    assert_true(signature->eax >= KVM_CPUID_FEATURES);
    struct kvm_cpuid_entry2 *features = find(&built, KVM_CPUID_FEATURES, 0);
    assert_true(features->eax & (1u << KVM_FEATURE_CLOCKSOURCE2));
    assert_true(features->eax & (1u << KVM_FEATURE_NOP_IO_DELAY)); /* supported features kept */
    assert_int_equal(count_leaf(&built, KVM_CPUID_SIGNATURE), 1);
}

static void test_kvm_leaves_added_when_missing(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(false);
    struct built built = build(&supported, 0, 2);
    assert_int_equal(built.count, supported.count - 3 + 3 + 2); /* 0xB rebuilt (3 -> 3), 2 KVM leaves added */
    struct kvm_cpuid_entry2 *signature = find(&built, KVM_CPUID_SIGNATURE, 0);
    assert_int_equal(signature->eax, KVM_CPUID_FEATURES);
    assert_int_equal(signature->ebx, 0x4b4d564b);
    assert_true(find(&built, KVM_CPUID_FEATURES, 0)->eax & (1u << KVM_FEATURE_CLOCKSOURCE2));
}

static void test_invariant_tsc_hidden(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct built built = build(&supported, 0, 1);
    struct kvm_cpuid_entry2 *power = find(&built, 0x80000007u, 0);
    assert_int_equal(power->edx, 0x1);
}

static void test_supported_list_untouched(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct cpuid_list copy = supported;
    build(&supported, 1, 2);
    assert_memory_equal(&copy, &supported, sizeof(copy));
}

static void test_errors(void **state)
{
    (void)state;
    struct cpuid_list supported = host_like_supported(true);
    struct kvm_cpuid_entry2 small[8];
    uint32_t count = 99;
    struct error error;
    assert_int_equal(cpuid_build_for_vcpu(supported.entries, supported.count, 0, 1, small, 8, &count, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_FAILURE);
    assert_int_equal(count, 0);
    struct kvm_cpuid_entry2 out[OUT_CAPACITY];
    assert_int_equal(cpuid_build_for_vcpu(supported.entries, supported.count, 2, 2, out, OUT_CAPACITY, &count, &error),
                     -1);
    assert_int_equal(cpuid_build_for_vcpu(supported.entries, supported.count, 0, 0, out, OUT_CAPACITY, &count, &error),
                     -1);
}

/* --memory's address-width check reads leaf 0x80000008 EAX[7:0]; without it, the SDM's 36. */
static void test_physical_address_bits(void **state)
{
    (void)state;
    struct kvm_cpuid_entry2 entries[2] = {
        {.function = 0x80000000u, .eax = 0x80000008u},
        {.function = 0x80000008u, .eax = 0x3028u}, /* 48 virtual, 40 physical */
    };
    assert_int_equal(cpuid_physical_address_bits(entries, 2), 40);
    assert_int_equal(cpuid_physical_address_bits(entries, 1), 36);
    entries[1].eax = 0x3000u; /* a zero width is no answer */
    assert_int_equal(cpuid_physical_address_bits(entries, 2), 36);
    unsigned host = cpuid_host_physical_address_bits();
    assert_true(host >= 36 && host <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_width),
        cmocka_unit_test(test_leaf1_apic_ids_and_counts),
        cmocka_unit_test(test_single_vcpu_has_no_htt),
        cmocka_unit_test(test_extended_topology),
        cmocka_unit_test(test_leaf_1f_rebuilt_when_supported),
        cmocka_unit_test(test_cache_leaf_sharing),
        cmocka_unit_test(test_amd_topology),
        cmocka_unit_test(test_kvm_leaves),
        cmocka_unit_test(test_kvm_leaves_added_when_missing),
        cmocka_unit_test(test_invariant_tsc_hidden),
        cmocka_unit_test(test_supported_list_untouched),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_physical_address_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
