#ifndef KESTREL_PCI_PCI_HOST_BRIDGE_H
#define KESTREL_PCI_PCI_HOST_BRIDGE_H

/*
 * The host bridge at 00:00.0: a header-only function (class 0x0600, no BARs,
 * no capabilities) with Red Hat's "QEMU PCIe host bridge" id 1b36:0008, a
 * neutral id no guest driver or quirk binds to. Linux's type 1 probe wants
 * a host bridge (or an Intel/Compaq vendor id) on bus 0 before it trusts
 * 0xCF8/0xCFC.
 */

#include "pci/pci_device.h"

enum {
    PCI_HOST_BRIDGE_VENDOR_ID = 0x1b36,
    PCI_HOST_BRIDGE_DEVICE_ID = 0x0008,
    PCI_HOST_BRIDGE_CLASS = 0x060000,
};

void pci_host_bridge_init(struct pci_device *device);

#endif
