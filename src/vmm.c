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
#include "sandbox/sandbox.h"
#include "pci/pci_host_bridge.h"
#include "util/log.h"
#include "util/shared_library.h"
#include "util/process_memory.h"
#include "virtio/virtio_pci.h"
#include "vcpu_loop.h"
#include "vm_disks.h"
#include "vm_memory_limits.h"
#include "vm_traces.h"
#include "vm_landlock.h"
#include "vmm_blk.h"
#include "vmm_net.h"
#include "vm_stop.h"
#include "vm_pause.h"
#include "vmm_api.h"
#include "vmm_report.h"
#include "vmm_boot.h"

_Static_assert(CLI_DISK_MAX_QUEUES == VIRTIO_PCI_MAX_QUEUES, "--disk queues= is bounded by the transport's limit");

struct vmm {
    const struct vm_config *config;
    struct startup_origin origin;
    _Atomic uint64_t first_run_ns;  /* 0 until the first boot's vCPU 0 is about to enter KVM_RUN */
    _Atomic uint64_t reboot_run_ns; /* the same for the latest boot after a reset */
    uint64_t reset_started_ns;      /* when the main thread began the latest reset */
    struct vmm_reboot_times reboot_times; /* of the resets before the latest */
    struct guest_memory memory;
    bool memory_created;
    struct boot_entry boot_entry;
    struct disk_image disk_images[CLI_MAX_DISKS]; /* one per --disk, in order; the blk devices stand on them */
    unsigned disks_opened;
    struct block_trace_writer *disk_traces[CLI_MAX_DISKS]; /* --disk ...,trace=PATH; NULL: none */
    struct vmm_net_devices net_devices; /* one virtio-net per --net, backends opened with the input */
    struct boot_peak_memory load_peak;
    struct kvm_system kvm;
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_msr_list *supported_msrs;
    struct vm_stop stop;
    bool stop_ready;
    struct platform platform;
    struct console console;
    bool console_open;
    struct vmm_api api; /* --api-sock / --name: claimed with the input, served once the vCPUs run */
    struct vm_pause pause;
    bool pause_ready;
    struct vmm_boot boot; /* the per-boot part, re-created in place on a guest reboot */

    /* Devices raise interrupts from several threads; the rate limiter's state is not atomic. */
    pthread_mutex_t irq_error_lock;
    struct log_ratelimit irq_error_limit;
    struct vm_landlock landlock;
};

