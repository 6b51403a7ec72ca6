#include "vmm.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "arch/x86/vcpu_setup.h"
#include "boot/boot.h"
#include "bus/io_bus.h"
#include "devices/acpi_pm.h"
#include "devices/console.h"
#include "devices/i8042.h"
#include "devices/platform.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "kvm/exit_stats.h"
#include "vmm_stats.h"
#include "kvm/kvm_eventfd.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_system.h"
#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "pci/pci_bus.h"
#include "pci/pci_host_bridge.h"
#include "util/log.h"
#include "util/process_memory.h"
#include "virtio/virtio_pci.h"
#include "vcpu_loop.h"
#include "vm_disks.h"
#include "vm_memory_limits.h"
#include "vm_traces.h"
#include "vmm_blk.h"
#include "vmm_net.h"
#include "vm_stop.h"
#include "vm_pause.h"
#include "vmm_api.h"
#include "vmm_report.h"

_Static_assert(CLI_DISK_MAX_QUEUES == VIRTIO_PCI_MAX_QUEUES, "--disk queues= is bounded by the transport's limit");

struct vmm {
    const struct vm_config *config;
    struct startup_origin origin;
    _Atomic uint64_t first_run_ns; /* 0 until the boot vCPU is about to enter KVM_RUN */
    struct guest_memory memory;
    bool memory_created;
    struct boot_entry boot_entry;
    struct disk_image disk_images[CLI_MAX_DISKS]; /* one per --disk, in order; the blk devices stand on them */
    unsigned disks_opened;
    struct block_trace_writer *disk_traces[CLI_MAX_DISKS]; /* --disk ...,trace=PATH; NULL: none */
    struct vmm_blk_devices blk_devices; /* one virtio-blk per --disk, on disk_images */
    struct vmm_net_devices net_devices; /* one virtio-net per --net, backends opened with the input */
    struct boot_peak_memory load_peak;
    struct kvm_system kvm;
    struct kvm_vm vm;
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_msr_list *supported_msrs;
    struct vm_stop stop;
    bool stop_ready;
    struct gsi_routing routing;
    bool routing_ready;

    struct io_bus pio;
    struct io_bus mmio;
    struct platform platform;
    struct console console;
    bool console_open;
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

    unsigned vcpu_count;
    unsigned vcpus_created;
    unsigned threads_started;
    struct kvm_vcpu *vcpus;
    struct vcpu_loop *loops;
    pthread_t *threads;
    /* The live statistics (GET /stats, /metrics): open from the vCPUs' creation to teardown. */
    struct vmm_stats live_stats;
    bool live_stats_open;

    struct vmm_api api; /* --api-sock / --name: claimed with the input, served once the vCPUs run */
    struct vm_pause pause;
    bool pause_ready;

    /* Devices raise interrupts from several threads; the rate limiter's state is not atomic. */
    pthread_mutex_t irq_error_lock;
    struct log_ratelimit irq_error_limit;
};

static void platform_set_irq_level(void *opaque, unsigned irq, bool level)
{
    struct vmm *vmm = opaque;
    if (kvm_vm_set_irq_line(&vmm->vm, irq, level) < 0) {
        int saved = errno;
        pthread_mutex_lock(&vmm->irq_error_lock);
        log_ratelimited(&vmm->irq_error_limit, "KVM_IRQ_LINE %u: %s", irq, strerror(saved));
        pthread_mutex_unlock(&vmm->irq_error_lock);
    }
}

static void platform_request_stop(void *opaque, enum platform_stop_reason reason)
{
    struct vmm *vmm = opaque;
    enum vm_stop_reason stop_reason = VM_STOP_ERROR;
    switch (reason) {
    case PLATFORM_STOP_POWER_OFF:
        stop_reason = VM_STOP_POWER_OFF;
        break;
    case PLATFORM_STOP_RESET:
        stop_reason = VM_STOP_RESET;
        break;
    case PLATFORM_STOP_PANIC:
        stop_reason = VM_STOP_PANIC;
        break;
    case PLATFORM_STOP_QUIT:
        stop_reason = VM_STOP_QUIT;
        break;
    }
    vm_stop_request(&vmm->stop, stop_reason);
}

