/*
 * BARs as a guest programs them: the sizing protocol for 32- and 64-bit
 * BARs, MMIO dispatch that follows a moved BAR (with unmap-before-map
 * notifications), and the rules for hostile placements: a BAR over RAM, the
 * LAPIC, the IOAPIC, the ECAM, across a window's end or over another BAR
 * decodes nothing, and memory decoding off decodes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "pci_fixture.h"

static int setup(void **state)
{
    *state = pci_fixture_create();
    return 0;
}

static int teardown(void **state)
{
    pci_fixture_destroy(*state);
    return 0;
}

enum { SLOT = PCI_FIXTURE_SLOT };

static void test_sizing_32bit(void **state)
{
    struct pci_fixture *fixture = *state;
    assert_int_equal(ecam_read(fixture, SLOT, 0x10, 4), 0); /* flags: memory, 32-bit, not prefetchable */
    ecam_write(fixture, SLOT, 0x10, 0xffffffff, 4);
    assert_int_equal(ecam_read(fixture, SLOT, 0x10, 4), (uint32_t)~(PCI_TEST_REGISTER_BAR_SIZE - 1));
    ecam_write(fixture, SLOT, 0x10, 0xc0001234, 4); /* low bits below the size are dropped */
    assert_int_equal(ecam_read(fixture, SLOT, 0x10, 4), 0xc0001000);
    /* Byte-wise programming works the same. */
    ecam_write(fixture, SLOT, 0x13, 0xd0, 1);
    assert_int_equal(ecam_read(fixture, SLOT, 0x10, 4), 0xd0001000);
    /* Unimplemented BARs read 0 whatever is written. */
    for (unsigned offset = 0x14; offset < 0x28; offset += 4) {
        if (offset == 0x18 || offset == 0x1c)
            continue;
        ecam_write(fixture, SLOT, offset, 0xffffffff, 4);
        assert_int_equal(ecam_read(fixture, SLOT, offset, 4), 0);
    }
}

static void test_sizing_64bit(void **state)
{
    struct pci_fixture *fixture = *state;
    assert_int_equal(ecam_read(fixture, SLOT, 0x18, 4), PCI_BAR_MEMORY_64);
    ecam_write(fixture, SLOT, 0x18, 0xffffffff, 4);
    ecam_write(fixture, SLOT, 0x1c, 0xffffffff, 4);
    assert_int_equal(ecam_read(fixture, SLOT, 0x18, 4), (uint32_t)~(PCI_TEST_MSIX_BAR_SIZE - 1) | PCI_BAR_MEMORY_64);
    assert_int_equal(ecam_read(fixture, SLOT, 0x1c, 4), 0xffffffff);
    ecam_write(fixture, SLOT, 0x18, 0x00004000, 4);
    ecam_write(fixture, SLOT, 0x1c, 0x00000001, 4);
    assert_int_equal(ecam_read(fixture, SLOT, 0x18, 4), 0x00004000 | PCI_BAR_MEMORY_64);
    assert_int_equal(ecam_read(fixture, SLOT, 0x1c, 4), 1);
}

