#include "pci/pci_host_bridge.h"

#include <stddef.h>

static const struct pci_device_ops host_bridge_ops = {0};

void pci_host_bridge_init(struct pci_device *device)
{
    const struct pci_identity identity = {
        .vendor_id = PCI_HOST_BRIDGE_VENDOR_ID,
        .device_id = PCI_HOST_BRIDGE_DEVICE_ID,
        .class_code = PCI_HOST_BRIDGE_CLASS,
        .subsystem_vendor_id = 0x1af4, /* Red Hat's subsystem vendor id, as QEMU uses */
        .subsystem_id = 0x1100,
    };
    pci_device_init(device, &identity, &host_bridge_ops, NULL, "host-bridge");
    pci_device_seal(device);
}
