/*
 * MSI-X table, PBA and Message Control accesses in any order, against the
 * MSI-X component alone (67 vectors, so the PBA has a partial second
 * qword; table at BAR 0 offset 0, PBA at BAR 0 offset 0x800): any width and
 * offset in and around both regions, control writes, vector fires and
 * resets. Checked after every step: a delivery always carries the message
 * its route was last configured with, a fire's result matches the masks,
 * nothing stays pending once nothing masks it, and no pending bit exists
 * beyond the last vector.
 *
 * Input: records of
 *   op      bits 0-2 kind (0 BAR read, 1 BAR write, 2 Message Control write, 3 fire, 4 reset,
 *           5-7 BAR write of a whole entry), bits 3-5 access size index (1, 2, 4, 8, 3, 0, 16, 5),
 *           bit 6 BAR 1 instead of BAR 0
 *   2 bytes offset (or vector, or control value), then value bytes for writes
 */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pci/msix.h"
#include "pci/pci_config.h"

enum { VECTORS = 67, PBA_OFFSET = 0x800 };

static struct msix msix;
static struct pci_device device;
static uint64_t routed_address[VECTORS];
static uint32_t routed_data[VECTORS];
static bool routed[VECTORS];
static unsigned deliveries;

static void fuzz_configure(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    (void)opaque;
    if (vector >= VECTORS)
        __builtin_trap();
    routed_address[vector] = address;
    routed_data[vector] = data;
    routed[vector] = true;
}

static void fuzz_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    (void)opaque;
    if (vector >= VECTORS || !routed[vector] || routed_address[vector] != address || routed_data[vector] != data)
        __builtin_trap();
    deliveries++;
}

static const struct msix_delivery_ops delivery = {.vector_configure = fuzz_configure, .vector_signal = fuzz_signal};

static void fuzz_config_written(struct pci_device *pci, uint32_t offset, uint32_t size)
{
    (void)pci;
    msix_config_written(&msix, offset, size);
}

static const struct pci_device_ops ops = {.config_written = fuzz_config_written};

static void check(void)
{
    for (unsigned vector = 0; vector < VECTORS; vector++) {
        const struct msix_entry *entry = &msix.table[vector];
        if (entry->control & ~(uint32_t)MSIX_VECTOR_MASKED)
            __builtin_trap();
        bool masked = msix.function_masked || (entry->control & MSIX_VECTOR_MASKED);
        if (msix.enabled && !masked && msix_is_pending(&msix, vector))
            __builtin_trap();
    }
    if (msix.pending[1] >> (VECTORS - 64))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t sizes[8] = {1, 2, 4, 8, 3, 0, 16, 5};
    struct error error;
    const struct pci_identity identity = {.vendor_id = 0x1234, .device_id = 1};
    pci_device_init(&device, &identity, &ops, NULL, "fuzz");
    if (msix_init(&msix, VECTORS, 0, 0, 0, PBA_OFFSET, &delivery, NULL, &error) < 0 ||
        msix_add_capability(&msix, &device, &error) < 0)
        abort();
    pci_device_seal(&device);
    memset(routed, 0, sizeof(routed));
    deliveries = 0;
    for (unsigned steps = 0; size >= 3 && steps < 512; steps++) {
        uint8_t op = data[0];
        uint16_t where = (uint16_t)(data[1] | data[2] << 8);
        data += 3;
        size -= 3;
        uint32_t access = sizes[(op >> 3) & 7];
        unsigned bar = (op >> 6) & 1;
        uint8_t value[16] = {0}, out[16];
        size_t n = size < access ? size : access;
        if (n > sizeof(value))
            n = sizeof(value);
        switch (op & 7) {
        case 0:
            if (access <= sizeof(out))
                msix_bar_read(&msix, bar, where, out, access);
            break;
        case 2: {
            uint8_t control[2] = {(uint8_t)where, (uint8_t)(where >> 8)};
            pci_config_write(&device, msix.capability + 2u, control, 2);
            break;
        }
        case 3: {
            unsigned before = deliveries;
            enum msix_fire_result result = msix_vector_fire(&msix, where % 80);
            if ((result == MSIX_DELIVERED) != (deliveries == before + 1))
                __builtin_trap();
            if (result == MSIX_PENDING && !msix_is_pending(&msix, where % 80))
                __builtin_trap();
            break;
        }
        case 4:
            pci_config_reset(&device);
            msix_reset(&msix);
            memset(routed, 0, sizeof(routed));
            break;
        case 1:
            memcpy(value, data, n);
            data += n;
            size -= n;
            if (access <= sizeof(value))
                msix_bar_write(&msix, bar, where, value, access);
            break;
        default: {
            /* A whole entry as a driver writes it: address, data, then vector control. */
            uint32_t entry[4] = {0};
            size_t take = size < sizeof(entry) ? size : sizeof(entry);
            memcpy(entry, data, take);
            data += take;
            size -= take;
            uint32_t base = (where % VECTORS) * MSIX_ENTRY_SIZE;
            for (unsigned i = 0; i < 4; i++)
                msix_bar_write(&msix, 0, base + 4 * i, &entry[i], 4);
            break;
        }
        }
        check();
    }
    msix_destroy(&msix);
    return 0;
}
