/*
 * Guest accesses to PCI configuration space and BARs, in any order: the
 * host bridge at 00:00.0 and the test device with MSI-X (the virtio-pci
 * layout) on kestrel's bus 0, driven through 0xCF8/0xCFC, the ECAM and the
 * PCI windows, any width (1, 2, 4, 8 and invalid ones) at any offset,
 * interleaved with vector fires. After every step: decoding BARs lie inside
 * a window and overlap nothing, the dispatch table agrees with the BARs,
 * the device never sees an access outside a BAR, and MSI-X delivery matches
 * its masks (the device aborts on a delivery through a stale route).
 *
 * Input: records of
 *   op      bits 0-2 kind (0 latch 0xCF8, 1 read 0xCFC+n, 2 write 0xCFC+n, 3 ECAM read,
 *           4 ECAM write, 5 window read, 6 window write, 7 fire a vector),
 *           bits 3-5 access size index (1, 2, 4, 8, 3, 0, 16, 5)
 *   4 bytes address/offset (kind-specific), `size` value bytes for writes
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit/pci_fixture.h"
#include "util/checked_math.h"

static struct pci_fixture *fixture;

static uint32_t take32(const uint8_t **data, size_t *size)
{
    uint32_t value = 0;
    size_t n = *size < 4 ? *size : 4;
    memcpy(&value, *data, n);
    *data += n;
    *size -= n;
    return value;
}

static void check_decoding(void)
{
    const struct pci_bus *bus = &fixture->bus;
    const struct pci_bus_layout *layout = &bus->layout;
    for (unsigned i = 0; i < bus->decoded_count; i++) {
        const struct pci_decoded_bar *entry = &bus->decoded[i];
        bool in32 = range_within(entry->base, entry->size, layout->mmio32_base, layout->mmio32_size);
        bool in64 = range_within(entry->base, entry->size, layout->mmio64_base, layout->mmio64_size);
        if (!(in32 || (in64 && entry->device->bars[entry->bar].is_64bit)))
            __builtin_trap();
        if (entry->device->bars[entry->bar].decoded != entry->base)
            __builtin_trap();
        for (unsigned j = 0; j < i; j++) {
            const struct pci_decoded_bar *other = &bus->decoded[j];
            if (entry->base < other->base + other->size && other->base < entry->base + entry->size)
                __builtin_trap();
        }
    }
    if (fixture->device.bar_accesses_outside)
        __builtin_trap();
}

static void check_msix(void)
{
    struct msix *msix = &fixture->device.msix;
    /* Nothing stays pending once nothing masks it. */
    for (unsigned vector = 0; vector < msix->vector_count; vector++) {
        bool masked = msix->function_masked || (msix->table[vector].control & MSIX_VECTOR_MASKED);
        if (msix->enabled && !masked && msix_is_pending(msix, vector))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t sizes[8] = {1, 2, 4, 8, 3, 0, 16, 5};
    fixture = pci_fixture_create();
    for (unsigned steps = 0; size > 0 && steps < 512; steps++) {
        uint8_t op = *data++;
        size--;
        uint32_t access = sizes[(op >> 3) & 7];
        uint32_t where = take32(&data, &size);
        uint8_t value[16] = {0};
        uint8_t out[16];
        unsigned kind = op & 7;
        if (kind == 2 || kind == 4 || kind == 6 || kind == 0) {
            size_t n = size < sizeof(value) ? size : sizeof(value);
            n = n < access ? n : access;
            memcpy(value, data, n);
            data += n;
            size -= n;
        }
        switch (kind) {
        case 0:
            io_bus_write(&fixture->pio, 0xcf8 + (where & 7), value, access);
            break;
        case 1:
            io_bus_read(&fixture->pio, 0xcf8 + (where & 7), out, access);
            break;
        case 2:
            io_bus_write(&fixture->pio, 0xcf8 + (where & 7), value, access);
            break;
        case 3:
            io_bus_read(&fixture->mmio, LAYOUT_PCI_ECAM_START + (where & 0xfffff), out, access);
            break;
        case 4:
            io_bus_write(&fixture->mmio, LAYOUT_PCI_ECAM_START + (where & 0xfffff), value, access);
            break;
        case 5:
            /* Low half of `where`: the 32-bit window; top bit: the 64-bit window's first 2 GiB. */
            io_bus_read(&fixture->mmio,
                        where & 0x80000000u ? PCI_FIXTURE_MMIO64_BASE + (where & 0x7fffffff)
                                            : LAYOUT_PCI_MMIO32_START + (where & 0x1fffffff),
                        out, access);
            break;
        case 6:
            io_bus_write(&fixture->mmio,
                         where & 0x80000000u ? PCI_FIXTURE_MMIO64_BASE + (where & 0x7fffffff)
                                             : LAYOUT_PCI_MMIO32_START + (where & 0x1fffffff),
                         value, access);
            break;
        default: {
            struct msix *msix = &fixture->device.msix;
            unsigned vector = where & 0xf;
            unsigned before = fixture->device.delivery_count;
            enum msix_fire_result result = msix_vector_fire(msix, vector);
            if ((result == MSIX_DELIVERED) != (fixture->device.delivery_count == before + 1) &&
                before < PCI_TEST_MAX_EVENTS)
                __builtin_trap();
            if (result == MSIX_PENDING && !msix_is_pending(msix, vector))
                __builtin_trap();
            if ((result == MSIX_NO_VECTOR) != (vector >= PCI_TEST_VECTORS))
                __builtin_trap();
            break;
        }
        }
        check_decoding();
        check_msix();
    }
    pci_fixture_destroy(fixture);
    return 0;
}
