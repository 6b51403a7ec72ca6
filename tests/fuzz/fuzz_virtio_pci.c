/*
 * A hostile virtio driver against the virtio-pci transport on kestrel's PCI
 * bus: common-config register sequences at any width and offset, writes
 * anywhere in BAR 0 (notify, ISR, device config, MSI-X), the PCI_CFG window
 * with any BAR, offset and length, guest RAM rewritten under enabled rings,
 * and the device side popping, completing, interrupting and reporting broken
 * queues. Checked after every step: the status never holds DRIVER_OK without
 * FEATURES_OK, the driver's features stay within those offered, an enabled
 * queue has a size the device accepts, and the test device (which aborts on
 * an out-of-bounds config access or a kick while inactive) is never misused.
 *
 * Input: records of
 *   op      bits 0-2 kind (0 common write, 1 BAR read, 2 BAR write, 3 PCI_CFG window write,
 *           4 PCI_CFG window read, 5 guest RAM write, 6 device pops and completes, 7 device event),
 *           bits 3-5 access size index (1, 2, 4, 8, 3, 0, 16, 5)
 *   2 bytes offset (BAR offset; common: & 0x3f; RAM: * 8 from low RAM's start;
 *           window: the target offset, with the BAR number in op bit 6 set meaning BAR 1)
 *   `size` value bytes for writes (RAM writes: always 8)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit/virtio_pci_fixture.h"

static struct virtio_fixture *fixture;
static const uint32_t sizes[8] = {1, 2, 4, 8, 3, 0, 16, 5};

static uint64_t take(const uint8_t **data, size_t *size, size_t bytes)
{
    uint64_t value = 0;
    size_t n = *size < bytes ? *size : bytes;
    n = n < 8 ? n : 8;
    memcpy(&value, *data, n);
    *data += *size < bytes ? *size : bytes;
    *size -= *size < bytes ? *size : bytes;
    return value;
}

static void check_invariants(void)
{
    const struct virtio_pci *transport = &fixture->device.transport;
    uint8_t status = transport->status;
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK))
        __builtin_trap();
    if (transport->driver_features & ~transport->offered)
        __builtin_trap();
    for (unsigned i = 0; i < VIRTIO_TEST_QUEUES; i++) {
        const struct virtio_pci_queue_registers *queue = &transport->queue_registers[i];
        if (queue->enabled && (queue->size == 0 || queue->size > VIRTIO_TEST_QUEUE_MAX))
            __builtin_trap();
        if (queue->enabled != transport->queues[i].enabled)
            __builtin_trap();
    }
}

static void device_service(unsigned index)
{
    struct virtq *queue = virtio_test_device_queue(&fixture->device, (uint16_t)(index % VIRTIO_TEST_QUEUES));
    if (!fixture->device.active || !queue->enabled)
        return;
    struct iovec segments[8];
    for (unsigned i = 0; i < 4; i++) {
        struct virtq_request request = {.segments = segments, .segment_capacity = 8};
        enum virtq_pop_result result = virtq_pop(queue, &request);
        if (result == VIRTQ_POP_BROKEN)
            virtio_pci_queue_broken(&fixture->device.transport, (uint16_t)(index % VIRTIO_TEST_QUEUES));
        if (result != VIRTQ_POP_OK)
            break;
        if (virtq_push(queue, &request, 0) < 0)
            __builtin_trap(); /* a request popped just now must complete */
    }
    if (virtq_should_notify(queue))
        virtio_pci_queue_interrupt(&fixture->device.transport, (uint16_t)(index % VIRTIO_TEST_QUEUES));
}

static void window_access(bool write, uint8_t bar, uint32_t target, uint32_t length, uint64_t value)
{
    unsigned cap = fixture_find_capability(fixture, 0x09, VIRTIO_PCI_CAP_PCI_CFG);
    fixture_ecam_write(fixture, cap + 4, bar, 1);
    fixture_ecam_write(fixture, cap + 8, target, 4);
    fixture_ecam_write(fixture, cap + 12, length, 4);
    if (write)
        fixture_ecam_write(fixture, cap + 16, (uint32_t)value, 4);
    else
        (void)fixture_ecam_read(fixture, cap + 16, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fixture)
        fixture = virtio_fixture_create();
    /* Each input starts from a powered-on, mapped device with MSI-X on. */
    pci_bus_reset(&fixture->bus);
    fixture_ecam_write(fixture, PCI_BASE_ADDRESS_0, (uint32_t)VIRTIO_FIXTURE_BAR, 4);
    fixture_ecam_write(fixture, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    fixture_enable_msix(fixture);
    memset(fixture->memory.regions[0].host, 0, 1 << 19);

    for (unsigned steps = 0; size > 0 && steps < 512; steps++) {
        uint8_t op = (uint8_t)take(&data, &size, 1);
        uint32_t access = sizes[(op >> 3) & 7];
        uint32_t offset = (uint32_t)take(&data, &size, 2);
        uint8_t buffer[16] = {0};
        switch (op & 7) {
        case 0:
            for (uint32_t i = 0; i < access; i++)
                buffer[i] = (uint8_t)take(&data, &size, 1);
            io_bus_write(&fixture->mmio, VIRTIO_FIXTURE_BAR + (offset & 0x3f), buffer, access);
            break;
        case 1:
            io_bus_read(&fixture->mmio, VIRTIO_FIXTURE_BAR + offset, buffer, access);
            break;
        case 2:
            for (uint32_t i = 0; i < access; i++)
                buffer[i] = (uint8_t)take(&data, &size, 1);
            io_bus_write(&fixture->mmio, VIRTIO_FIXTURE_BAR + offset, buffer, access);
            break;
        case 3:
        case 4: {
            uint64_t value = take(&data, &size, 4);
            window_access((op & 7) == 3, (op & 0x40) ? 1 : 0, offset, access, value);
            break;
        }
        case 5: {
            uint64_t value = take(&data, &size, 8);
            memcpy(fixture->memory.regions[0].host + (uint64_t)offset * 8 % (1 << 19), &value, 8);
            break;
        }
        case 6:
            device_service(offset);
            break;
        default:
            if (offset % 3 == 0)
                virtio_pci_config_changed(&fixture->device.transport);
            else if (offset % 3 == 1)
                virtio_pci_queue_interrupt(&fixture->device.transport, (uint16_t)(offset >> 2));
            else
                virtio_pci_queue_broken(&fixture->device.transport, (uint16_t)(offset >> 2));
            break;
        }
        check_invariants();
    }
    return 0;
}
