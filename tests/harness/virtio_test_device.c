#include "harness/virtio_test_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_config_read(void *opaque, uint32_t offset, void *data, uint32_t size)
{
    struct virtio_test_device *device = opaque;
    if (offset > VIRTIO_TEST_CONFIG_SIZE || size > VIRTIO_TEST_CONFIG_SIZE - offset)
        abort(); /* the transport must have bounded the access */
    pthread_mutex_lock(&device->lock);
    memcpy(data, &device->config[offset], size);
    pthread_mutex_unlock(&device->lock);
}

static void test_config_write(void *opaque, uint32_t offset, const void *data, uint32_t size)
{
    struct virtio_test_device *device = opaque;
    if (offset > VIRTIO_TEST_CONFIG_SIZE || size > VIRTIO_TEST_CONFIG_SIZE - offset)
        abort();
    pthread_mutex_lock(&device->lock);
    for (uint32_t i = 0; i < size; i++)
        if (offset + i >= VIRTIO_TEST_CONFIG_SIZE / 2)
            device->config[offset + i] = ((const uint8_t *)data)[i];
    pthread_mutex_unlock(&device->lock);
}

static int test_activate(void *opaque, uint64_t features, struct virtq *queues, uint16_t queue_count)
{
    struct virtio_test_device *device = opaque;
    if (queue_count != VIRTIO_TEST_QUEUES || queues != device->transport.queues)
        abort();
    pthread_mutex_lock(&device->lock);
    device->activations++;
    device->activated_features = features;
    device->active = !device->fail_activate;
    int result = device->fail_activate ? -1 : 0;
    pthread_mutex_unlock(&device->lock);
    return result;
}

static void test_kick(void *opaque, uint16_t index)
{
    struct virtio_test_device *device = opaque;
    if (index >= VIRTIO_TEST_QUEUES)
        abort();
    pthread_mutex_lock(&device->lock);
    if (!device->active)
        abort(); /* kicks reach only an activated device */
    device->kicks[index]++;
    pthread_mutex_unlock(&device->lock);
}

static void test_reset(void *opaque)
{
    struct virtio_test_device *device = opaque;
    pthread_mutex_lock(&device->lock);
    device->resets++;
    device->active = false;
    memset(&device->config[VIRTIO_TEST_CONFIG_SIZE / 2], 0, VIRTIO_TEST_CONFIG_SIZE / 2);
    pthread_mutex_unlock(&device->lock);
}

static void test_pause(void *opaque)
{
    struct virtio_test_device *device = opaque;
    pthread_mutex_lock(&device->lock);
    if (!device->active)
        abort(); /* the transport pauses only an activated device */
    device->pauses++;
    pthread_mutex_unlock(&device->lock);
}

static void test_resume(void *opaque)
{
    struct virtio_test_device *device = opaque;
    pthread_mutex_lock(&device->lock);
    if (!device->active)
        abort();
    device->resumes++;
    pthread_mutex_unlock(&device->lock);
}

static const struct virtio_device_ops test_ops = {
    .config_read = test_config_read,
    .config_write = test_config_write,
    .activate = test_activate,
    .kick = test_kick,
    .reset = test_reset,
    .pause = test_pause,
    .resume = test_resume,
};

static int queue_of_fd(struct virtio_test_device *device, int event_fd)
{
    for (uint16_t i = 0; i < VIRTIO_TEST_QUEUES; i++)
        if (virtio_pci_queue_kick_fd(&device->transport, i) == event_fd)
            return i;
    abort();
}

static int test_ioeventfd_assign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    struct virtio_test_device *device = opaque;
    int queue = queue_of_fd(device, event_fd);
    if (device->ioeventfd_address[queue] != PCI_BAR_UNMAPPED || match->length != 2)
        abort();
    device->ioeventfd_address[queue] = match->address;
    device->ioeventfd_assigns++;
    return 0;
}

static int test_ioeventfd_deassign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    struct virtio_test_device *device = opaque;
    int queue = queue_of_fd(device, event_fd);
    if (device->ioeventfd_address[queue] != match->address)
        abort();
    device->ioeventfd_address[queue] = PCI_BAR_UNMAPPED;
    return 0;
}

static const struct pci_ioeventfd_ops test_ioeventfd_ops = {
    .assign = test_ioeventfd_assign,
    .deassign = test_ioeventfd_deassign,
};

static void test_vector_configure(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    (void)opaque, (void)vector, (void)address, (void)data;
}

static void test_vector_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct virtio_test_device *device = opaque;
    (void)address, (void)data;
    if (vector > VIRTIO_TEST_QUEUES)
        abort();
    pthread_mutex_lock(&device->lock);
    device->deliveries[vector]++;
    device->delivery_count++;
    pthread_mutex_unlock(&device->lock);
}

static const struct msix_delivery_ops test_delivery = {
    .vector_configure = test_vector_configure,
    .vector_signal = test_vector_signal,
};

void virtio_test_device_init(struct virtio_test_device *device, const struct guest_memory *memory)
{
    memset(device, 0, sizeof(*device));
    pthread_mutex_init(&device->lock, NULL);
    for (unsigned i = 0; i < VIRTIO_TEST_CONFIG_SIZE / 2; i++)
        device->config[i] = (uint8_t)(0xa0 + i);
    for (unsigned i = 0; i < VIRTIO_TEST_QUEUES; i++)
        device->ioeventfd_address[i] = PCI_BAR_UNMAPPED;
    const struct virtio_device_info info = {
        .device_type = VIRTIO_TEST_DEVICE_TYPE,
        .class_code = 0xff0000,
        .queue_count = VIRTIO_TEST_QUEUES,
        .queue_max_size = VIRTIO_TEST_QUEUE_MAX,
        .config_size = VIRTIO_TEST_CONFIG_SIZE,
        .features = VIRTIO_TEST_FEATURES,
    };
    struct error error;
    if (virtio_pci_init(&device->transport, &info, &test_ops, device, memory, &test_ioeventfd_ops, device,
                        &test_delivery, device, &error) < 0) {
        fprintf(stderr, "virtio_test_device_init: %s\n", error.message);
        abort();
    }
}

void virtio_test_device_destroy(struct virtio_test_device *device)
{
    virtio_pci_destroy(&device->transport);
    pthread_mutex_destroy(&device->lock);
}

struct virtq *virtio_test_device_queue(struct virtio_test_device *device, uint16_t index)
{
    return &device->transport.queues[index];
}
