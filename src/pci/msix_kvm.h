#ifndef KESTREL_PCI_MSIX_KVM_H
#define KESTREL_PCI_MSIX_KVM_H

/*
 * MSI-X delivery through KVM: each vector owns an MSI GSI in the VM's
 * routing table and an eventfd attached to it with KVM_IRQFD, so a signal is
 * one eventfd write and KVM injects the message the route carries. When the
 * guest rewrites a vector, its route follows (KVM_SET_GSI_ROUTING with the
 * whole table). Should an eventfd write ever fail, KVM_SIGNAL_MSI delivers
 * the message directly.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_vm.h"
#include "pci/msix.h"
#include "util/error.h"
#include "util/log.h"

struct msix_kvm_vector {
    int gsi;        /* -1: none, KVM_SIGNAL_MSI is used */
    int event_fd;
    bool irqfd_attached;
};

struct msix_kvm {
    const struct kvm_vm *vm;
    struct gsi_routing *routing;
    unsigned vector_count;
    struct msix_kvm_vector *vectors;
    pthread_mutex_t error_lock;
    struct log_ratelimit error_limit;
};

extern const struct msix_delivery_ops msix_kvm_delivery;

int msix_kvm_init(struct msix_kvm *delivery, const struct kvm_vm *vm, struct gsi_routing *routing,
                  unsigned vector_count, struct error *error);
void msix_kvm_destroy(struct msix_kvm *delivery);

#endif
