#include "kvm/kvm_eventfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "kvm/kvm_vm.h"

static int vm_ioctl(const struct kvm_vm *vm, unsigned long request, void *argument)
{
    return ioctl(vm->fd, request, argument) < 0 ? -errno : 0;
}

int kvm_eventfd_check_capabilities(const struct kvm_vm *vm, struct error *error)
{
    static const struct {
        long capability;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
        {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
        {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    };
    for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (ioctl(vm->fd, KVM_CHECK_EXTENSION, required[i].capability) <= 0)
            return error_set(error, EXIT_STATUS_FAILURE, "this host's KVM lacks %s", required[i].name);
    }
    return 0;
}

static int irqfd(const struct kvm_vm *vm, int event_fd, uint32_t gsi, uint32_t flags)
{
    struct kvm_irqfd request = {.fd = (uint32_t)event_fd, .gsi = gsi, .flags = flags};
    return vm_ioctl(vm, KVM_IRQFD, &request);
}

int kvm_irqfd_assign(const struct kvm_vm *vm, int event_fd, uint32_t gsi)
{
    return irqfd(vm, event_fd, gsi, 0);
}

int kvm_irqfd_deassign(const struct kvm_vm *vm, int event_fd, uint32_t gsi)
{
    return irqfd(vm, event_fd, gsi, KVM_IRQFD_FLAG_DEASSIGN);
}

static int ioeventfd(const struct kvm_vm *vm, int event_fd, const struct kvm_ioeventfd_match *match,
                     uint32_t extra_flags)
{
    struct kvm_ioeventfd request = {
        .datamatch = match->match_data ? match->data : 0,
        .addr = match->address,
        .len = match->length,
        .fd = event_fd,
        .flags = extra_flags | (match->port_io ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (match->match_data ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
    };
    return vm_ioctl(vm, KVM_IOEVENTFD, &request);
}

int kvm_ioeventfd_assign(const struct kvm_vm *vm, int event_fd, const struct kvm_ioeventfd_match *match)
{
    return ioeventfd(vm, event_fd, match, 0);
}

int kvm_ioeventfd_deassign(const struct kvm_vm *vm, int event_fd, const struct kvm_ioeventfd_match *match)
{
    return ioeventfd(vm, event_fd, match, KVM_IOEVENTFD_FLAG_DEASSIGN);
}

int kvm_signal_msi(const struct kvm_vm *vm, uint64_t address, uint32_t data)
{
    struct kvm_msi message = {
        .address_lo = (uint32_t)address,
        .address_hi = (uint32_t)(address >> 32),
        .data = data,
    };
    /* KVM_SIGNAL_MSI returns >0 when delivered, 0 when the guest blocked it. */
    int result = ioctl(vm->fd, KVM_SIGNAL_MSI, &message);
    return result < 0 ? -errno : 0;
}
