#include "kvm/kvm_vcpu.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int kvm_vcpu_create(struct kvm_vcpu *vcpu, const struct kvm_system *kvm, struct kvm_vm *vm, unsigned index,
                    struct error *error)
{
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->index = index;
    vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0) {
        vcpu->fd = -1;
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
    }
    void *run = mmap(NULL, (size_t)kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED) {
        int saved = errno;
        close(vcpu->fd);
        vcpu->fd = -1;
        return error_set(error, EXIT_STATUS_FAILURE, "mmap of vCPU %u's kvm_run: %s", index, strerror(saved));
    }
    vcpu->run = run;
    vcpu->run_size = kvm->vcpu_mmap_size;
    return 0;
}

void kvm_vcpu_destroy(struct kvm_vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, (size_t)vcpu->run_size);
    vcpu->run = NULL;
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    vcpu->fd = -1;
}

int kvm_vcpu_run(struct kvm_vcpu *vcpu)
{
    return ioctl(vcpu->fd, KVM_RUN, 0);
}
