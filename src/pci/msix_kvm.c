#include "pci/msix_kvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/kvm_eventfd.h"

/* Failures here are guest-triggered (a rewrite of a vector), so they are rate-limited. */
static void report(struct msix_kvm *delivery, const char *what, unsigned vector, int result)
{
    pthread_mutex_lock(&delivery->error_lock);
    log_ratelimited(&delivery->error_limit, "MSI-X vector %u: %s: %s", vector, what, strerror(-result));
    pthread_mutex_unlock(&delivery->error_lock);
}

static void msix_kvm_configure(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct msix_kvm *delivery = opaque;
    if (vector >= delivery->vector_count || delivery->vectors[vector].gsi < 0)
        return;
    int result = gsi_routing_set_msi(delivery->routing, (unsigned)delivery->vectors[vector].gsi, address, data);
    if (result < 0)
        report(delivery, "KVM_SET_GSI_ROUTING", vector, result);
}

static void msix_kvm_signal(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    struct msix_kvm *delivery = opaque;
    if (vector >= delivery->vector_count)
        return;
    const struct msix_kvm_vector *entry = &delivery->vectors[vector];
    if (entry->irqfd_attached) {
        uint64_t one = 1;
        /* EAGAIN: the counter is saturated, so an interrupt is on its way anyway. */
        if (write(entry->event_fd, &one, sizeof(one)) == (ssize_t)sizeof(one) || errno == EAGAIN)
            return;
    }
    int result = kvm_signal_msi(delivery->vm, address, data);
    if (result < 0)
        report(delivery, "KVM_SIGNAL_MSI", vector, result);
}

static int msix_kvm_event_fd(void *opaque, unsigned vector)
{
    struct msix_kvm *delivery = opaque;
    if (vector >= delivery->vector_count || !delivery->vectors[vector].irqfd_attached)
        return -1;
    return delivery->vectors[vector].event_fd;
}

const struct msix_delivery_ops msix_kvm_delivery = {
    .vector_configure = msix_kvm_configure,
    .vector_signal = msix_kvm_signal,
    .vector_event_fd = msix_kvm_event_fd,
};

int msix_kvm_init(struct msix_kvm *delivery, const struct kvm_vm *vm, struct gsi_routing *routing,
                  unsigned vector_count, struct error *error)
{
    memset(delivery, 0, sizeof(*delivery));
    delivery->vm = vm;
    delivery->routing = routing;
    delivery->vectors = calloc(vector_count, sizeof(*delivery->vectors));
    if (!delivery->vectors)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for MSI-X vectors");
    pthread_mutex_init(&delivery->error_lock, NULL);
    delivery->vector_count = vector_count;
    for (unsigned i = 0; i < vector_count; i++)
        delivery->vectors[i] = (struct msix_kvm_vector){.gsi = -1, .event_fd = -1};
    for (unsigned i = 0; i < vector_count; i++) {
        struct msix_kvm_vector *entry = &delivery->vectors[i];
        entry->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        entry->gsi = gsi_routing_allocate_msi(routing);
        if (entry->event_fd < 0 || entry->gsi < 0) {
            msix_kvm_destroy(delivery);
            return error_set(error, EXIT_STATUS_FAILURE, "MSI-X vector %u: no %s left", i,
                             entry->event_fd < 0 ? "eventfd" : "MSI GSI");
        }
        int result = kvm_irqfd_assign(vm, entry->event_fd, (uint32_t)entry->gsi);
        if (result < 0) {
            msix_kvm_destroy(delivery);
            return error_set(error, EXIT_STATUS_FAILURE, "KVM_IRQFD for MSI-X vector %u (GSI %d): %s", i,
                             entry->gsi, strerror(-result));
        }
        entry->irqfd_attached = true;
    }
    return 0;
}

void msix_kvm_destroy(struct msix_kvm *delivery)
{
    if (!delivery->vectors)
        return;
    for (unsigned i = 0; i < delivery->vector_count; i++) {
        struct msix_kvm_vector *entry = &delivery->vectors[i];
        if (entry->irqfd_attached)
            kvm_irqfd_deassign(delivery->vm, entry->event_fd, (uint32_t)entry->gsi);
        if (entry->event_fd >= 0)
            close(entry->event_fd);
        if (entry->gsi >= 0)
            gsi_routing_release_msi(delivery->routing, (unsigned)entry->gsi);
    }
    pthread_mutex_destroy(&delivery->error_lock);
    free(delivery->vectors);
    delivery->vectors = NULL;
}