static void test_dispatch_follows_moves(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    /* Programmed but decoding off: nothing there, nothing mapped. */
    ecam_write(fixture, SLOT, 0x10, 0xc0000000, 4);
    mmio_write32(fixture, 0xc0000000, 0x1111);
    assert_int_equal(mmio_read32(fixture, 0xc0000000), 0xffffffff);
    assert_int_equal(device->event_count, 0);

    pci_fixture_map(fixture, 0xc0000000, PCI_FIXTURE_MMIO64_BASE + 0x10000);
    assert_int_equal(device->event_count, 2);
    assert_int_equal(device->events[0].kind, PCI_TEST_MAPPED);
    assert_int_equal(device->events[0].bar, 0);
    assert_int_equal(device->events[0].address, 0xc0000000);
    assert_int_equal(device->events[1].bar, 2);
    assert_int_equal(device->events[1].address, PCI_FIXTURE_MMIO64_BASE + 0x10000);
    mmio_write32(fixture, 0xc0000008, 0xabcd);
    assert_int_equal(device->registers[2], 0xabcd);
    assert_int_equal(mmio_read32(fixture, 0xc0000008), 0xabcd);
    /* The 64-bit BAR in the 64-bit window: the MSI-X table's first entry is masked after reset. */
    assert_int_equal(mmio_read32(fixture, PCI_FIXTURE_MMIO64_BASE + 0x10000 + 12), MSIX_VECTOR_MASKED);

    pci_test_device_clear_records(device);
    ecam_write(fixture, SLOT, 0x10, 0xc0100000, 4);
    assert_int_equal(device->event_count, 2);
    assert_int_equal(device->events[0].kind, PCI_TEST_UNMAPPED);
    assert_int_equal(device->events[0].address, 0xc0000000);
    assert_int_equal(device->events[1].kind, PCI_TEST_MAPPED);
    assert_int_equal(device->events[1].address, 0xc0100000);
    assert_int_equal(mmio_read32(fixture, 0xc0000008), 0xffffffff);
    assert_int_equal(mmio_read32(fixture, 0xc0100008), 0xabcd);
    /* The doorbell's ioeventfd moved with the BAR (removed first, so never registered twice). */
    assert_int_equal(device->ioeventfd_address, 0xc0100000 + PCI_TEST_DOORBELL);
    assert_int_equal(device->ioeventfd_assigns, 2);
    /* An access that runs past the BAR's end is not the BAR's. */
    uint64_t wide = 0;
    io_bus_read(&fixture->mmio, 0xc0100000 + PCI_TEST_REGISTER_BAR_SIZE - 4, &wide, 8);
    assert_int_equal(wide, UINT64_MAX);
    assert_int_equal(device->bar_accesses_outside, 0);

    /* Memory decoding off unmaps both BARs; on again maps them where they are. */
    pci_test_device_clear_records(device);
    ecam_write(fixture, SLOT, 0x04, 0, 2);
    assert_int_equal(device->event_count, 2);
    assert_int_equal(device->events[0].kind, PCI_TEST_UNMAPPED);
    assert_int_equal(device->events[1].kind, PCI_TEST_UNMAPPED);
    assert_int_equal(mmio_read32(fixture, 0xc0100008), 0xffffffff);
    assert_int_equal(device->ioeventfd_address, PCI_BAR_UNMAPPED);
    ecam_write(fixture, SLOT, 0x04, PCI_COMMAND_MEMORY, 2);
    assert_int_equal(device->ioeventfd_address, 0xc0100000 + PCI_TEST_DOORBELL);
    assert_int_equal(mmio_read32(fixture, 0xc0100008), 0xabcd);
    /* Rewriting a BAR with its own address changes nothing and reports nothing. */
    pci_test_device_clear_records(device);
    ecam_write(fixture, SLOT, 0x10, 0xc0100000, 4);
    assert_int_equal(device->event_count, 0);
}

/* The BAR at `address` must decode nothing: no map event, accesses read all ones and reach no device. */
static void expect_not_decoded(struct pci_fixture *fixture, uint32_t bar0)
{
    struct pci_test_device *device = &fixture->device;
    pci_test_device_clear_records(device);
    ecam_write(fixture, SLOT, 0x10, bar0, 4);
    for (unsigned i = 0; i < device->event_count; i++)
        assert_false(device->events[i].kind == PCI_TEST_MAPPED && device->events[i].bar == 0);
    assert_int_equal(fixture->device.pci.bars[0].decoded, PCI_BAR_UNMAPPED);
    assert_int_equal(fixture->device.ioeventfd_address, PCI_BAR_UNMAPPED); /* no ioeventfd over RAM either */
}

