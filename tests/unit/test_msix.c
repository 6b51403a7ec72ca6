/*
 * MSI-X through the test device's BAR and capability, as a guest drives it:
 * reset state, enable and function mask from Message Control, per-vector
 * masks, pending bits set when a masked vector fires and delivered on
 * unmask, routes configured before delivery and updated when a live vector
 * is rewritten, the PBA read-only, and bad widths, offsets and vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pci_fixture.h"

enum { SLOT = PCI_FIXTURE_SLOT, CONTROL = 0x42 };
#define REGISTERS 0xc0000000ull
#define TABLE     0xc0010000ull
#define PBA       (TABLE + PCI_TEST_PBA_OFFSET)

static int setup(void **state)
{
    struct pci_fixture *fixture = pci_fixture_create();
    pci_fixture_map(fixture, (uint32_t)REGISTERS, TABLE);
    pci_test_device_clear_records(&fixture->device);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    pci_fixture_destroy(*state);
    return 0;
}

static void set_control(struct pci_fixture *fixture, uint16_t control)
{
    ecam_write(fixture, SLOT, CONTROL, control, 2);
}

static void program_vector(struct pci_fixture *fixture, unsigned vector, uint64_t address, uint32_t data)
{
    uint64_t entry = TABLE + vector * MSIX_ENTRY_SIZE;
    mmio_write32(fixture, entry, (uint32_t)address);
    mmio_write32(fixture, entry + 4, (uint32_t)(address >> 32));
    mmio_write32(fixture, entry + 8, data);
}

static void set_vector_mask(struct pci_fixture *fixture, unsigned vector, bool masked)
{
    mmio_write32(fixture, TABLE + vector * MSIX_ENTRY_SIZE + 12, masked ? MSIX_VECTOR_MASKED : 0);
}

static void ring(struct pci_fixture *fixture, unsigned vector)
{
    mmio_write32(fixture, REGISTERS + PCI_TEST_DOORBELL, vector);
}

static uint32_t pba(struct pci_fixture *fixture)
{
    return mmio_read32(fixture, PBA);
}

static void test_reset_state(void **state)
{
    struct pci_fixture *fixture = *state;
    for (unsigned vector = 0; vector < PCI_TEST_VECTORS; vector++) {
        uint64_t entry = TABLE + vector * MSIX_ENTRY_SIZE;
        assert_int_equal(mmio_read32(fixture, entry), 0);
        assert_int_equal(mmio_read32(fixture, entry + 8), 0);
        assert_int_equal(mmio_read32(fixture, entry + 12), MSIX_VECTOR_MASKED);
    }
    assert_int_equal(pba(fixture), 0);
    assert_false(msix_is_enabled(&fixture->device.msix));
    /* Disabled: firing does nothing at all, not even a pending bit. */
    ring(fixture, 0);
    assert_int_equal(fixture->device.delivery_count, 0);
    assert_int_equal(pba(fixture), 0);
}

static void test_masked_vector_pends_then_delivers_on_unmask(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    set_control(fixture, MSIX_CONTROL_ENABLE);
    program_vector(fixture, 3, 0xfee00000, 0x4041);
    ring(fixture, 3);
    assert_int_equal(device->delivery_count, 0);
    assert_int_equal(pba(fixture), 1u << 3);
    assert_true(msix_is_pending(&device->msix, 3));
    ring(fixture, 3); /* a second fire while masked is the same one pending message */
    set_vector_mask(fixture, 3, false);
    assert_int_equal(device->delivery_count, 1);
    assert_int_equal(device->deliveries[0].vector, 3);
    assert_int_equal(device->deliveries[0].address, 0xfee00000);
    assert_int_equal(device->deliveries[0].data, 0x4041);
    assert_int_equal(pba(fixture), 0);
    /* Unmasked: delivered at once, nothing pending. */
    ring(fixture, 3);
    assert_int_equal(device->delivery_count, 2);
    assert_int_equal(pba(fixture), 0);
}

