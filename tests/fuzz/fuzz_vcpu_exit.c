/*
 * The vCPU exit dispatcher on arbitrary kvm_run contents: port I/O and MMIO
 * exits with any size, count, offset and length must stay inside the
 * kvm_run mapping and the devices' ranges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "util/log.h"
#include "vcpu_loop.h"

enum { RUN_SIZE = 4096 };

static uint8_t device_scratch[8];

static void scratch_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    if (size > sizeof(device_scratch))
        abort();
    memcpy(data, device_scratch, size);
}

static void scratch_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    if (size > sizeof(device_scratch))
        abort();
    memcpy(device_scratch, data, size);
}

static const struct io_device_ops scratch_ops = {.read = scratch_read, .write = scratch_write};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kvm_run *run;
    static struct io_bus pio, mmio;
    static bool initialised;
    if (!initialised) {
        /* Fatal exits dump registers of a vCPU that does not exist; keep the log quiet. */
        log_set_level((enum log_level)-1);
        run = aligned_alloc(4096, RUN_SIZE);
        io_bus_init(&pio, "pio");
        io_bus_init(&mmio, "mmio");
        io_bus_register(&pio, 0x3f8, 8, "scratch", &scratch_ops, NULL, NULL);
        io_bus_register(&mmio, 0xd0000000u, 0x1000, "scratch", &scratch_ops, NULL, NULL);
        initialised = true;
    }
    memset(run, 0, RUN_SIZE);
    memcpy(run, data, size < RUN_SIZE ? size : RUN_SIZE);
    /* Mostly the exits that carry guest-shaped data. */
    if (size > 0 && (data[0] & 1))
        run->exit_reason = data[0] & 2 ? KVM_EXIT_IO : KVM_EXIT_MMIO;
    struct kvm_vcpu vcpu = {.fd = -1, .index = 0, .run = run, .run_size = RUN_SIZE};
    struct vm_stop stop;
    if (vm_stop_init(&stop, NULL) < 0)
        abort();
    struct vcpu_loop loop = {.vcpu = &vcpu, .pio = &pio, .mmio = &mmio, .stop = &stop};
    vcpu_loop_handle_exit(&loop);
    vm_stop_destroy(&stop);
    return 0;
}