static void test_hostile_placements_decode_nothing(void **state)
{
    struct pci_fixture *fixture = *state;
    pci_fixture_map(fixture, 0xc0000000, 0xc0010000);
    expect_not_decoded(fixture, 0x00000000);          /* over low RAM (and the IVT) */
    expect_not_decoded(fixture, 0x00100000);          /* over the kernel */
    expect_not_decoded(fixture, 0xbffff000);          /* the last RAM page below the hole */
    expect_not_decoded(fixture, (uint32_t)LAYOUT_IOAPIC_GPA);
    expect_not_decoded(fixture, (uint32_t)LAYOUT_LAPIC_GPA);
    expect_not_decoded(fixture, (uint32_t)LAYOUT_PCI_ECAM_START);
    expect_not_decoded(fixture, 0xfffff000);          /* the reset vector */
    /* Over BAR 2: BAR 0 comes first in (slot, BAR) order, so it wins and BAR 2 stops decoding. */
    ecam_write(fixture, SLOT, 0x10, 0xc0010000, 4);
    assert_int_equal(fixture->device.pci.bars[0].decoded, 0xc0010000);
    assert_int_equal(fixture->device.pci.bars[2].decoded, PCI_BAR_UNMAPPED);
    /* ECAM and the LAPIC still answer as before: the BAR shadows nothing. */
    assert_int_equal(ecam_read(fixture, 0, 0, 4), 0x00081b36);
    io_bus_write(&fixture->mmio, LAYOUT_LAPIC_GPA, &(uint32_t){1}, 4); /* nobody on the io_bus: dropped */
    assert_int_equal(fixture->device.registers[0], 0);
    assert_int_equal(fixture->device.bar_accesses_outside, 0);
}

static void test_overlap_and_window_edges(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    pci_fixture_map(fixture, 0xc0000000, 0xc0004000);
    assert_int_equal(device->pci.bars[0].decoded, 0xc0000000);
    assert_int_equal(device->pci.bars[2].decoded, 0xc0004000);
    /* BAR 2 (16 KiB) moved over BAR 0: BAR 0 keeps decoding, BAR 2 does not. */
    ecam_write(fixture, SLOT, 0x18, 0xc0000000, 4);
    assert_int_equal(device->pci.bars[0].decoded, 0xc0000000);
    assert_int_equal(device->pci.bars[2].decoded, PCI_BAR_UNMAPPED);
    assert_int_equal(mmio_read32(fixture, 0xc0000000 + 12), 0); /* BAR 0's register 3, not an MSI-X entry */
    /* BAR 0 moves away: BAR 2 starts decoding where it was programmed. */
    pci_test_device_clear_records(device);
    ecam_write(fixture, SLOT, 0x10, 0xc1000000, 4);
    assert_int_equal(device->event_count, 3);
    assert_int_equal(device->events[0].kind, PCI_TEST_UNMAPPED);
    assert_int_equal(device->events[1].kind, PCI_TEST_MAPPED);
    assert_int_equal(device->events[2].kind, PCI_TEST_MAPPED);
    assert_int_equal(mmio_read32(fixture, 0xc0000000 + 12), MSIX_VECTOR_MASKED);
    /* The last page of the 32-bit window decodes; one byte further does not. */
    uint32_t last = (uint32_t)(LAYOUT_PCI_MMIO32_START + LAYOUT_PCI_MMIO32_SIZE - PCI_TEST_REGISTER_BAR_SIZE);
    ecam_write(fixture, SLOT, 0x10, last, 4);
    assert_int_equal(device->pci.bars[0].decoded, last);
    /* A 64-bit BAR above 4 GiB but outside the 64-bit window decodes nothing. */
    ecam_write(fixture, SLOT, 0x1c, 0x10000, 4);
    assert_int_equal(device->pci.bars[2].decoded, PCI_BAR_UNMAPPED);
    /* ... and at the 64-bit window's end it does. */
    uint64_t top = PCI_FIXTURE_MMIO64_BASE + LAYOUT_PCI_MMIO64_SIZE - PCI_TEST_MSIX_BAR_SIZE;
    ecam_write(fixture, SLOT, 0x18, (uint32_t)top, 4);
    ecam_write(fixture, SLOT, 0x1c, (uint32_t)(top >> 32), 4);
    assert_int_equal(device->pci.bars[2].decoded, top);
    assert_int_equal(device->bar_accesses_outside, 0);
}

