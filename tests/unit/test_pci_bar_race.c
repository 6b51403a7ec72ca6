/*
 * KESTREL_TSAN_TEST: BAR moves on one vCPU thread against MMIO accesses on
 * others. One thread keeps moving BAR 0 between two addresses, turning
 * memory decoding off and on, and masking and unmasking an MSI-X vector;
 * two threads keep reading a register through both addresses and ringing
 * the doorbell. Every read must see either the register or all ones (never
 * a torn or foreign value), the device must never get an access outside its
 * BAR, and ThreadSanitizer must find no race in the bus's decode table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>

#include "pci_fixture.h"

enum { SLOT = PCI_FIXTURE_SLOT, MOVES = 2000, MAGIC = 0x5a5a1234 };
#define ADDRESS_A 0xc0000000ull
#define ADDRESS_B 0xc0100000ull
#define TABLE     0xc0200000ull

struct race {
    struct pci_fixture *fixture;
    atomic_bool done;
    atomic_uint bad_reads;
    atomic_uint hits;
    atomic_uint readers_started;
};

static void *mover(void *opaque)
{
    struct race *race = opaque;
    struct pci_fixture *fixture = race->fixture;
    /* Start moving only once both readers run, so the accesses really overlap the moves. */
    while (atomic_load(&race->readers_started) < 2)
        sched_yield();
    for (unsigned i = 0; i < MOVES; i++) {
        ecam_write(fixture, SLOT, 0x10, (uint32_t)(i % 2 ? ADDRESS_B : ADDRESS_A), 4);
        if (i % 7 == 0) {
            ecam_write(fixture, SLOT, 0x04, 0, 2);
            ecam_write(fixture, SLOT, 0x04, PCI_COMMAND_MEMORY, 2);
        }
        /* Vector 1's mask flips through the table while the readers ring it. */
        mmio_write32(fixture, TABLE + MSIX_ENTRY_SIZE + 12, i % 2 ? MSIX_VECTOR_MASKED : 0);
        if (i % 11 == 0)
            ecam_write(fixture, SLOT, 0x42, i % 22 ? MSIX_CONTROL_ENABLE : MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK, 2);
    }
    atomic_store(&race->done, true);
    return NULL;
}

static void *reader(void *opaque)
{
    struct race *race = opaque;
    struct pci_fixture *fixture = race->fixture;
    atomic_fetch_add(&race->readers_started, 1);
    while (!atomic_load(&race->done)) {
        for (unsigned which = 0; which < 2; which++) {
            uint32_t value = mmio_read32(fixture, (which ? ADDRESS_B : ADDRESS_A) + 8);
            if (value == MAGIC)
                atomic_fetch_add(&race->hits, 1);
            else if (value != 0xffffffff)
                atomic_fetch_add(&race->bad_reads, 1);
        }
        mmio_write32(fixture, ADDRESS_A + PCI_TEST_DOORBELL, 1);
        mmio_write32(fixture, ADDRESS_B + PCI_TEST_DOORBELL, 1);
    }
    return NULL;
}

static void test_bar_moves_against_accesses(void **state)
{
    (void)state;
    struct race race = {.fixture = pci_fixture_create()};
    struct pci_fixture *fixture = race.fixture;
    pci_fixture_map(fixture, (uint32_t)ADDRESS_A, TABLE);
    mmio_write32(fixture, ADDRESS_A + 8, MAGIC);
    ecam_write(fixture, SLOT, 0x42, MSIX_CONTROL_ENABLE, 2);
    mmio_write32(fixture, TABLE + MSIX_ENTRY_SIZE, 0xfee00000);
    mmio_write32(fixture, TABLE + MSIX_ENTRY_SIZE + 8, 0x41);

    pthread_t threads[3];
    assert_int_equal(pthread_create(&threads[0], NULL, mover, &race), 0);
    assert_int_equal(pthread_create(&threads[1], NULL, reader, &race), 0);
    assert_int_equal(pthread_create(&threads[2], NULL, reader, &race), 0);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);

    assert_int_equal(atomic_load(&race.bad_reads), 0);
    assert_int_equal(fixture->device.bar_accesses_outside, 0);
    /* The last move put BAR 0 at B (MOVES is even, the last i odd). */
    assert_int_equal(mmio_read32(fixture, ADDRESS_B + 8), MAGIC);
    assert_int_equal(mmio_read32(fixture, ADDRESS_A + 8), 0xffffffff);
    fprintf(stderr, "# %u reads hit the BAR while it moved\n", atomic_load(&race.hits));
    /* The doorbell's ioeventfd ended where BAR 0 ended. */
    assert_int_equal(fixture->device.ioeventfd_address, ADDRESS_B + PCI_TEST_DOORBELL);
    pci_fixture_destroy(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bar_moves_against_accesses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
