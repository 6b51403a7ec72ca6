#ifndef KESTREL_VMM_BOOT_H
#define KESTREL_VMM_BOOT_H

/*
 * The per-boot part of a VM: the KVM VM fd with guest RAM mapped into it,
 * the GSI routing, the legacy devices, PCI with the virtio-blk and virtio-net
 * functions (their I/O threads and vhost set-up), the vCPUs and their
 * threads, the live statistics and the console's input thread (it feeds this
 * boot's serial port).
 *
 * A guest reboot (--on-reboot reset) destroys all of it and creates it again
 * over what lives as long as the process (struct vmm_boot_inputs): /dev/kvm,
 * guest RAM, the disk images and traces, the NICs' backends, the console,
 * the stop and pause state. The API keeps pointers into this struct
 * (vm_control.h), so it is reused in place, never moved.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/boot_entry.h"
#include "bus/io_bus.h"
#include "cli.h"
#include "devices/acpi_pm.h"
#include "devices/console.h"
#include "devices/i8042.h"
#include "devices/platform.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_system.h"
#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "mem/guest_memory.h"
#include "pci/pci_bus.h"
#include "trace/block_trace_writer.h"
#include "backends/disk_image.h"
#include "vcpu_loop.h"
#include "vm_pause.h"
#include "vm_stop.h"
#include "vmm_blk.h"
#include "vmm_net.h"
#include "vmm_stats.h"

/* What a boot stands on; all of it outlives the boot. */
struct vmm_boot_inputs {
    const struct vm_config *config;
    const struct guest_memory *memory;
    struct kvm_system *kvm;
    const struct kvm_cpuid2 *supported_cpuid;
    const struct kvm_msr_list *supported_msrs;
    const struct boot_entry *boot_entry; /* where boot_load left the kernel in RAM this time */
    struct disk_image *disk_images;
    struct block_trace_writer **disk_traces;
    struct vmm_net_devices *net_devices; /* backends open; the devices are this boot's */
    const struct platform *platform;     /* interrupts go to this boot's VM */
    struct console *console;
    struct vm_stop *stop;
    struct vm_pause *pause;
    _Atomic uint64_t *first_run_ns;
    const char *landlock; /* the sandbox's state for GET /stats; lives as long as the process */
};

struct vmm_boot {
    struct vmm_boot_inputs inputs;
    unsigned count; /* boots created so far: the trace files start with the first */
    struct kvm_vm vm;
    struct gsi_routing routing;
    bool routing_ready;
    struct io_bus pio;
    struct io_bus mmio;
    struct serial serial;
    bool serial_created;
    struct i8042 i8042;
    bool i8042_created;
    struct rtc rtc;
    bool rtc_created;
    struct acpi_pm acpi_pm;
    bool acpi_pm_created;
    struct pvpanic pvpanic;
    bool pvpanic_created;
    struct pci_bus pci;
    bool pci_created;
    struct pci_device host_bridge;
    struct vmm_blk_devices blk_devices;
    bool net_devices_created;

    unsigned vcpu_count;
    unsigned vcpus_created;
    unsigned threads_started;
    struct kvm_vcpu *vcpus;
    struct vcpu_loop *loops;
    pthread_t *threads;
    struct vmm_stats live_stats; /* GET /stats, /metrics */
    bool live_stats_open;
};

/* Once, before the first boot: no fd is open yet (vmm_boot_destroy is safe on it). */
void vmm_boot_prepare(struct vmm_boot *boot, const struct vmm_boot_inputs *inputs);

/* Creates every per-boot object and starts the vCPUs; on failure what was made is left for vmm_boot_destroy. */
int vmm_boot_create(struct vmm_boot *boot, struct error *error);

/* After a stop request: waits for the vCPU threads. */
void vmm_boot_join_vcpus(struct vmm_boot *boot);

/* Joins the vCPUs, drains and stops every I/O thread, closes the VM fd; the inputs stay as they were. */
void vmm_boot_destroy(struct vmm_boot *boot);

/* Pause or resume every device's I/O threads (vm_control.h's devices_pause, `opaque` the boot). */
void vmm_boot_pause_devices(void *opaque, bool pause);

#endif