static int record_assign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    (void)event_fd;
    *(uint64_t *)opaque = match->address;
    return match->address == 0xc0000000 ? -EEXIST : 0;
}

static int record_deassign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    (void)event_fd;
    (void)match;
    *(uint64_t *)opaque = 0;
    return 0;
}

static void test_bar_ioeventfds_bounds_and_failures(void **state)
{
    (void)state;
    static const struct pci_ioeventfd_ops ops = {.assign = record_assign, .deassign = record_deassign};
    uint64_t last = 0;
    struct pci_bar_ioeventfds set;
    pci_bar_ioeventfds_init(&set, 0x1000, &ops, &last);
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0xffc, 8, false, 0, 5), -EINVAL); /* past the BAR */
    assert_int_equal(pci_bar_ioeventfds_add(&set, UINT64_MAX - 1, 4, false, 0, 5), -EINVAL);
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0, 3, false, 0, 5), -EINVAL);      /* no such width */
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0, 4, true, 7, 5), 0);
    assert_int_equal(last, 0); /* the BAR decodes nothing yet */
    /* A registration KVM refuses is counted and not undone later. */
    pci_bar_ioeventfds_mapped(&set, 0xc0000000);
    assert_int_equal(set.failures, 1);
    assert_false(set.entries[0].registered);
    pci_bar_ioeventfds_unmapped(&set);
    assert_int_equal(last, 0xc0000000); /* nothing deassigned */
    pci_bar_ioeventfds_mapped(&set, 0xc0001000);
    assert_int_equal(last, 0xc0001000);
    /* Added while mapped: registered at once. */
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0x10, 0, false, 0, 6), 0);
    assert_int_equal(last, 0xc0001010);
    for (unsigned i = set.count; i < PCI_IOEVENTFD_MAX; i++)
        assert_int_equal(pci_bar_ioeventfds_add(&set, 0x20, 2, false, 0, 7), 0);
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0x20, 2, false, 0, 7), -ENOSPC);
}

static void test_add_bar_rejects_bad_shapes(void **state)
{
    (void)state;
    struct pci_device device;
    const struct pci_identity identity = {.vendor_id = 1};
    static const struct pci_device_ops ops = {0};
    pci_device_init(&device, &identity, &ops, NULL, "shapes");
    assert_false(pci_device_add_bar(&device, 0, 0x1800, false, false));      /* not a power of two */
    assert_false(pci_device_add_bar(&device, 0, 8, false, false));           /* below 16 bytes */
    assert_false(pci_device_add_bar(&device, 5, 0x1000, true, false));       /* 64-bit needs BAR 6 */
    assert_false(pci_device_add_bar(&device, 6, 0x1000, false, false));
    assert_false(pci_device_add_bar(&device, 0, 1ull << 32, false, false)); /* 32-bit BARs stop at 2 GiB */
    assert_true(pci_device_add_bar(&device, 0, 1ull << 32, true, true));
    assert_false(pci_device_add_bar(&device, 1, 0x1000, false, false));      /* BAR 0's upper half */
    assert_true(pci_device_add_bar(&device, 2, 0x1000, false, false));
    assert_false(pci_device_add_bar(&device, 2, 0x1000, false, false));      /* taken */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizing_32bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizing_64bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_follows_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_placements_decode_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_and_window_edges, setup, teardown),
        cmocka_unit_test(test_bar_ioeventfds_bounds_and_failures),
        cmocka_unit_test(test_add_bar_rejects_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