/*
 * The user's input, checked in an order that does not depend on the host:
 * memory size (then against the host's address width and free memory),
 * --cpus against KVM's limit (when /dev/kvm opens at all), then the kernel,
 * initrd and command line, then the disk images in --disk order, then the
 * console file. A missing /dev/kvm is reported only after those, so bad
 * usage reads the same on
 * hosts with and without KVM.
 */
static int check_input_and_load(struct vmm *vmm, struct error *error)
{
    const struct vm_config *config = vmm->config;
    if (vm_memory_limits_check_config(config, error) < 0)
        return -1;
    int created = config->memory_huge_pages ? guest_memory_create_huge(&vmm->memory, config->memory_size, error)
                                            : guest_memory_create(&vmm->memory, config->memory_size, error);
    if (created < 0)
        return -1;
    vmm->memory_created = true;
    struct error kvm_error = {.exit_status = EXIT_STATUS_FAILURE};
    bool kvm_opened = kvm_system_open(&vmm->kvm, &kvm_error) == 0;
    if (kvm_opened && config->cpu_count > vmm->kvm.max_vcpus)
        return error_set(error, EXIT_STATUS_USAGE, "--cpus %u is more than this host's KVM allows (%u)",
                         config->cpu_count, vmm->kvm.max_vcpus);
    if (config->cpu_count > VMM_MAX_CPUS)
        return error_set(error, EXIT_STATUS_USAGE, "--cpus %u is more than kestrel supports (%u)", config->cpu_count,
                         VMM_MAX_CPUS);
    struct boot_request request = {
        .kernel_path = config->kernel_path,
        .initrd_path = config->initrd_path,
        .cmdline = config->cmdline,
        .cpu_count = config->cpu_count,
        .kernel_entry = config->kernel_entry,
        .peak = config->stats ? &vmm->load_peak : NULL,
    };
    if (boot_load(&vmm->memory, &request, &vmm->boot_entry, error) < 0)
        return -1;
    if (vm_disks_open(config, vmm->disk_images, &vmm->disks_opened, error) < 0)
        return -1;
    if (vm_traces_create(config, vmm->disk_images, vmm->disk_traces, error) < 0)
        return -1;
    if (vmm_net_open(&vmm->net_devices, config, &vmm->memory, error) < 0)
        return -1;
    /* The console file is user input too; a stdio console goes raw only here, just before use. */
    vmm->platform = (struct platform){
        .opaque = vmm,
        .set_irq_level = platform_set_irq_level,
        .request_stop = platform_request_stop,
    };
    if (console_open(&vmm->console, &config->console, &vmm->platform, error) < 0)
        return -1;
    vmm->console_open = true;
    if (vmm_api_listen(&vmm->api, config, error) < 0)
        return -1;
    if (!kvm_opened) {
        *error = kvm_error;
        return -1;
    }
    return 0;
}

/* KESTREL_ALLOW_PVM=1: a developer's override, to measure kestrel itself on a PVM host. */
static bool pvm_allowed(void)
{
    const char *value = getenv("KESTREL_ALLOW_PVM");
    return value && strcmp(value, "1") == 0;
}

