#include "harness/pci_test_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pci_test_device *from_pci(struct pci_device *pci)
{
    return pci->opaque;
}

/* True (and counted) when the bus handed over an access beyond the BAR: the tests require none. */
static bool outside(struct pci_test_device *device, unsigned bar, uint64_t offset, uint32_t size)
{
    uint64_t bar_size = bar == PCI_TEST_REGISTER_BAR ? PCI_TEST_REGISTER_BAR_SIZE : PCI_TEST_MSIX_BAR_SIZE;
    if (offset < bar_size && size <= bar_size - offset)
        return false;
    pthread_mutex_lock(&device->lock);
    device->bar_accesses_outside++;
    pthread_mutex_unlock(&device->lock);
    return true;
}

static void test_bar_read(struct pci_device *pci, unsigned bar, uint64_t offset, void *data, uint32_t size)
{
    struct pci_test_device *device = from_pci(pci);
    if (outside(device, bar, offset, size))
        return;
    if (msix_bar_read(&device->msix, bar, offset, data, size))
        return;
    if (bar == PCI_TEST_REGISTER_BAR && size == 4 && offset % 4 == 0 && offset / 4 < 64) {
        pthread_mutex_lock(&device->lock);
        memcpy(data, &device->registers[offset / 4], 4);
        pthread_mutex_unlock(&device->lock);
    }
}

static void test_bar_write(struct pci_device *pci, unsigned bar, uint64_t offset, const void *data, uint32_t size)
{
    struct pci_test_device *device = from_pci(pci);
    if (outside(device, bar, offset, size))
        return;
    if (msix_bar_write(&device->msix, bar, offset, data, size))
        return;
    if (bar != PCI_TEST_REGISTER_BAR || size != 4 || offset % 4 != 0)
        return;
    uint32_t value;
    memcpy(&value, data, 4);
    if (offset == PCI_TEST_DOORBELL) {
        msix_vector_fire(&device->msix, value);
    } else if (offset / 4 < 64) {
        pthread_mutex_lock(&device->lock);
        device->registers[offset / 4] = value;
        pthread_mutex_unlock(&device->lock);
    }
}

static void record(struct pci_test_device *device, int kind, unsigned bar, uint64_t address)
{
    pthread_mutex_lock(&device->lock);
    if (device->event_count < PCI_TEST_MAX_EVENTS)
        device->events[device->event_count++] = (struct pci_test_event){.kind = kind, .bar = bar, .address = address};
    pthread_mutex_unlock(&device->lock);
}

static void test_bar_unmapped(struct pci_device *pci, unsigned bar, uint64_t address)
{
    struct pci_test_device *device = from_pci(pci);
    record(device, PCI_TEST_UNMAPPED, bar, address);
    if (bar == PCI_TEST_REGISTER_BAR)
        pci_bar_ioeventfds_unmapped(&device->doorbell_ioeventfds);
}

static void test_bar_mapped(struct pci_device *pci, unsigned bar, uint64_t address)
{
    struct pci_test_device *device = from_pci(pci);
    record(device, PCI_TEST_MAPPED, bar, address);
    if (bar == PCI_TEST_REGISTER_BAR)
        pci_bar_ioeventfds_mapped(&device->doorbell_ioeventfds, address);
}

/* KVM would refuse a second registration (EEXIST); the tests want it never tried. */
static int test_ioeventfd_assign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    struct pci_test_device *device = opaque;
    if (event_fd != PCI_TEST_DOORBELL_FD || device->ioeventfd_address != PCI_BAR_UNMAPPED || match->length != 4)
        abort();
    device->ioeventfd_address = match->address;
    device->ioeventfd_assigns++;
    return 0;
}

static int test_ioeventfd_deassign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    struct pci_test_device *device = opaque;
    if (event_fd != PCI_TEST_DOORBELL_FD || device->ioeventfd_address != match->address)
        abort();
    device->ioeventfd_address = PCI_BAR_UNMAPPED;
    return 0;
}

static const struct pci_ioeventfd_ops test_ioeventfd_ops = {
    .assign = test_ioeventfd_assign,
    .deassign = test_ioeventfd_deassign,
};