static void platform_set_irq_level(void *opaque, unsigned irq, bool level)
{
    struct vmm *vmm = opaque;
    if (kvm_vm_set_irq_line(&vmm->boot.vm, irq, level) < 0) {
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

/* The kernel and initrd into guest RAM: with the user's input, and again on every reset. */
static int load_images(struct vmm *vmm, struct boot_peak_memory *peak, struct error *error)
{
    const struct vm_config *config = vmm->config;
    struct boot_request request = {
        .kernel_path = config->kernel_path,
        .initrd_path = config->initrd_path,
        .cmdline = config->cmdline,
        .cpu_count = config->cpu_count,
        .kernel_entry = config->kernel_entry,
        .peak = peak,
    };
    return boot_load(&vmm->memory, &request, &vmm->boot_entry, error);
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
    if (load_images(vmm, config->stats ? &vmm->load_peak : NULL, error) < 0)
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

/* What every boot's VM and vCPUs are made from: the host's KVM, asked once. */
static int check_host(struct vmm *vmm, struct error *error)
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
    return vmm->supported_msrs ? 0 : -1;
}

static void prepare_boot(struct vmm *vmm)
{
    const struct vmm_boot_inputs inputs = {
        .config = vmm->config,
        .memory = &vmm->memory,
        .kvm = &vmm->kvm,
        .supported_cpuid = vmm->supported_cpuid,
        .supported_msrs = vmm->supported_msrs,
        .boot_entry = &vmm->boot_entry,
        .disk_images = vmm->disk_images,
        .disk_traces = vmm->disk_traces,
        .net_devices = &vmm->net_devices,
        .platform = &vmm->platform,
        .console = vmm->console_open ? &vmm->console : NULL,
        .stop = &vmm->stop,
        .pause = &vmm->pause,
        .first_run_ns = &vmm->first_run_ns,
        .landlock = vmm->landlock.state_text,
    };
    vmm_boot_prepare(&vmm->boot, &inputs);
}

/* After the vCPUs started: the API's callbacks may pause them. */
static int start_api(struct vmm *vmm, struct error *error)
{
    struct vmm_boot *boot = &vmm->boot;
    const struct vm_control control = {.stop = &vmm->stop, .pause = &vmm->pause, .vm = &boot->vm,
                                       .acpi_pm = &boot->acpi_pm, .i8042 = &boot->i8042,
                                       .devices_pause = vmm_boot_pause_devices, .devices_opaque = boot,
                                       .vcpu_count = vmm->config->cpu_count, .live_stats = &boot->live_stats};
    return vmm_api_start(&vmm->api, vmm->config, &control, error);
}

/*
 * A guest reboot: the per-boot part goes (its I/O drained, so what the guest
 * flushed is on disk) and comes back over the same RAM mapping, images,
 * backends and console; a user NIC's libslirp is made afresh, since the last
 * boot's connections can never be used again. RAM is dropped to zero first, as a machine's reset
 * leaves nothing of the last boot's secrets for the next to find, and the
 * kernel and initrd are loaded again because the last boot wrote over them.
 */
static int reset(struct vmm *vmm, struct error *error)
{
    uint64_t now = startup_clock_now_ns();
    if (vmm->reset_started_ns)
        vmm_reboot_times_add(&vmm->reboot_times, vmm->reset_started_ns, atomic_load(&vmm->reboot_run_ns));
    vmm->reset_started_ns = now;
    struct vm_control *control = vmm->api.control_ready ? &vmm->api.control : NULL;
    if (control)
        vm_control_begin_reset(control);
    vmm_boot_destroy(&vmm->boot);
    int result = vmm_net_reset_backends(&vmm->net_devices, error);
    for (unsigned i = 0; i < vmm->memory.region_count && result == 0; i++) {
        result = guest_memory_zero(&vmm->memory, vmm->memory.regions[i].gpa, vmm->memory.regions[i].size);
        if (result < 0)
            error_set(error, EXIT_STATUS_FAILURE, "reset: cannot clear guest RAM");
    }
    if (result == 0)
        result = load_images(vmm, NULL, error);
    if (result == 0) {
        vm_stop_rearm(&vmm->stop);
        atomic_store(&vmm->reboot_run_ns, 0);
        vmm->boot.inputs.first_run_ns = &vmm->reboot_run_ns;
        result = vmm_boot_create(&vmm->boot, error);
    }
    if (result < 0)
        vm_stop_request(&vmm->stop, VM_STOP_ERROR); /* before the API may call again: a pause must not wait */
    if (control)
        vm_control_end_reset(control, result == 0);
    return result;
}

static void print_stats(struct vmm *vmm)
{
    struct vmm_boot *boot = &vmm->boot;
    struct exit_stats total;
    memset(&total, 0, sizeof(total));
    for (unsigned i = 0; i < boot->vcpus_created; i++)
        exit_stats_add(&total, &boot->loops[i].stats);
    struct vmm_reboot_times times = vmm->reboot_times;
    if (vmm->reset_started_ns)
        vmm_reboot_times_add(&times, vmm->reset_started_ns, atomic_load(&vmm->reboot_run_ns));
    fprintf(stderr, "kestrel: --stats%s\n", times.reboots ? " (the last boot)" : "");
    exit_stats_print(&total, stderr);
    io_bus_print_stats(&boot->pio, stderr);
    io_bus_print_stats(&boot->mmio, stderr);
    vmm_blk_print_stats(&boot->blk_devices, stderr);
    vmm_net_print_stats(&vmm->net_devices, stderr);
    vmm_report_startup_and_memory(&vmm->origin, atomic_load(&vmm->first_run_ns), &vmm->memory, &vmm->load_peak);
    vmm_report_reboots(&times);
    vm_landlock_print(&vmm->landlock, stderr);
    fflush(stderr);
}

static void destroy(struct vmm *vmm)
{
    vmm_api_stop(&vmm->api);
    vmm_boot_destroy(&vmm->boot);
    /* After the I/O threads: the last records are in the rings, and the traces write them and their counts. */
    vm_traces_close(vmm->disk_traces);
    vmm_net_destroy(&vmm->net_devices);
    if (vmm->console_open)
        console_close(&vmm->console);
    vm_disks_close(vmm->disk_images, &vmm->disks_opened);
    if (vmm->kvm.fd >= 0)
        kvm_system_close(&vmm->kvm);
    free(vmm->supported_cpuid);
    free(vmm->supported_msrs);
    if (vmm->memory_created)
        guest_memory_destroy(&vmm->memory);
    vmm_api_destroy(&vmm->api);
    vm_landlock_close(&vmm->landlock);
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
        log_info("guest requested a reset (reboot); kestrel exits on reboot (--on-reboot exit)");
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

/* Until a stop that is not a reset to carry out; -1 when a reset failed (`error` says why). */
static int run_boots(struct vmm *vmm, int signal_fd, struct error *error)
{
    for (;;) {
        vm_control_wait_for_stop(&vmm->stop, vmm->api.control_ready ? &vmm->api.control : NULL, signal_fd);
        if (vm_stop_current(&vmm->stop) != VM_STOP_RESET || vmm->config->exit_on_reboot)
            return 0;
        if (reset(vmm, error) < 0)
            return -1;
    }
}

/* Blocked before any thread starts, so only the main thread's signalfd sees them. */
static int open_signal_fd(struct error *error)
{
    sigset_t termination;
    sigemptyset(&termination);
    sigaddset(&termination, SIGINT);
    sigaddset(&termination, SIGTERM);
    sigaddset(&termination, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &termination, NULL);
    int signal_fd = signalfd(-1, &termination, SFD_CLOEXEC);
    if (signal_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "signalfd: %s", strerror(errno));
    return signal_fd;
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
    vmm->boot.vm.fd = -1;
    vmm->kvm.fd = -1;
    vmm->api.fd = -1;
    struct error error = {.exit_status = EXIT_STATUS_FAILURE};
    int signal_fd = -1;
    int status = EXIT_STATUS_FAILURE;

    /* A console reader that goes away (kestrel ... | head) must not kill kestrel with its terminal still raw. */
    signal(SIGPIPE, SIG_IGN);
    sandbox_compile_start(!config->seccomp_off);
    if (check_input_and_load(vmm, &error) < 0 || check_host(vmm, &error) < 0)
        goto fail;
    if (vm_stop_init(&vmm->stop, &error) < 0)
        goto fail;
    vmm->stop_ready = true;
    if (vm_pause_init(&vmm->pause, config->cpu_count, &error) < 0)
        goto fail;
    vmm->pause_ready = true;
    if (vm_stop_install_kick_handler(&error) < 0)
        goto fail;
    signal_fd = open_signal_fd(&error);
    if (signal_fd < 0)
        goto fail;
    shared_library_seal();
    /* This joins the thread that built the filters: Landlock then comes before any thread that lives on. */
    if (sandbox_configure(!config->seccomp_off, &error) < 0)
        goto fail;
    /* Landlock: before the first thread, so every thread is confined to the VM's own files (docs/security.md). */
    if (vm_landlock_apply(config, vmm->api.fd >= 0 ? vmm->api.path : NULL, &vmm->landlock, &error) < 0)
        goto fail;
    prepare_boot(vmm);
    if (vmm_boot_create(&vmm->boot, &error) < 0 || start_api(vmm, &error) < 0)
        goto fail;
    if (run_boots(vmm, signal_fd, &error) < 0)
        goto fail;
    vmm_api_stop(&vmm->api); /* no API call may pause or poke the VM while it comes down */
    vmm_boot_join_vcpus(&vmm->boot);
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
    sandbox_compile_wait(); /* a refused input: the filters' thread may still be building */
    if (vmm->stop_ready)
        vm_stop_request(&vmm->stop, VM_STOP_ERROR);
    vmm_api_stop(&vmm->api);
    vmm_boot_join_vcpus(&vmm->boot);
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
