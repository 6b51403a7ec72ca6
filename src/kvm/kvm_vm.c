#include "kvm/kvm_vm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * Intel VMX needs three pages for a real-mode TSS and one for an identity
 * page table, in guest physical space that is neither RAM nor device MMIO.
 * Just below the BIOS area at the top of the 32-bit hole, clear of the
 * IOAPIC and LAPIC pages. AMD ignores them.
 */
#define KVM_IDENTITY_MAP_GPA 0xfeffc000ull
#define KVM_TSS_GPA          0xfeffd000ull

static int map_memory(struct kvm_vm *vm, const struct guest_memory *memory, struct error *error);

int kvm_vm_create(struct kvm_vm *vm, const struct kvm_system *kvm, const struct guest_memory *memory,
                  struct error *error)
{
    vm->fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
    if (vm->fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_CREATE_VM: %s", strerror(errno));
    uint64_t identity_map = KVM_IDENTITY_MAP_GPA;
    if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_TSS_ADDR: %s", strerror(errno));
        goto fail;
    }
    /*
     * The memory slots go in before the irqchip: with the irqchip there first, the first
     * KVM_SET_USER_MEMORY_REGION waited 4-10 ms (an SRCU grace period, by its timing) where it takes 0.1-0.2 ms
     * before it, which was a third of kestrel's start (docs/benchmarks.md).
     */
    if (map_memory(vm, memory, error) < 0)
        goto fail;
    if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
        goto fail;
    }
    /* The dummy speaker port (0x61) keeps the PIT's gate in the kernel too. */
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_CREATE_PIT2: %s", strerror(errno));
        goto fail;
    }
    return 0;
fail:
    kvm_vm_destroy(vm);
    return -1;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
    if (vm->fd >= 0)
        close(vm->fd);
    vm->fd = -1;
}

static int map_memory(struct kvm_vm *vm, const struct guest_memory *memory, struct error *error)
{
    for (unsigned slot = 0; slot < memory->region_count; slot++) {
        const struct guest_memory_region *region = &memory->regions[slot];
        struct kvm_userspace_memory_region kvm_region = {
            .slot = slot,
            .guest_phys_addr = region->gpa,
            .memory_size = region->size,
            .userspace_addr = (uint64_t)(uintptr_t)region->host,
        };
        if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kvm_region) < 0)
            return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_USER_MEMORY_REGION slot %u (0x%llx+0x%llx): %s",
                             slot, (unsigned long long)region->gpa, (unsigned long long)region->size,
                             strerror(errno));
    }
    return 0;
}

int kvm_vm_set_irq_line(struct kvm_vm *vm, unsigned irq, bool level)
{
    struct kvm_irq_level line = {.irq = irq, .level = level ? 1 : 0};
    return ioctl(vm->fd, KVM_IRQ_LINE, &line);
}

int kvm_vm_get_clock(struct kvm_vm *vm, uint64_t *clock_ns)
{
    struct kvm_clock_data data;
    memset(&data, 0, sizeof(data));
    if (ioctl(vm->fd, KVM_GET_CLOCK, &data) < 0)
        return -1;
    *clock_ns = data.clock;
    return 0;
}

int kvm_vm_set_clock(struct kvm_vm *vm, uint64_t clock_ns)
{
    struct kvm_clock_data data;
    memset(&data, 0, sizeof(data));
    data.clock = clock_ns;
    return ioctl(vm->fd, KVM_SET_CLOCK, &data);
}
