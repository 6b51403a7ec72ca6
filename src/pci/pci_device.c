#include "pci/pci_device.h"

#include <string.h>

static void put16(uint8_t *bytes, uint16_t value)
{
    bytes[0] = (uint8_t)value;
    bytes[1] = (uint8_t)(value >> 8);
}

uint16_t pci_config_get16(const struct pci_device *device, uint32_t offset)
{
    if (offset > PCI_CONFIG_SPACE_SIZE - 2)
        return 0;
    return (uint16_t)(device->config[offset] | device->config[offset + 1] << 8);
}

uint32_t pci_config_get32(const struct pci_device *device, uint32_t offset)
{
    if (offset > PCI_CONFIG_SPACE_SIZE - 4)
        return 0;
    return (uint32_t)pci_config_get16(device, offset) | (uint32_t)pci_config_get16(device, offset + 2) << 16;
}

void pci_device_init(struct pci_device *device, const struct pci_identity *identity, const struct pci_device_ops *ops,
                     void *opaque, const char *name)
{
    memset(device, 0, sizeof(*device));
    device->ops = ops;
    device->opaque = opaque;
    device->name = name;
    put16(device->config + PCI_VENDOR_ID, identity->vendor_id);
    put16(device->config + PCI_DEVICE_ID, identity->device_id);
    device->config[PCI_REVISION_ID] = identity->revision;
    device->config[PCI_CLASS_PROG] = (uint8_t)identity->class_code;
    device->config[PCI_CLASS_DEVICE] = (uint8_t)(identity->class_code >> 8);
    device->config[PCI_CLASS_DEVICE + 1] = (uint8_t)(identity->class_code >> 16);
    put16(device->config + PCI_SUBSYSTEM_VENDOR_ID, identity->subsystem_vendor_id);
    put16(device->config + PCI_SUBSYSTEM_ID, identity->subsystem_id);
    /* Header type 0, single function. No INTx pin: kestrel's PCI devices signal through MSI-X. */
    put16(device->write_mask + PCI_COMMAND,
          PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
              PCI_COMMAND_INTX_DISABLE);
    device->write_mask[PCI_CACHE_LINE_SIZE] = 0xff;
    device->write_mask[PCI_LATENCY_TIMER] = 0xff;
    device->write_mask[PCI_INTERRUPT_LINE] = 0xff;
    for (unsigned i = 0; i < PCI_BAR_COUNT; i++)
        device->bars[i].decoded = PCI_BAR_UNMAPPED;
    device->next_capability = PCI_CAPABILITY_START;
}

bool pci_device_add_bar(struct pci_device *device, unsigned bar, uint64_t size, bool is_64bit, bool prefetchable)
{
    unsigned last = is_64bit ? bar + 1 : bar;
    if (last >= PCI_BAR_COUNT || size < 16 || (size & (size - 1)) != 0 || (!is_64bit && size > 0x80000000ull))
        return false;
    for (unsigned i = bar; i <= last; i++) {
        if (device->bars[i].size || (i > 0 && device->bars[i - 1].is_64bit))
            return false;
    }
    device->bars[bar] = (struct pci_bar){
        .size = size,
        .is_64bit = is_64bit,
        .prefetchable = prefetchable,
        .decoded = PCI_BAR_UNMAPPED,
    };
    return true;
}

uint8_t pci_device_add_capability(struct pci_device *device, uint8_t id, const uint8_t *body, uint8_t length)
{
    unsigned offset = device->next_capability;
    if (length < 2 || offset + length > PCI_CONFIG_SPACE_SIZE)
        return 0;
    device->config[offset] = id;
    device->config[offset + 1] = 0;
    if (body)
        memcpy(device->config + offset + 2, body, length - 2u);
    if (device->last_capability)
        device->config[device->last_capability + 1] = (uint8_t)offset;
    else
        device->config[PCI_CAPABILITY_LIST] = (uint8_t)offset;
    device->config[PCI_STATUS] |= PCI_STATUS_CAPABILITY_LIST;
    device->last_capability = (uint8_t)offset;
    /* Capabilities start on dword boundaries (the low two bits of a pointer are reserved). */
    device->next_capability = (uint16_t)((offset + length + 3u) & ~3u);
    return (uint8_t)offset;
}

void pci_device_set_write_mask(struct pci_device *device, uint32_t offset, const uint8_t *mask, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++) {
        uint32_t at = offset + i;
        if (at >= PCI_CAPABILITY_START && at < PCI_CONFIG_SPACE_SIZE)
            device->write_mask[at] = mask[i];
    }
}

void pci_device_seal(struct pci_device *device)
{
    memcpy(device->power_on_config, device->config, sizeof(device->config));
}
