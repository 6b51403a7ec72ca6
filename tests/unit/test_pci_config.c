/*
 * PCI configuration space through both mechanisms, as a guest drives it:
 * identity of the host bridge and test device, absent slots and functions,
 * the 0xCF8 latch rules, every width at every offset, read-only and
 * writable bits, the capability list, and ECAM's extended space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

static void test_host_bridge_identity(void **state)
{
    struct pci_fixture *fixture = *state;
    assert_int_equal(cf8_read(fixture, 0, 0x00, 4), 0x00081b36);
    assert_int_equal(ecam_read(fixture, 0, 0x00, 4), 0x00081b36);
    assert_int_equal(cf8_read(fixture, 0, 0x08, 4) >> 8, 0x060000); /* class: host bridge */
    assert_int_equal(cf8_read(fixture, 0, 0x0e, 1), 0x00);          /* header type 0, single function */
    assert_int_equal(cf8_read(fixture, 0, 0x10, 4), 0);              /* no BARs */
    assert_int_equal(cf8_read(fixture, 0, 0x06, 2) & PCI_STATUS_CAPABILITY_LIST, 0);
}

static void test_absent_functions_read_all_ones(void **state)
{
    struct pci_fixture *fixture = *state;
    assert_int_equal(cf8_read(fixture, 1, 0x00, 4), 0xffffffff);
    assert_int_equal(ecam_read(fixture, 31, 0x00, 4), 0xffffffff);
    /* Function 1 of a present device: the guest must not see a multi-function device. */
    uint32_t address = pci_address(0, 0, 1, 0), value = 0;
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcfc, &value, 4);
    assert_int_equal(value, 0xffffffff);
    io_bus_read(&fixture->mmio, ecam_address(PCI_FIXTURE_SLOT, 7, 0), &value, 4);
    assert_int_equal(value, 0xffffffff);
    /* Bus 1 does not exist. */
    address = pci_address(1, 0, 0, 0);
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcfc, &value, 4);
    assert_int_equal(value, 0xffffffff);
    /* Writes there change nothing anywhere. */
    uint32_t junk = 0x12345678;
    io_bus_write(&fixture->pio, 0xcfc, &junk, 4);
    assert_int_equal(cf8_read(fixture, 0, 0x00, 4), 0x00081b36);
}

static void test_config_address_latch(void **state)
{
    struct pci_fixture *fixture = *state;
    uint32_t address = pci_address(0, PCI_FIXTURE_SLOT, 0, 0x40) | 0x7f000003u, value = 0;
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcf8, &value, 4);
    /* Reserved bits 30-24 and the low two bits do not stick. */
    assert_int_equal(value, pci_address(0, PCI_FIXTURE_SLOT, 0, 0x40));
    /* Byte writes to 0xCF8-0xCFB are not the address register (0xCFB is mechanism #2's, 0xCF9 a reset port). */
    uint8_t byte = 0x01;
    io_bus_write(&fixture->pio, 0xcfb, &byte, 1);
    io_bus_read(&fixture->pio, 0xcf8, &value, 4);
    assert_int_equal(value, pci_address(0, PCI_FIXTURE_SLOT, 0, 0x40));
    uint8_t read_byte = 0;
    io_bus_read(&fixture->pio, 0xcf9, &read_byte, 1);
    assert_int_equal(read_byte, 0xff);
    /* The enable bit clear: the data port reads all ones. */
    address = 0;
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcfc, &value, 4);
    assert_int_equal(value, 0xffffffff);
    /* A dword access straddling 0xCFA-0xCFD is neither register. */
    address = pci_address(0, 0, 0, 0);
    io_bus_write(&fixture->pio, 0xcf8, &address, 4);
    io_bus_read(&fixture->pio, 0xcfa, &value, 4);
    assert_int_equal(value, 0xffffffff);
}

static void test_every_width_and_offset_agrees(void **state)
{
    struct pci_fixture *fixture = *state;
    uint8_t bytes[256];
    for (unsigned offset = 0; offset < 256; offset++)
        bytes[offset] = (uint8_t)ecam_read(fixture, PCI_FIXTURE_SLOT, offset, 1);
    assert_int_equal(bytes[0], 0x34);
    assert_int_equal(bytes[1], 0x12);
    for (unsigned size = 1; size <= 4; size *= 2) {
        for (unsigned offset = 0; offset + size <= 256; offset++) {
            uint32_t expected = 0;
            memcpy(&expected, bytes + offset, size);
            assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, offset, size), expected);
            if ((offset & 3) + size <= 4)
                assert_int_equal(cf8_read(fixture, PCI_FIXTURE_SLOT, offset, size), expected);
        }
    }
    /* An 8-byte ECAM read spans two dwords. */
    uint64_t wide = 0, expected = 0;
    io_bus_read(&fixture->mmio, ecam_address(PCI_FIXTURE_SLOT, 0, 0), &wide, 8);
    memcpy(&expected, bytes, 8);
    assert_int_equal(wide, expected);
}

