#include "boot/boot.h"

#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot_image.h"
#include "boot/bzimage.h"
#include "boot/elf_pvh.h"
#include "boot/kernel_file.h"
#include "boot/kernel_unpack.h"
#include "util/log.h"

/* Parsers describe the problem; the user needs to know which file it is about. */
static int error_name_kernel(struct error *error, const char *name)
{
    if (!error)
        return -1;
    char detail[sizeof(error->message)];
    snprintf(detail, sizeof(detail), "%s", error->message);
    return error_set(error, error->exit_status, "kernel %s: %s", name, detail);
}

static int write_cmdline(const struct guest_memory *memory, const char *cmdline, size_t length, struct error *error)
{
    if (length >= LAYOUT_CMDLINE_MAX)
        return error_set(error, EXIT_STATUS_USAGE, "command line is %zu bytes, longer than kestrel's limit of %llu",
                         length, (unsigned long long)(LAYOUT_CMDLINE_MAX - 1));
    if (guest_memory_write(memory, LAYOUT_CMDLINE_GPA, cmdline, length + 1) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "guest memory has no RAM for the command line at 0x%llx",
                         (unsigned long long)LAYOUT_CMDLINE_GPA);
    return 0;
}

int boot_load_images(const struct guest_memory *memory, const struct boot_image *kernel,
                     const struct boot_image *initrd, const char *cmdline, unsigned cpu_count,
                     struct boot_entry *entry, struct error *error)
{
    if (!cmdline)
        cmdline = "";
    size_t cmdline_length = strlen(cmdline);

    /* Check the kernel before touching guest memory, so a bad file fails fast with its own message. */
    struct bzimage_info bzimage;
    struct elf_pvh_info elf;
    bool is_bzimage = bzimage_detect(kernel->data, boot_image_head_size(kernel));
    if (is_bzimage) {
        /* bzimage_parse reads only the header (inside the head) and checks the rest against the file's size. */
        if (bzimage_parse(kernel->data, kernel->size, &bzimage, error) < 0)
            return error_name_kernel(error, kernel->name);
    } else if (kernel->streamed) {
        return error_set(error, EXIT_STATUS_FAILURE, "kernel %s: only a bzImage is loaded from its file",
                         kernel->name);
    } else if (elf_detect(kernel->data, kernel->size)) {
        if (elf_pvh_parse(kernel->data, kernel->size, &elf, error) < 0)
            return error_name_kernel(error, kernel->name);
    } else {
        return error_set(error, EXIT_STATUS_USAGE, "%s is not a Linux kernel (no bzImage header or ELF magic)",
                         kernel->name);
    }

    struct e820_map e820;
    struct acpi_tables_layout acpi;
    if (e820_build(memory, &e820, error) < 0 || write_cmdline(memory, cmdline, cmdline_length, error) < 0 ||
        acpi_tables_write(memory, cpu_count, &acpi, error) < 0)
        return -1;

    struct boot_platform platform = {
        .e820 = &e820,
        .cmdline_gpa = LAYOUT_CMDLINE_GPA,
        .cmdline_length = cmdline_length,
        .rsdp_gpa = acpi.rsdp_gpa,
    };
    if (is_bzimage)
        return bzimage_load(memory, &bzimage, kernel, initrd, &platform, entry, error);
    return elf_pvh_load(memory, &elf, kernel, initrd, &platform, entry, error);
}

/*
 * Points `kernel` at what to boot: the file as it is, or the vmlinux unpacked
 * from a bzImage (--kernel-entry; boot.h). AUTO turns every unpack failure
 * into one line and the bzImage boot; PVH makes it a usage error.
 */
static int choose_kernel(const struct boot_request *request, struct boot_image *kernel,
                         struct kernel_unpacked *unpacked, struct error *error)
{
    bool is_bzimage = bzimage_detect(kernel->data, boot_image_head_size(kernel));
    if (request->kernel_entry == BOOT_KERNEL_ENTRY_BZIMAGE) {
        if (!is_bzimage)
            return error_set(error, EXIT_STATUS_USAGE, "--kernel-entry bzimage: kernel %s is not a bzImage",
                             kernel->name);
        return 0;
    }
    struct bzimage_info info;
    struct error ignored;
    /* An ELF boots through PVH as before; a broken bzImage or anything else fails in the loader with its message. */
    if (!is_bzimage || bzimage_parse(kernel->data, kernel->size, &info, &ignored) < 0)
        return 0;
    /* The vmlinux inside is the same kernel: the bzImage's header states its limit, and PVH has no other. */
    if (bzimage_check_cmdline(&info, request->cmdline ? strlen(request->cmdline) : 0, kernel->name, error) < 0)
        return -1;
    const struct kernel_unpack_options options = {
        .allow_uncached = request->kernel_entry == BOOT_KERNEL_ENTRY_PVH,
        .cache_directory = request->cache_directory,
    };
    struct error why = {0};
    if (kernel_unpack(kernel->data, kernel->size, &options, unpacked, &why) < 0) {
        if (request->kernel_entry == BOOT_KERNEL_ENTRY_PVH)
            return error_set(error, EXIT_STATUS_USAGE, "--kernel-entry pvh: kernel %s: %.300s", kernel->name,
                             why.message);
        /* Said once, when it was found out; a kernel without PVH support then boots as it always did. */
        if (!unpacked->known_without_pvh)
            log_warn("kernel %s: %s; booting the bzImage", kernel->name, why.message);
        return 0;
    }
    if (unpacked->source == KERNEL_UNPACK_DECOMPRESSED_UNCACHED)
        log_warn("%s; the kernel is decompressed on every boot", unpacked->cache_problem);
    kernel->data = unpacked->data;
    kernel->size = unpacked->size;
    return 0;
}