static void test_function_mask(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    set_control(fixture, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    for (unsigned vector = 0; vector < 3; vector++) {
        program_vector(fixture, vector, 0xfee00000 | vector << 12, 0x30 + vector);
        set_vector_mask(fixture, vector, false);
    }
    set_vector_mask(fixture, 1, true);
    ring(fixture, 0);
    ring(fixture, 1);
    ring(fixture, 2);
    assert_int_equal(device->delivery_count, 0);
    assert_int_equal(pba(fixture), 0x7);
    /* Clearing the function mask delivers the vectors not masked on their own; vector 1 stays pending. */
    set_control(fixture, MSIX_CONTROL_ENABLE);
    assert_int_equal(device->delivery_count, 2);
    assert_int_equal(device->deliveries[0].vector, 0);
    assert_int_equal(device->deliveries[1].vector, 2);
    assert_int_equal(pba(fixture), 0x2);
    set_vector_mask(fixture, 1, false);
    assert_int_equal(device->delivery_count, 3);
    assert_int_equal(device->deliveries[2].data, 0x31);
    assert_int_equal(pba(fixture), 0);
    /* Pending bits survive a disable, and are delivered after re-enable with the function unmasked. */
    set_control(fixture, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    ring(fixture, 2);
    set_control(fixture, 0);
    assert_int_equal(pba(fixture), 0x4);
    set_control(fixture, MSIX_CONTROL_ENABLE);
    assert_int_equal(device->delivery_count, 4);
    assert_int_equal(pba(fixture), 0);
}

static void test_routes_follow_rewrites(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    set_control(fixture, MSIX_CONTROL_ENABLE);
    /* Programming a masked vector configures nothing yet. */
    program_vector(fixture, 5, 0xfee01000, 0x51);
    assert_int_equal(device->configure_count, 0);
    set_vector_mask(fixture, 5, false);
    ring(fixture, 5);
    assert_int_equal(device->configure_count, 1);
    /* A live vector rewritten: its route changes at once (an irqfd would use it without asking). */
    program_vector(fixture, 5, 0xfee02000, 0x52);
    assert_int_equal(device->routed_address[5], 0xfee02000);
    assert_int_equal(device->routed_data[5], 0x52);
    ring(fixture, 5);
    assert_int_equal(device->deliveries[device->delivery_count - 1].data, 0x52);
    /* A 64-bit write of the address updates both halves. */
    uint64_t address = 0x00000000fee03000ull;
    io_bus_write(&fixture->mmio, TABLE + 5 * MSIX_ENTRY_SIZE, &address, 8);
    assert_int_equal(mmio_read32(fixture, TABLE + 5 * MSIX_ENTRY_SIZE), 0xfee03000);
    ring(fixture, 5);
    assert_int_equal(device->deliveries[device->delivery_count - 1].address, 0xfee03000);
}

static void test_garbage_accesses(void **state)
{
    struct pci_fixture *fixture = *state;
    struct pci_test_device *device = &fixture->device;
    set_control(fixture, MSIX_CONTROL_ENABLE);
    program_vector(fixture, 0, 0xfee00000, 0x20);
    /* Byte, word and misaligned accesses to the table: reads all ones, writes ignored. */
    uint8_t byte = 0;
    io_bus_write(&fixture->mmio, TABLE + 12, &byte, 1);
    io_bus_read(&fixture->mmio, TABLE + 12, &byte, 1);
    assert_int_equal(byte, 0xff);
    uint16_t word = 0;
    io_bus_write(&fixture->mmio, TABLE + 12, &word, 2);
    assert_int_equal(mmio_read32(fixture, TABLE + 12), MSIX_VECTOR_MASKED);
    mmio_write32(fixture, TABLE + 10, 0);
    assert_int_equal(mmio_read32(fixture, TABLE + 8), 0x20);
    uint64_t wide = 0;
    io_bus_read(&fixture->mmio, TABLE + 4, &wide, 8);
    assert_int_equal(wide, UINT64_MAX);
    /* Reserved vector-control bits read as zero. */
    mmio_write32(fixture, TABLE + 12, 0xfffffffe);
    assert_int_equal(mmio_read32(fixture, TABLE + 12), 0);
    /* The PBA is read-only. */
    mmio_write32(fixture, PBA, 0xff);
    assert_int_equal(pba(fixture), 0);
    /* Past the table and PBA the BAR is the device's (nothing there here). */
    assert_int_equal(mmio_read32(fixture, TABLE + PCI_TEST_VECTORS * MSIX_ENTRY_SIZE), 0xffffffff);
    /* A vector number past the table fires nothing. */
    ring(fixture, PCI_TEST_VECTORS);
    ring(fixture, 0xffffffff);
    assert_int_equal(msix_vector_fire(&device->msix, PCI_TEST_VECTORS), MSIX_NO_VECTOR);
    assert_int_equal(device->delivery_count, 0);
}

static void test_init_rejects_bad_layouts(void **state)
{
    (void)state;
    static const struct msix_delivery_ops none = {0};
    struct pci_test_device device;
    pci_test_device_init(&device);
    const struct msix_delivery_ops *delivery = device.msix.delivery;
    struct msix msix;
    struct error error;
    assert_int_equal(msix_init(&msix, 0, 0, 0, 0, 0x1000, delivery, NULL, &error), -1);
    assert_int_equal(msix_init(&msix, MSIX_MAX_VECTORS + 1, 0, 0, 0, 0x10000, delivery, NULL, &error), -1);
    assert_int_equal(msix_init(&msix, 4, 6, 0, 0, 0x1000, delivery, NULL, &error), -1);
    assert_int_equal(msix_init(&msix, 4, 0, 4, 0, 0x1000, delivery, NULL, &error), -1);
    assert_int_equal(msix_init(&msix, 4, 0, 0, 0, 0x20, delivery, NULL, &error), -1); /* PBA inside the table */
    assert_int_equal(msix_init(&msix, 4, 0, 0, 0, 0x1000, &none, NULL, &error), -1);
    assert_int_equal(msix_init(&msix, 4, 0, 0, 0, 0x40, delivery, NULL, &error), 0);
    assert_int_equal(msix_table_size(4), 64);
    assert_int_equal(msix_pba_size(4), 8);
    assert_int_equal(msix_pba_size(65), 16);
    msix_destroy(&msix);
    pci_test_device_destroy(&device);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_vector_pends_then_delivers_on_unmask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_follow_rewrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_accesses, setup, teardown),
        cmocka_unit_test(test_init_rejects_bad_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
