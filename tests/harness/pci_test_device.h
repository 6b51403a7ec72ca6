#ifndef KESTREL_TESTS_HARNESS_PCI_TEST_DEVICE_H
#define KESTREL_TESTS_HARNESS_PCI_TEST_DEVICE_H

/*
 * A PCI function for tests and fuzzing, laid out as the future virtio-pci
 * transport will be: BAR 0 a 32-bit 4 KiB register block, BAR 2 a 64-bit
 * 16 KiB block with the MSI-X table at 0 and the PBA at 0x2000, and an MSI-X
 * capability of PCI_TEST_VECTORS vectors. Register i of BAR 0 (dword i < 64)
 * is scratch; a write of v to the doorbell at 0x100 fires vector v. The
 * doorbell also has an ioeventfd (as a virtio-pci queue notification would)
 * that moves with BAR 0, registered with a recorder that aborts on a second
 * registration of one address or the removal of an unknown one. It records
 * every BAR map/unmap and every MSI-X delivery for the tests to check.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/msix.h"
#include "pci/pci_device.h"
#include "pci/pci_ioeventfd.h"

enum {
    PCI_TEST_VENDOR_ID = 0x1234,
    PCI_TEST_DEVICE_ID = 0x11e8,
    PCI_TEST_VECTORS = 8,
    PCI_TEST_REGISTER_BAR = 0,
    PCI_TEST_REGISTER_BAR_SIZE = 0x1000,
    PCI_TEST_DOORBELL = 0x100,
    PCI_TEST_MSIX_BAR = 2,
    PCI_TEST_MSIX_BAR_SIZE = 0x4000,
    PCI_TEST_PBA_OFFSET = 0x2000,
    PCI_TEST_MAX_EVENTS = 64,
    PCI_TEST_DOORBELL_FD = 1000, /* never used as a file: the recorder only compares it */
};

struct pci_test_event {
    enum { PCI_TEST_UNMAPPED, PCI_TEST_MAPPED } kind;
    unsigned bar;
    uint64_t address;
};

struct pci_test_delivery {
    unsigned vector;
    uint64_t address;
    uint32_t data;
};

struct pci_test_device {
    struct pci_device pci;
    struct msix msix;
    pthread_mutex_t lock; /* guards everything below */
    uint32_t registers[64];
    struct pci_test_event events[PCI_TEST_MAX_EVENTS];
    unsigned event_count;
    struct pci_test_delivery deliveries[PCI_TEST_MAX_EVENTS];
    unsigned delivery_count;
    unsigned configure_count;
    uint64_t routed_address[PCI_TEST_VECTORS];
    uint32_t routed_data[PCI_TEST_VECTORS];
    unsigned bar_accesses_outside; /* bar_read/bar_write with an offset past the BAR: must stay 0 */
    unsigned resets;
    struct pci_bar_ioeventfds doorbell_ioeventfds;
    uint64_t ioeventfd_address;   /* where the doorbell's ioeventfd is registered, or PCI_BAR_UNMAPPED */
    unsigned ioeventfd_assigns;
};

/* Aborts on setup failure (a test bug). */
void pci_test_device_init(struct pci_test_device *device);
void pci_test_device_destroy(struct pci_test_device *device);

/* Forgets the recorded events and deliveries. */
void pci_test_device_clear_records(struct pci_test_device *device);

#endif
