#include "vcpu_loop.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/regs_dump.h"
#include "util/checked_math.h"
#include "util/log.h"
#include "util/startup_clock.h"
#include "sandbox/sandbox.h"

static bool stop_with_error(struct vcpu_loop *loop)
{
    regs_dump_vcpu(loop->vcpu->fd, loop->vcpu->index);
    vm_stop_request(loop->stop, VM_STOP_ERROR);
    return false;
}

static bool handle_io(struct vcpu_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    uint32_t size = run->io.size;
    uint32_t count = run->io.count;
    uint64_t length;
    if ((size != 1 && size != 2 && size != 4) || !checked_mul_u64(size, count, &length) ||
        !range_within(run->io.data_offset, length, 0, loop->vcpu->run_size)) {
        log_error("vCPU %u: malformed port I/O exit (port 0x%x, size %u, count %u, offset 0x%llx)",
                  loop->vcpu->index, run->io.port, size, count, (unsigned long long)run->io.data_offset);
        return stop_with_error(loop);
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    /* String I/O (rep ins/outs) arrives as `count` back-to-back items to one port. */
    for (uint32_t i = 0; i < count; i++) {
        if (run->io.direction == KVM_EXIT_IO_OUT)
            io_bus_write(loop->pio, run->io.port, data + (size_t)i * size, size);
        else
            io_bus_read(loop->pio, run->io.port, data + (size_t)i * size, size);
    }
    return true;
}

static bool handle_mmio(struct vcpu_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    uint32_t length = run->mmio.len;
    if (length == 0 || length > sizeof(run->mmio.data)) {
        log_error("vCPU %u: malformed MMIO exit (address 0x%llx, length %u)", loop->vcpu->index,
                  (unsigned long long)run->mmio.phys_addr, length);
        return stop_with_error(loop);
    }
    if (run->mmio.is_write)
        io_bus_write(loop->mmio, run->mmio.phys_addr, run->mmio.data, length);
    else
        io_bus_read(loop->mmio, run->mmio.phys_addr, run->mmio.data, length);
    return true;
}

static bool handle_system_event(struct vcpu_loop *loop)
{
    switch (loop->vcpu->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_stop_request(loop->stop, VM_STOP_POWER_OFF);
        return false;
    case KVM_SYSTEM_EVENT_RESET:
        vm_stop_request(loop->stop, VM_STOP_RESET);
        return false;
    case KVM_SYSTEM_EVENT_CRASH:
        vm_stop_request(loop->stop, VM_STOP_PANIC);
        return false;
    default:
        /* Wakeup, suspend and the like need nothing from a VMM without them. */
        return true;
    }
}

bool vcpu_loop_handle_exit(struct vcpu_loop *loop)
{
    struct kvm_run *run = loop->vcpu->run;
    unsigned index = loop->vcpu->index;
    exit_stats_count(&loop->stats, run->exit_reason);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return handle_io(loop);
    case KVM_EXIT_MMIO:
        return handle_mmio(loop);
    case KVM_EXIT_HLT:
        /* The in-kernel LAPIC handles HLT; seeing it here means nothing to do but resume. */
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN:
        /* Only a vCPU stopping for another reason may still fault on its way out. */
        if (vm_stop_current(loop->stop) != VM_STOP_NONE)
            return false;
        log_error("guest triple fault on vCPU %u", index);
        return stop_with_error(loop);
    case KVM_EXIT_FAIL_ENTRY:
        log_error("KVM could not enter vCPU %u: hardware reason 0x%llx (CPU %u)", index,
                  (unsigned long long)run->fail_entry.hardware_entry_failure_reason, run->fail_entry.cpu);
        return stop_with_error(loop);
    case KVM_EXIT_INTERNAL_ERROR:
        log_error("KVM internal error on vCPU %u: suberror %u", index, run->internal.suberror);
        return stop_with_error(loop);
    case KVM_EXIT_SYSTEM_EVENT:
        return handle_system_event(loop);
    default: {
        const char *name = exit_stats_reason_name(run->exit_reason);
        log_error("vCPU %u: unexpected KVM exit %u (%s)", index, run->exit_reason, name ? name : "unnamed");
        return stop_with_error(loop);
    }
    }
}

void *vcpu_loop_thread(void *argument)
{
    sandbox_thread_enter(THREAD_KIND_VCPU);
    struct vcpu_loop *loop = argument;
    vm_stop_register_vcpu(loop->stop, loop->vcpu->run);
    /* Taken once, outside the loop: the measurement costs nothing per exit. */
    if (loop->first_run_ns)
        atomic_store_explicit(loop->first_run_ns, startup_clock_now_ns(), memory_order_relaxed);
    /* Registered first, so a pause requested from now on either kicks this vCPU or is seen here. */
    if (loop->pause)
        vm_pause_park_if_requested(loop->pause, loop->stop, loop->vcpu->run);
    while (vm_stop_current(loop->stop) == VM_STOP_NONE) {
        if (kvm_vcpu_run(loop->vcpu) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                exit_stats_count(&loop->stats, KVM_EXIT_INTR);
                /* Only here: KVM has finished any access it was in the middle of. */
                if (loop->pause)
                    vm_pause_park_if_requested(loop->pause, loop->stop, loop->vcpu->run);
                continue;
            }
            log_error("KVM_RUN on vCPU %u: %s", loop->vcpu->index, strerror(errno));
            vm_stop_request(loop->stop, VM_STOP_ERROR);
            break;
        }
        if (!vcpu_loop_handle_exit(loop))
            break;
    }
    return NULL;
}
