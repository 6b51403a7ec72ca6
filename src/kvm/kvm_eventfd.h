#ifndef KESTREL_KVM_KVM_EVENTFD_H
#define KESTREL_KVM_KVM_EVENTFD_H

/*
 * Notifications that bypass user space: an irqfd injects the interrupt its
 * GSI routes to whenever its eventfd is written (KVM_IRQFD); an ioeventfd
 * turns a guest write to an address into an eventfd signal inside KVM, with
 * no exit to kestrel (KVM_IOEVENTFD) — a queue kick never reaches a vCPU
 * thread. KVM_SIGNAL_MSI delivers one MSI message directly, the fallback
 * when no route is set up.
 *
 * Each call returns 0 or a negative errno.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct kvm_vm;

/* KVM_CAP_IRQ_ROUTING, KVM_CAP_IRQFD and KVM_CAP_IOEVENTFD, or an error naming the missing one. */
int kvm_eventfd_check_capabilities(const struct kvm_vm *vm, struct error *error);

int kvm_irqfd_assign(const struct kvm_vm *vm, int event_fd, uint32_t gsi);
int kvm_irqfd_deassign(const struct kvm_vm *vm, int event_fd, uint32_t gsi);

struct kvm_ioeventfd_match {
    uint64_t address;
    uint32_t length;     /* 0 (any length), 1, 2, 4 or 8 */
    bool port_io;        /* PIO instead of MMIO */
    bool match_data;     /* signal only when the written value equals `data` */
    uint64_t data;
};

int kvm_ioeventfd_assign(const struct kvm_vm *vm, int event_fd, const struct kvm_ioeventfd_match *match);
int kvm_ioeventfd_deassign(const struct kvm_vm *vm, int event_fd, const struct kvm_ioeventfd_match *match);

int kvm_signal_msi(const struct kvm_vm *vm, uint64_t address, uint32_t data);

#endif