static void test_read_only_and_writable_bits(void **state)
{
    struct pci_fixture *fixture = *state;
    unsigned slot = PCI_FIXTURE_SLOT;
    ecam_write(fixture, slot, 0x00, 0xffffffff, 4); /* vendor and device ids are read-only */
    assert_int_equal(ecam_read(fixture, slot, 0x00, 4), 0x11e81234);
    ecam_write(fixture, slot, 0x08, 0, 4); /* class and revision */
    assert_int_equal(ecam_read(fixture, slot, 0x08, 4), 0xff000001);
    ecam_write(fixture, slot, 0x04, 0xffffffff, 4); /* command: only the implemented bits stick; status is RO */
    assert_int_equal(ecam_read(fixture, slot, 0x04, 2), 0x0547);
    assert_int_equal(ecam_read(fixture, slot, 0x06, 2), PCI_STATUS_CAPABILITY_LIST);
    ecam_write(fixture, slot, 0x04, 0, 2);
    cf8_write(fixture, slot, 0x3c, 0x0b, 1); /* interrupt line: writable scratch for the OS */
    assert_int_equal(cf8_read(fixture, slot, 0x3c, 1), 0x0b);
    assert_int_equal(cf8_read(fixture, slot, 0x3d, 1), 0); /* no INTx pin */
    ecam_write(fixture, slot, 0x3d, 0xff, 1);
    assert_int_equal(cf8_read(fixture, slot, 0x3d, 1), 0);
    ecam_write(fixture, slot, 0x0c, 0xffff, 2); /* cache line size and latency timer */
    assert_int_equal(ecam_read(fixture, slot, 0x0c, 4), 0x0000ffff);
    ecam_write(fixture, slot, 0x30, 0xffffffff, 4); /* no expansion ROM: reads back 0 */
    assert_int_equal(ecam_read(fixture, slot, 0x30, 4), 0);
    /* A write straddling two dwords applies each half with its own rules. */
    ecam_write(fixture, slot, 0x3e, 0xffff0c0c, 4); /* min_gnt/max_lat (RO) then the 0x40 capability id (RO) */
    assert_int_equal(ecam_read(fixture, slot, 0x3c, 4), 0x0000000b);
    assert_int_equal(ecam_read(fixture, slot, 0x40, 1), MSIX_CAPABILITY_ID);
}

static void test_capability_list(void **state)
{
    struct pci_fixture *fixture = *state;
    unsigned slot = PCI_FIXTURE_SLOT;
    uint32_t pointer = ecam_read(fixture, slot, PCI_CAPABILITY_LIST, 1);
    assert_int_equal(pointer, 0x40);
    assert_int_equal(ecam_read(fixture, slot, pointer, 1), MSIX_CAPABILITY_ID);
    assert_int_equal(ecam_read(fixture, slot, pointer + 1, 1), 0); /* end of list */
    assert_int_equal(ecam_read(fixture, slot, pointer + 2, 2), PCI_TEST_VECTORS - 1);
    assert_int_equal(ecam_read(fixture, slot, pointer + 4, 4), PCI_TEST_MSIX_BAR);                       /* table */
    assert_int_equal(ecam_read(fixture, slot, pointer + 8, 4), PCI_TEST_PBA_OFFSET | PCI_TEST_MSIX_BAR); /* PBA */
    /* Only enable and function mask are writable in Message Control. */
    ecam_write(fixture, slot, pointer, 0xffffffff, 4);
    assert_int_equal(ecam_read(fixture, slot, pointer, 4), 0xc0000000u | (PCI_TEST_VECTORS - 1) << 16 | 0x11);
    ecam_write(fixture, slot, pointer + 4, 0, 4);
    assert_int_equal(ecam_read(fixture, slot, pointer + 4, 4), PCI_TEST_MSIX_BAR);
}

static void test_extended_space(void **state)
{
    struct pci_fixture *fixture = *state;
    /* No extended capabilities: 0x100 reads 0, and writes anywhere up there are dropped. */
    assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, 0x100, 4), 0);
    ecam_write(fixture, PCI_FIXTURE_SLOT, 0xffc, 0xffffffff, 4);
    assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, 0xffc, 4), 0);
    /* An 8-byte access at the function's last dword spills into the next function's space: all ones there. */
    uint64_t wide = 0;
    io_bus_read(&fixture->mmio, ecam_address(PCI_FIXTURE_SLOT, 0, 0xffc), &wide, 8);
    assert_int_equal(wide, 0xffffffff00000000ull);
}

static void test_reset_restores_power_on_state(void **state)
{
    struct pci_fixture *fixture = *state;
    pci_fixture_map(fixture, 0xc0000000, 0xc0010000);
    cf8_write(fixture, PCI_FIXTURE_SLOT, 0x3c, 0x0b, 1);
    pci_bus_reset(&fixture->bus);
    assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, 0x04, 2), 0);
    assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, 0x10, 4), 0);
    assert_int_equal(ecam_read(fixture, PCI_FIXTURE_SLOT, 0x3c, 1), 0);
    assert_int_equal(fixture->device.resets, 1);
    assert_int_equal(mmio_read32(fixture, 0xc0000000), 0xffffffff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_bridge_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_functions_read_all_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_address_latch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_width_and_offset_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_and_writable_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capability_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extended_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_restores_power_on_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