static void test_config_written(struct pci_device *pci, uint32_t offset, uint32_t size)
{
    msix_config_written(&from_pci(pci)->msix, offset, size);
}

static void test_reset(struct pci_device *pci)
{
    struct pci_test_device *device = from_pci(pci);
    msix_reset(&device->msix);
    pthread_mutex_lock(&device->lock);
    memset(device->registers, 0, sizeof(device->registers));
    device->resets++;
    pthread_mutex_unlock(&device->lock);
}

static const struct pci_device_ops test_ops = {
    .bar_read = test_bar_read,
    .bar_write = test_bar_write,
    .bar_unmapped = test_bar_unmapped,
    .bar_mapped = test_bar_mapped,
    .config_written = test_config_written,
    .reset = test_reset,
};

static void test_configure(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct pci_test_device *device = opaque;
    pthread_mutex_lock(&device->lock);
    device->configure_count++;
    if (vector < PCI_TEST_VECTORS) {
        device->routed_address[vector] = address;
        device->routed_data[vector] = data;
    }
    pthread_mutex_unlock(&device->lock);
}

static void test_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct pci_test_device *device = opaque;
    pthread_mutex_lock(&device->lock);
    /* Delivery must use the message the route carries. */
    if (vector >= PCI_TEST_VECTORS || device->routed_address[vector] != address || device->routed_data[vector] != data)
        abort();
    if (device->delivery_count < PCI_TEST_MAX_EVENTS)
        device->deliveries[device->delivery_count++] =
            (struct pci_test_delivery){.vector = vector, .address = address, .data = data};
    pthread_mutex_unlock(&device->lock);
}

static const struct msix_delivery_ops test_delivery = {
    .vector_configure = test_configure,
    .vector_signal = test_signal,
};

void pci_test_device_init(struct pci_test_device *device)
{
    memset(device, 0, sizeof(*device));
    pthread_mutex_init(&device->lock, NULL);
    const struct pci_identity identity = {
        .vendor_id = PCI_TEST_VENDOR_ID,
        .device_id = PCI_TEST_DEVICE_ID,
        .class_code = 0xff0000,
        .revision = 1,
        .subsystem_vendor_id = PCI_TEST_VENDOR_ID,
        .subsystem_id = 1,
    };
    struct error error;
    pci_device_init(&device->pci, &identity, &test_ops, device, "pci-test");
    if (!pci_device_add_bar(&device->pci, PCI_TEST_REGISTER_BAR, PCI_TEST_REGISTER_BAR_SIZE, false, false) ||
        !pci_device_add_bar(&device->pci, PCI_TEST_MSIX_BAR, PCI_TEST_MSIX_BAR_SIZE, true, false) ||
        msix_init(&device->msix, PCI_TEST_VECTORS, PCI_TEST_MSIX_BAR, 0, PCI_TEST_MSIX_BAR, PCI_TEST_PBA_OFFSET,
                  &test_delivery, device, &error) < 0 ||
        msix_add_capability(&device->msix, &device->pci, &error) < 0) {
        fprintf(stderr, "pci_test_device_init failed\n");
        abort();
    }
    pci_device_seal(&device->pci);
    device->ioeventfd_address = PCI_BAR_UNMAPPED;
    pci_bar_ioeventfds_init(&device->doorbell_ioeventfds, PCI_TEST_REGISTER_BAR_SIZE, &test_ioeventfd_ops, device);
    if (pci_bar_ioeventfds_add(&device->doorbell_ioeventfds, PCI_TEST_DOORBELL, 4, false, 0, PCI_TEST_DOORBELL_FD) < 0)
        abort();
}

void pci_test_device_destroy(struct pci_test_device *device)
{
    msix_destroy(&device->msix);
    pthread_mutex_destroy(&device->lock);
}

void pci_test_device_clear_records(struct pci_test_device *device)
{
    pthread_mutex_lock(&device->lock);
    device->event_count = 0;
    device->delivery_count = 0;
    device->configure_count = 0;
    pthread_mutex_unlock(&device->lock);
}
