#ifndef KESTREL_KVM_KVM_VM_H
#define KESTREL_KVM_KVM_VM_H

/*
 * One KVM virtual machine: the in-kernel interrupt controllers (PIC, IOAPIC,
 * per-vCPU LAPIC) and PIT, guest RAM slots, and ISA interrupt lines.
 *
 * Legacy devices raise ISA lines with KVM_IRQ_LINE; GSI routing, irqfd and
 * ioeventfd live in kvm_irq_routing.h and kvm_eventfd.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kvm/kvm_system.h"
#include "mem/guest_memory.h"
#include "util/error.h"

struct kvm_vm {
    int fd;
};

/*
 * Creates the VM with its TSS/identity-map pages, one memory slot per
 * guest_memory region, and the in-kernel irqchip and PIT.
 */
int kvm_vm_create(struct kvm_vm *vm, const struct kvm_system *kvm, const struct guest_memory *memory,
                  struct error *error);
void kvm_vm_destroy(struct kvm_vm *vm);

/* Drives an interrupt line of the in-kernel PIC/IOAPIC; -1 with errno on failure. */
int kvm_vm_set_irq_line(struct kvm_vm *vm, unsigned irq, bool level);

/*
 * The guest's kvmclock (KVM_GET_CLOCK / KVM_SET_CLOCK), in ns: read at pause
 * and written back at resume, so the guest's clock does not run while paused.
 * -1 with errno on failure.
 */
int kvm_vm_get_clock(struct kvm_vm *vm, uint64_t *clock_ns);
int kvm_vm_set_clock(struct kvm_vm *vm, uint64_t clock_ns);

#endif