static int create_vm(struct vmm *vmm, struct error *error)
{
    if (kvm_host_is_pvm()) {
        if (!pvm_allowed())
            return error_set(error, EXIT_STATUS_FAILURE,
                             "this host's /dev/kvm is PVM (kvm_pvm), which cannot boot a stock kernel; "
                             "run guests in the nested test host (tests/testhost/run-in-l1.sh)");
        log_warn("KESTREL_ALLOW_PVM=1: this host's /dev/kvm is PVM; the guest's kernel will not boot; "
                 "for measurements only");
    }
    vmm->supported_cpuid = kvm_system_supported_cpuid(&vmm->kvm, error);
    if (!vmm->supported_cpuid)
        return -1;
    if (vm_memory_limits_check_address_width(
            vmm->config->memory_size,
            cpuid_physical_address_bits(vmm->supported_cpuid->entries, vmm->supported_cpuid->nent), error) < 0)
        return -1;
    vmm->supported_msrs = kvm_system_msr_index_list(&vmm->kvm, error);
    if (!vmm->supported_msrs)
        return -1;
    if (kvm_vm_create(&vmm->vm, &vmm->kvm, error) < 0)
        return -1;
    if (kvm_vm_map_memory(&vmm->vm, &vmm->memory, error) < 0)
        return -1;
    /*
     * From here on kestrel owns the GSI routing table: it re-includes KVM's
     * default PIC/IOAPIC routes (legacy devices keep KVM_IRQ_LINE) and will
     * gain one MSI route per MSI-X vector.
     */
    if (kvm_eventfd_check_capabilities(&vmm->vm, error) < 0 ||
        gsi_routing_init(&vmm->routing, gsi_routing_submit_to_kvm, &vmm->vm.fd, error) < 0)
        return -1;
    vmm->routing_ready = true;
    int routing_result = gsi_routing_commit(&vmm->routing);
    if (routing_result < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_SET_GSI_ROUTING: %s", strerror(-routing_result));
    if (regs_write_boot_gdt(&vmm->memory, vmm->boot_entry.mode, error) < 0)
        return -1;
    if (vmm->boot_entry.mode == BOOT_ENTRY_LINUX_64BIT && regs_write_identity_page_tables(&vmm->memory, error) < 0)
        return -1;
    return 0;
}

/* PCI bus 0 with its host bridge; the windows and ECAM match what the ACPI tables told the guest. */
static int create_pci(struct vmm *vmm, struct error *error)
{
    _Static_assert(LAYOUT_PCI_MMIO32_START == GUEST_MMIO_HOLE_START, "the 32-bit PCI window is the RAM hole");
    const struct pci_bus_layout layout = {
        .ecam_base = LAYOUT_PCI_ECAM_START,
        .ecam_size = LAYOUT_PCI_ECAM_SIZE,
        .mmio32_base = LAYOUT_PCI_MMIO32_START,
        .mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
        .mmio64_base = layout_pci_mmio64_start(e820_ram_end(&vmm->memory)),
        .mmio64_size = LAYOUT_PCI_MMIO64_SIZE,
    };
    if (pci_bus_init(&vmm->pci, &layout, error) < 0)
        return -1;
    vmm->pci_created = true;
    pci_host_bridge_init(&vmm->host_bridge);
    if (pci_bus_add_device(&vmm->pci, &vmm->host_bridge, 0, error) < 0)
        return -1;
    return pci_bus_attach(&vmm->pci, &vmm->pio, &vmm->mmio, error);
}

static int create_devices(struct vmm *vmm, struct error *error)
{
    io_bus_init(&vmm->pio, "pio");
    io_bus_init(&vmm->mmio, "mmio");
    if (serial_create(&vmm->serial, &vmm->platform, LAYOUT_COM1_IRQ, console_output_fd(&vmm->console), error) < 0)
        return -1;
    vmm->serial_created = true;
    if (serial_attach(&vmm->serial, &vmm->pio, LAYOUT_COM1_PORT, error) < 0)
        return -1;
    if (i8042_create(&vmm->i8042, &vmm->platform, error) < 0)
        return -1;
    vmm->i8042_created = true;
    if (i8042_attach(&vmm->i8042, &vmm->pio, error) < 0)
        return -1;
    if (rtc_create(&vmm->rtc, error) < 0)
        return -1;
    vmm->rtc_created = true;
    if (rtc_attach(&vmm->rtc, &vmm->pio, error) < 0)
        return -1;
    if (rtc_start_interrupts(&vmm->rtc, &vmm->platform, LAYOUT_RTC_IRQ, error) < 0)
        return -1;
    if (acpi_pm_create(&vmm->acpi_pm, &vmm->platform, error) < 0)
        return -1;
    vmm->acpi_pm_created = true;
    if (acpi_pm_attach(&vmm->acpi_pm, &vmm->pio, error) < 0)
        return -1;
    if (pvpanic_create(&vmm->pvpanic, &vmm->platform, error) < 0)
        return -1;
    vmm->pvpanic_created = true;
    if (pvpanic_attach(&vmm->pvpanic, &vmm->pio, error) < 0)
        return -1;
    if (create_pci(vmm, error) < 0)
        return -1;
    const struct vmm_blk_context blk = {
        .config = vmm->config,
        .images = vmm->disk_images,
        .traces = vmm->disk_traces,
        .memory = &vmm->memory,
        .vm = &vmm->vm,
        .routing = &vmm->routing,
        .bus = &vmm->pci,
    };
    if (vmm_blk_create(&vmm->blk_devices, &blk, error) < 0)
        return -1;
    /* After the host bridge (device 0) and the disks. */
    if (vmm_net_create(&vmm->net_devices, &vmm->memory, &vmm->vm, &vmm->routing, &vmm->pci,
                       vmm->config->disk_count + 1, error) < 0)
        return -1;
    return console_start_input(&vmm->console, &vmm->serial, error);
}

static int create_vcpus(struct vmm *vmm, struct error *error)
{
    unsigned count = vmm->config->cpu_count;
    vmm->vcpu_count = count;
    vmm->vcpus = calloc(count, sizeof(*vmm->vcpus));
    vmm->loops = calloc(count, sizeof(*vmm->loops));
    vmm->threads = calloc(count, sizeof(*vmm->threads));
    if (!vmm->vcpus || !vmm->loops || !vmm->threads)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for %u vCPUs", count);
    struct x86_vcpu_template template = {
        .supported_cpuid = vmm->supported_cpuid,
        .supported_msrs = vmm->supported_msrs,
        .vcpu_count = count,
    };
    /* Every vCPU exists before any runs: the BSP's SIPIs need their targets. */
    for (unsigned i = 0; i < count; i++) {
        if (kvm_vcpu_create(&vmm->vcpus[i], &vmm->kvm, &vmm->vm, i, error) < 0)
            return -1;
        vmm->vcpus_created++;
        if (x86_vcpu_setup(&vmm->vcpus[i], &template, i == 0 ? &vmm->boot_entry : NULL, error) < 0)
            return -1;
        vmm->loops[i] = (struct vcpu_loop){
            .vcpu = &vmm->vcpus[i],
            .pio = &vmm->pio,
            .mmio = &vmm->mmio,
            .stop = &vmm->stop,
            .pause = &vmm->pause,
            .first_run_ns = i == 0 ? &vmm->first_run_ns : NULL,
        };
    }
    return 0;
}

static int open_live_stats(struct vmm *vmm, struct error *error)
{
    const struct vmm_stats_inputs inputs = {
        .vm = &vmm->vm,
        .vcpus = vmm->vcpus,
        .loops = vmm->loops,
        .vcpu_count = vmm->vcpus_created,
        .pio = &vmm->pio,
        .mmio = &vmm->mmio,
        .blk = &vmm->blk_devices,
        .net = &vmm->net_devices,
        .created_ns = startup_clock_now_ns(),
    };
    if (vmm_stats_open(&vmm->live_stats, &inputs, error) < 0)
        return -1;
    vmm->live_stats_open = true;
    return 0;
}

static int start_vcpus(struct vmm *vmm, struct error *error)
{
    for (unsigned i = 0; i < vmm->vcpu_count; i++) {
        int result = pthread_create(&vmm->threads[i], NULL, vcpu_loop_thread, &vmm->loops[i]);
        if (result != 0)
            return error_set(error, EXIT_STATUS_FAILURE, "cannot start vCPU %u's thread: %s", i, strerror(result));
        vmm->threads_started++;
    }
    return 0;
}

static void devices_pause(void *opaque, bool pause)
{
    struct vmm *vmm = opaque;
    vmm_blk_pause(&vmm->blk_devices, pause);
    vmm_net_pause(&vmm->net_devices, pause);
}

/* After the vCPUs started: the API's callbacks may pause them. */
static int start_api(struct vmm *vmm, struct error *error)
{
    const struct vm_control control = {.stop = &vmm->stop, .pause = &vmm->pause, .vm = &vmm->vm,
                                       .acpi_pm = &vmm->acpi_pm, .i8042 = &vmm->i8042,
                                       .devices_pause = devices_pause, .devices_opaque = vmm, .vcpu_count = vmm->vcpu_count,
                                       .live_stats = &vmm->live_stats};
    return vmm_api_start(&vmm->api, vmm->config, &control, error);
}

static void join_vcpus(struct vmm *vmm)
{
    for (unsigned i = 0; i < vmm->threads_started; i++)
        pthread_join(vmm->threads[i], NULL);
    vmm->threads_started = 0;
}

static void print_stats(struct vmm *vmm)
{
    struct exit_stats total;
    memset(&total, 0, sizeof(total));
    for (unsigned i = 0; i < vmm->vcpus_created; i++)
        exit_stats_add(&total, &vmm->loops[i].stats);
    fprintf(stderr, "kestrel: --stats\n");
    exit_stats_print(&total, stderr);
    io_bus_print_stats(&vmm->pio, stderr);
    io_bus_print_stats(&vmm->mmio, stderr);
    vmm_blk_print_stats(&vmm->blk_devices, stderr);
    vmm_net_print_stats(&vmm->net_devices, stderr);
    vmm_report_startup_and_memory(&vmm->origin, atomic_load(&vmm->first_run_ns), &vmm->memory, &vmm->load_peak);
    fflush(stderr);
}

static void destroy(struct vmm *vmm)
{
    vmm_api_stop(&vmm->api);
    join_vcpus(vmm);
    if (vmm->live_stats_open)
        vmm_stats_close(&vmm->live_stats);
    vmm->live_stats_open = false;
    if (vmm->console_open)
        console_stop_input(&vmm->console);
    for (unsigned i = 0; i < vmm->vcpus_created; i++)
        kvm_vcpu_destroy(&vmm->vcpus[i]);
    free(vmm->vcpus);
    free(vmm->loops);
    free(vmm->threads);
    /* The I/O threads stop (their I/O drained) while guest memory, the images and KVM's routes still exist. */
    vmm_blk_destroy(&vmm->blk_devices);
    /* After the I/O threads: the last records are in the rings, and the traces write them and their counts. */
    vm_traces_close(vmm->disk_traces);
    vmm_net_destroy(&vmm->net_devices);
    if (vmm->pci_created)
        pci_bus_destroy(&vmm->pci);
    if (vmm->pvpanic_created)
        pvpanic_destroy(&vmm->pvpanic);
    if (vmm->acpi_pm_created)
        acpi_pm_destroy(&vmm->acpi_pm);
    if (vmm->rtc_created)
        rtc_destroy(&vmm->rtc);
    if (vmm->i8042_created)
        i8042_destroy(&vmm->i8042);
    if (vmm->serial_created)
        serial_destroy(&vmm->serial);
    if (vmm->console_open)
        console_close(&vmm->console);
    vm_disks_close(vmm->disk_images, &vmm->disks_opened);
    if (vmm->routing_ready)
        gsi_routing_destroy(&vmm->routing);
    if (vmm->vm.fd >= 0)
        kvm_vm_destroy(&vmm->vm);
    if (vmm->kvm.fd >= 0)
        kvm_system_close(&vmm->kvm);
    free(vmm->supported_cpuid);
    free(vmm->supported_msrs);
    if (vmm->memory_created)
        guest_memory_destroy(&vmm->memory);
    vmm_api_destroy(&vmm->api);
    if (vmm->pause_ready)
        vm_pause_destroy(&vmm->pause);
    if (vmm->stop_ready)
        vm_stop_destroy(&vmm->stop);
}

static int exit_status_for(enum vm_stop_reason reason)
{
    switch (reason) {
    case VM_STOP_POWER_OFF:
        return EXIT_STATUS_OK;
    case VM_STOP_RESET:
        log_info("guest requested a reset (reboot); kestrel exits on reboot");
        return EXIT_STATUS_OK;
    case VM_STOP_PANIC:
        log_error("guest kernel panicked");
        return EXIT_STATUS_FAILURE;
    case VM_STOP_QUIT:
        return EXIT_STATUS_OK;
    case VM_STOP_NONE:
    case VM_STOP_ERROR:
    case VM_STOP_SIGNAL:
        break;
    }
    return EXIT_STATUS_FAILURE;
}

int vmm_run(const struct vm_config *config, const struct startup_origin *origin)
{
    struct vmm *vmm = calloc(1, sizeof(*vmm));
    if (!vmm) {
        log_error("out of memory");
        return EXIT_STATUS_FAILURE;
    }
    vmm->config = config;
    vmm->origin = *origin;
    pthread_mutex_init(&vmm->irq_error_lock, NULL);
    vmm->vm.fd = -1;
    vmm->kvm.fd = -1;
    vmm->api.fd = -1;
    struct error error = {.exit_status = EXIT_STATUS_FAILURE};
    int signal_fd = -1;
    int status = EXIT_STATUS_FAILURE;

    /* A console reader that goes away (kestrel ... | head) must not kill kestrel with its terminal still raw. */
    signal(SIGPIPE, SIG_IGN);
    if (check_input_and_load(vmm, &error) < 0 || create_vm(vmm, &error) < 0)
        goto fail;
    if (vm_stop_init(&vmm->stop, &error) < 0)
        goto fail;
    vmm->stop_ready = true;
    if (vm_pause_init(&vmm->pause, config->cpu_count, &error) < 0)
        goto fail;
    vmm->pause_ready = true;
    if (vm_stop_install_kick_handler(&error) < 0)
        goto fail;
    /* Blocked before any thread starts, so only the main thread's signalfd sees them. */
    sigset_t termination;
    sigemptyset(&termination);
    sigaddset(&termination, SIGINT);
    sigaddset(&termination, SIGTERM);
    sigaddset(&termination, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &termination, NULL);
    signal_fd = signalfd(-1, &termination, SFD_CLOEXEC);
    if (signal_fd < 0) {
        error_set(&error, EXIT_STATUS_FAILURE, "signalfd: %s", strerror(errno));
        goto fail;
    }
    if (create_devices(vmm, &error) < 0 || create_vcpus(vmm, &error) < 0 || open_live_stats(vmm, &error) < 0 ||
        start_vcpus(vmm, &error) < 0 || start_api(vmm, &error) < 0)
        goto fail;

    vm_control_wait_for_stop(&vmm->stop, vmm->api.control_ready ? &vmm->api.control : NULL, signal_fd);
    vmm_api_stop(&vmm->api); /* no API call may pause or poke the VM while it comes down */
    join_vcpus(vmm);
    /* The console first: the terminal is restored before kestrel's last words. */
    if (vmm->console_open) {
        console_close(&vmm->console);
        vmm->console_open = false;
    }
    enum vm_stop_reason reason = vm_stop_current(&vmm->stop);
    if (config->stats)
        print_stats(vmm);
    status = exit_status_for(reason);
    destroy(vmm);
    close(signal_fd);
    pthread_mutex_destroy(&vmm->irq_error_lock);
    free(vmm);
    return status;

fail:
    if (vmm->stop_ready)
        vm_stop_request(&vmm->stop, VM_STOP_ERROR);
    join_vcpus(vmm);
    if (vmm->console_open) {
        console_close(&vmm->console);
        vmm->console_open = false;
    }
    destroy(vmm);
    if (signal_fd >= 0)
        close(signal_fd);
    log_error("%s", error.message);
    status = error.exit_status;
    pthread_mutex_destroy(&vmm->irq_error_lock);
    free(vmm);
    return status;
}
