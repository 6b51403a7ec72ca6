/*
 * The GSI routing table natively, with a recorder in place of
 * KVM_SET_GSI_ROUTING: every submission is the whole table (irqchip routes
 * first, as KVM's default has them, then the MSI routes); an unchanged
 * message is not re-submitted; GSIs are allocated from 24 up, reused after
 * release and run out cleanly; a failed submission is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "kvm/kvm_irq_routing.h"

struct recorder {
    unsigned submissions;
    unsigned last_count;
    struct kvm_irq_routing_entry last_msi;
    int result;
};

static int record(void *opaque, const struct kvm_irq_routing *table)
{
    struct recorder *recorder = opaque;
    recorder->submissions++;
    recorder->last_count = table->nr;
    for (unsigned i = 0; i < table->nr; i++) {
        if (table->entries[i].type == KVM_IRQ_ROUTING_MSI)
            recorder->last_msi = table->entries[i];
    }
    return recorder->result;
}

static void test_whole_table_each_time(void **state)
{
    (void)state;
    struct recorder recorder = {0};
    struct gsi_routing routing;
    struct error error;
    assert_int_equal(gsi_routing_init(&routing, record, &recorder, &error), 0);
    assert_int_equal(gsi_routing_commit(&routing), 0);
    assert_int_equal(recorder.submissions, 1);
    assert_int_equal(recorder.last_count, 40); /* 16 PIC pins + 24 IOAPIC pins */

    int first = gsi_routing_allocate_msi(&routing);
    int second = gsi_routing_allocate_msi(&routing);
    assert_int_equal(first, 24);
    assert_int_equal(second, 25);
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)second, 0xfee01000, 0x4055), 0);
    assert_int_equal(recorder.submissions, 2);
    assert_int_equal(recorder.last_count, 42);
    assert_int_equal(recorder.last_msi.gsi, 25);
    assert_int_equal(recorder.last_msi.u.msi.address_lo, 0xfee01000);
    assert_int_equal(recorder.last_msi.u.msi.address_hi, 0);
    assert_int_equal(recorder.last_msi.u.msi.data, 0x4055);
    /* The same message again: KVM is not asked (each call costs an RCU grace period). */
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)second, 0xfee01000, 0x4055), 0);
    assert_int_equal(recorder.submissions, 2);
    /* A 64-bit address keeps its high half. */
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)second, 0x1fee01000ull, 0x4055), 0);
    assert_int_equal(recorder.last_msi.u.msi.address_hi, 1);

    /* Released GSIs are reused, unknown ones refused. */
    gsi_routing_release_msi(&routing, (unsigned)first);
    assert_int_equal(gsi_routing_allocate_msi(&routing), first);
    assert_int_equal(gsi_routing_set_msi(&routing, 4, 0xfee00000, 0x30), -EINVAL); /* an irqchip pin */
    assert_int_equal(gsi_routing_set_msi(&routing, 24 + GSI_ROUTING_MAX_MSI, 0xfee00000, 0x30), -EINVAL);
    gsi_routing_release_msi(&routing, 3); /* not an MSI GSI: ignored */

    /* A submission KVM refuses comes back as its errno. */
    recorder.result = -ENOMEM;
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)first, 0xfee00000, 0x31), -ENOMEM);
    gsi_routing_destroy(&routing);
}

static void test_running_out(void **state)
{
    (void)state;
    struct recorder recorder = {0};
    struct gsi_routing routing;
    struct error error;
    assert_int_equal(gsi_routing_init(&routing, record, &recorder, &error), 0);
    for (unsigned i = 0; i < GSI_ROUTING_MAX_MSI; i++)
        assert_int_equal(gsi_routing_allocate_msi(&routing), (int)(GSI_ROUTING_FIRST_MSI + i));
    assert_int_equal(gsi_routing_allocate_msi(&routing), -1);
    assert_int_equal(gsi_routing_set_msi(&routing, GSI_ROUTING_FIRST_MSI + GSI_ROUTING_MAX_MSI - 1, 0xfee00000, 1), 0);
    assert_int_equal(recorder.last_count, 40 + GSI_ROUTING_MAX_MSI);
    gsi_routing_destroy(&routing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_table_each_time),
        cmocka_unit_test(test_running_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
