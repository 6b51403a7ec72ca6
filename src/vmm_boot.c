#include "vmm_boot.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "arch/x86/vcpu_setup.h"
#include "kvm/kvm_eventfd.h"
#include "pci/pci_host_bridge.h"
#include "sandbox/sandbox.h"
#include "util/startup_clock.h"

void vmm_boot_prepare(struct vmm_boot *boot, const struct vmm_boot_inputs *inputs)
{
    memset(boot, 0, sizeof(*boot));
    boot->inputs = *inputs;
    boot->vm.fd = -1;
}

/* The VM fd with guest RAM in it, kestrel's GSI routing and the boot page tables. */
static int create_vm(struct vmm_boot *boot, struct error *error)
{
    const struct vmm_boot_inputs *in = &boot->inputs;
    if (kvm_vm_create(&boot->vm, in->kvm, in->memory, error) < 0)
        return -1;
    /*
     * From here on kestrel owns the GSI routing table: it re-includes KVM's
     * default PIC/IOAPIC routes (legacy devices keep KVM_IRQ_LINE) and will
     * gain one MSI route per MSI-X vector.
     */
    if (kvm_eventfd_check_capabilities(&boot->vm, error) < 0 ||
        gsi_routing_init(&boot->routing, gsi_routing_submit_to_kvm, &boot->vm.fd, error) < 0)
        return -1;
    boot->routing_ready = true;
    int routing_result = gsi_routing_commit(&boot->routing);
    if (routing_result < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_GSI_ROUTING: %s", strerror(-routing_result));
    if (regs_write_boot_gdt(in->memory, in->boot_entry->mode, error) < 0)
        return -1;
    if (in->boot_entry->mode == BOOT_ENTRY_LINUX_64BIT && regs_write_identity_page_tables(in->memory, error) < 0)
        return -1;
    return 0;
}

/* PCI bus 0 with its host bridge; the windows and ECAM match what the ACPI tables told the guest. */
static int create_pci(struct vmm_boot *boot, struct error *error)
{
    _Static_assert(LAYOUT_PCI_MMIO32_START == GUEST_MMIO_HOLE_START, "the 32-bit PCI window is the RAM hole");
    const struct pci_bus_layout layout = {
        .ecam_base = LAYOUT_PCI_ECAM_START,
        .ecam_size = LAYOUT_PCI_ECAM_SIZE,
        .mmio32_base = LAYOUT_PCI_MMIO32_START,
        .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = layout_pci_mmio64_start(e820_ram_end(boot->inputs.memory)),
        .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
    };
    if (pci_bus_init(&boot->pci, &layout, error) < 0)
        return -1;
    boot->pci_created = true;
    pci_host_bridge_init(&boot->host_bridge);
    if (pci_bus_add_device(&boot->pci, &boot->host_bridge, 0, error) < 0)
        return -1;
    return pci_bus_attach(&boot->pci, &boot->pio, &boot->mmio, error);
}

static int create_legacy_devices(struct vmm_boot *boot, struct error *error)
{
    const struct vmm_boot_inputs *in = &boot->inputs;
    if (serial_create(&boot->serial, in->platform, LAYOUT_COM1_IRQ, console_output_fd(in->console), error) < 0)
        return -1;
    boot->serial_created = true;
    if (serial_attach(&boot->serial, &boot->pio, LAYOUT_COM1_PORT, error) < 0)
        return -1;
    if (i8042_create(&boot->i8042, in->platform, error) < 0)
        return -1;
    boot->i8042_created = true;
    if (i8042_attach(&boot->i8042, &boot->pio, error) < 0)
        return -1;
    if (rtc_create(&boot->rtc, error) < 0)
        return -1;
    boot->rtc_created = true;
    if (rtc_attach(&boot->rtc, &boot->pio, error) < 0)
        return -1;
    if (rtc_start_interrupts(&boot->rtc, in->platform, LAYOUT_RTC_IRQ, error) < 0)
        return -1;
    if (acpi_pm_create(&boot->acpi_pm, in->platform, error) < 0)
        return -1;
    boot->acpi_pm_created = true;
    if (acpi_pm_attach(&boot->acpi_pm, &boot->pio, error) < 0)
        return -1;
    if (pvpanic_create(&boot->pvpanic, in->platform, error) < 0)
        return -1;
    boot->pvpanic_created = true;
    return pvpanic_attach(&boot->pvpanic, &boot->pio, error);
}

static int create_devices(struct vmm_boot *boot, struct error *error)
{
    const struct vmm_boot_inputs *in = &boot->inputs;
    io_bus_init(&boot->pio, "pio");
    io_bus_init(&boot->mmio, "mmio");
    if (create_legacy_devices(boot, error) < 0 || create_pci(boot, error) < 0)
        return -1;
    const struct vmm_blk_context blk = {
        .config = in->config,
        .images = in->disk_images,
        .traces = in->disk_traces,
        .traces_started = boot->count > 1,
        .memory = in->memory,
        .vm = &boot->vm,
        .routing = &boot->routing,
        .bus = &boot->pci,
    };
    if (vmm_blk_create(&boot->blk_devices, &blk, error) < 0)
        return -1;
    /* After the host bridge (device 0) and the disks. */
    boot->net_devices_created = true;
    if (vmm_net_create(in->net_devices, in->memory, &boot->vm, &boot->routing, &boot->pci,
                       in->config->disk_count + 1, error) < 0)
        return -1;
    return console_start_input(in->console, &boot->serial, error);
}

static int create_vcpus(struct vmm_boot *boot, struct error *error)
{
    const struct vmm_boot_inputs *in = &boot->inputs;
    unsigned count = in->config->cpu_count;
    boot->vcpu_count = count;
    boot->vcpus = calloc(count, sizeof(*boot->vcpus));
    boot->loops = calloc(count, sizeof(*boot->loops));
    boot->threads = calloc(count, sizeof(*boot->threads));
    if (!boot->vcpus || !boot->loops || !boot->threads)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for %u vCPUs", count);
    struct x86_vcpu_template template = {
        .supported_cpuid = in->supported_cpuid,
        .supported_msrs = in->supported_msrs,
        .vcpu_count = count,
    };
    /* Every vCPU exists before any runs: the BSP's SIPIs need their targets. */
    for (unsigned i = 0; i < count; i++) {
        if (kvm_vcpu_create(&boot->vcpus[i], in->kvm, &boot->vm, i, error) < 0)
            return -1;
        boot->vcpus_created++;
        if (x86_vcpu_setup(&boot->vcpus[i], &template, i == 0 ? in->boot_entry : NULL, error) < 0)
            return -1;
        boot->loops[i] = (struct vcpu_loop){
            .vcpu = &boot->vcpus[i],
            .pio = &boot->pio,
            .mmio = &boot->mmio,
            .stop = in->stop,
            .pause = in->pause,
            .first_run_ns = i == 0 ? in->first_run_ns : NULL,
        };
    }
    return 0;
}

static int open_live_stats(struct vmm_boot *boot, struct error *error)
{
    const struct vmm_stats_inputs inputs = {
        .vm = &boot->vm,
        .vcpus = boot->vcpus,
        .loops = boot->loops,
        .vcpu_count = boot->vcpus_created,
        .pio = &boot->pio,
        .mmio = &boot->mmio,
        .blk = &boot->blk_devices,
        .net = boot->inputs.net_devices,
        .created_ns = startup_clock_now_ns(),
        .landlock = boot->inputs.landlock,
    };
    if (vmm_stats_open(&boot->live_stats, &inputs, error) < 0)
        return -1;
    boot->live_stats_open = true;
    return 0;
}

static int start_vcpus(struct vmm_boot *boot, struct error *error)
{
    for (unsigned i = 0; i < boot->vcpu_count; i++) {
        int result = pthread_create(&boot->threads[i], NULL, vcpu_loop_thread, &boot->loops[i]);
        if (result != 0)
            return error_set(error, EXIT_STATUS_FAILURE, "cannot start vCPU %u's thread: %s", i, strerror(result));
        boot->threads_started++;
    }
    return 0;
}

int vmm_boot_create(struct vmm_boot *boot, struct error *error)
{
    boot->count++;
    if (create_vm(boot, error) < 0 || create_devices(boot, error) < 0 || create_vcpus(boot, error) < 0 ||
        open_live_stats(boot, error) < 0)
        return -1;
    /* The main thread is filtered on the first boot only; each boot has its own set-up thread (sandbox.h). */
    if (sandbox_main_thread_enter(error) < 0)
        return -1;
    return start_vcpus(boot, error);
}

void vmm_boot_join_vcpus(struct vmm_boot *boot)
{
    for (unsigned i = 0; i < boot->threads_started; i++)
        pthread_join(boot->threads[i], NULL);
    boot->threads_started = 0;
    sandbox_setup_thread_stop(); /* after the vCPUs: one may be waiting for it */
}

static void destroy_devices(struct vmm_boot *boot)
{
    /* The I/O threads stop (their I/O drained) while guest memory, the images and KVM's routes still exist. */
    vmm_blk_destroy(&boot->blk_devices);
    if (boot->net_devices_created)
        vmm_net_destroy_devices(boot->inputs.net_devices);
    boot->net_devices_created = false;
    if (boot->pci_created)
        pci_bus_destroy(&boot->pci);
    if (boot->pvpanic_created)
        pvpanic_destroy(&boot->pvpanic);
    if (boot->acpi_pm_created)
        acpi_pm_destroy(&boot->acpi_pm);
    if (boot->rtc_created)
        rtc_destroy(&boot->rtc);
    if (boot->i8042_created)
        i8042_destroy(&boot->i8042);
    if (boot->serial_created)
        serial_destroy(&boot->serial);
    boot->pci_created = boot->pvpanic_created = boot->acpi_pm_created = false;
    boot->rtc_created = boot->i8042_created = boot->serial_created = false;
}

void vmm_boot_destroy(struct vmm_boot *boot)
{
    vmm_boot_join_vcpus(boot);
    if (boot->live_stats_open)
        vmm_stats_close(&boot->live_stats);
    boot->live_stats_open = false;
    /* The console's input thread writes into this boot's serial port. */
    if (boot->inputs.console)
        console_stop_input(boot->inputs.console);
    for (unsigned i = 0; i < boot->vcpus_created; i++)
        kvm_vcpu_destroy(&boot->vcpus[i]);
    boot->vcpus_created = 0;
    free(boot->vcpus);
    free(boot->loops);
    free(boot->threads);
    boot->vcpus = NULL;
    boot->loops = NULL;
    boot->threads = NULL;
    destroy_devices(boot);
    if (boot->routing_ready)
        gsi_routing_destroy(&boot->routing);
    boot->routing_ready = false;
    if (boot->vm.fd >= 0)
        kvm_vm_destroy(&boot->vm);
    boot->vm.fd = -1;
}

void vmm_boot_pause_devices(void *opaque, bool pause)
{
    struct vmm_boot *boot = opaque;
    vmm_blk_pause(&boot->blk_devices, pause);
    vmm_net_pause(boot->inputs.net_devices, pause);
}