int boot_memory_measure(const struct guest_memory *memory, struct process_memory_usage *usage, struct error *error)
{
    struct process_memory_range guest[GUEST_MEMORY_MAX_REGIONS];
    for (unsigned i = 0; i < memory->region_count; i++)
        guest[i] = (struct process_memory_range){
            .start = (uint64_t)(uintptr_t)memory->regions[i].host,
            .size = memory->regions[i].size,
        };
    return process_memory_measure(guest, memory->region_count, usage, error);
}

static void measure_peak(const struct guest_memory *memory, struct boot_peak_memory *peak)
{
    struct error error = {0};
    peak->measured = boot_memory_measure(memory, &peak->usage, &error) == 0;
    if (!peak->measured)
        snprintf(peak->problem, sizeof(peak->problem), "%.120s", error.message);
}

int boot_load(const struct guest_memory *memory, const struct boot_request *request, struct boot_entry *entry,
              struct error *error)
{
    if (request->cpu_count == 0 || request->cpu_count > ACPI_MAX_CPUS)
        return error_set(error, EXIT_STATUS_USAGE, "cannot boot %u CPUs: the count must be 1 to %d",
                         request->cpu_count, ACPI_MAX_CPUS);

    struct kernel_file kernel_file;
    struct kernel_file initrd_file = { .fd = -1 };
    if (kernel_file_open(request->kernel_path, "kernel", KERNEL_FILE_MAX_KERNEL_SIZE, &kernel_file, error) < 0)
        return -1;
    if (request->initrd_path &&
        kernel_file_open(request->initrd_path, "initrd", KERNEL_FILE_MAX_INITRD_SIZE, &initrd_file, error) < 0) {
        kernel_file_release(&kernel_file);
        return -1;
    }
    /*
     * The initrd, and a bzImage booting through its own entry, go from the
     * file straight into guest RAM. Everything else needs the whole kernel in
     * memory: the cache's key is the bzImage's hash, a payload is decompressed
     * from it, an ELF's program headers may be anywhere.
     */
    bool stream_kernel = request->kernel_entry == BOOT_KERNEL_ENTRY_BZIMAGE &&
                         bzimage_detect(kernel_file.head, kernel_file.head_size);
    if (!stream_kernel && kernel_file_read_all(&kernel_file, request->kernel_path, "kernel", error) < 0) {
        kernel_file_release(&initrd_file);
        kernel_file_release(&kernel_file);
        return -1;
    }

    struct boot_image kernel = kernel_file_image(&kernel_file, request->kernel_path);
    struct boot_image initrd = kernel_file_image(&initrd_file, request->initrd_path);
    struct kernel_unpacked unpacked = { 0 };
    int result = choose_kernel(request, &kernel, &unpacked, error);
    if (result == 0)
        result = boot_load_images(memory, &kernel, request->initrd_path ? &initrd : NULL, request->cmdline,
                                  request->cpu_count, entry, error);
    /* Now every buffer is mapped and the guest is loaded: the largest footprint of the VMM's startup. */
    if (result == 0 && request->peak) {
        /*
         * With nothing buffered (both files streamed) loading adds nothing to
         * the VMM's memory, and reading smaps here would only slow the start
         * (about 0.5 ms of the 5 ms budget): the exit's memory line says it all.
         */
        if (kernel_file.data || unpacked.data)
            measure_peak(memory, request->peak);
        else
            snprintf(request->peak->problem, sizeof(request->peak->problem),
                     "nothing was buffered (the boot files went straight into guest RAM)");
    }
    kernel_unpacked_release(&unpacked);
    kernel_file_release(&initrd_file);
    kernel_file_release(&kernel_file);
    return result;
}
