#include "boot/bzimage.h"

#include <asm/bootparam.h>
#include <stddef.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/initrd.h"
#include "util/checked_math.h"



#define BZIMAGE_SECTOR_SIZE    512u
#define BZIMAGE_BOOT_FLAG      0xaa55
#define BZIMAGE_HEADER_MAGIC   0x53726448u /* "HdrS" */
/* Offset of the byte that gives the setup header's length (it ends at 0x202 + that byte). */
#define BZIMAGE_HEADER_LENGTH_BYTE 0x201
#define BZIMAGE_HEADER_END_BASE    0x202
/* type_of_loader for a boot loader without an assigned id. */
#define BZIMAGE_LOADER_UNDEFINED 0xff
/* End of the setup heap, relative to the real-mode code; the 64-bit entry ignores it, older paths expect it. */
#define BZIMAGE_HEAP_END 0xfe00
/* Largest kernel_alignment accepted (Linux uses 2 MiB or 16 MiB). */
#define BZIMAGE_MAX_ALIGNMENT (1ull << 30)
/* Kernel must start above the boot structures kestrel keeps below 1 MiB. */
#define BZIMAGE_LOWEST_LOAD LAYOUT_KERNEL_DEFAULT_GPA

/* The setup header's length is one byte, so it ends by 0x301. */
_Static_assert(BZIMAGE_HEADER_END_BASE + 0xff <= BOOT_IMAGE_HEAD_SIZE,
               "a streamed bzImage keeps its whole setup header in memory");

#define HEADER_FIELD_OFFSET(field) (BZIMAGE_SETUP_HEADER_OFFSET + offsetof(struct setup_header, field))

static uint64_t read_le(const uint8_t *data, size_t offset, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value |= (uint64_t)data[offset + i] << (8 * i);
    return value;
}

#define HEADER_FIELD(data, field) \
    read_le((data), HEADER_FIELD_OFFSET(field), sizeof(((struct setup_header *)0)->field))

/* Bytes needed to read every header field kestrel uses (up to init_size, protocol 2.10+). */
#define BZIMAGE_HEADER_NEEDED (HEADER_FIELD_OFFSET(init_size) + sizeof(uint32_t))

bool bzimage_detect(const uint8_t *data, size_t size)
{
    return size >= HEADER_FIELD_OFFSET(header) + 4 && HEADER_FIELD(data, header) == BZIMAGE_HEADER_MAGIC;
}

int bzimage_parse(const uint8_t *data, size_t size, struct bzimage_info *info, struct error *error)
{
    memset(info, 0, sizeof(*info));
    if (size < BZIMAGE_HEADER_NEEDED)
        return error_set(error, EXIT_STATUS_USAGE, "too short for a bzImage setup header (%zu bytes, need %zu)",
                         size, (size_t)BZIMAGE_HEADER_NEEDED);
    if (HEADER_FIELD(data, boot_flag) != BZIMAGE_BOOT_FLAG)
        return error_set(error, EXIT_STATUS_USAGE, "bzImage boot flag is 0x%04llx, not 0xaa55",
                         (unsigned long long)HEADER_FIELD(data, boot_flag));
    if (HEADER_FIELD(data, header) != BZIMAGE_HEADER_MAGIC)
        return error_set(error, EXIT_STATUS_USAGE, "no \"HdrS\" bzImage setup header magic");

    info->protocol_version = (uint16_t)HEADER_FIELD(data, version);
    if (info->protocol_version < BZIMAGE_MIN_PROTOCOL)
        return error_set(error, EXIT_STATUS_USAGE,
                         "boot protocol %u.%02u is too old: kestrel needs 2.12 or later (64-bit entry point)",
                         info->protocol_version >> 8, info->protocol_version & 0xff);

    size_t header_end = BZIMAGE_HEADER_END_BASE + data[BZIMAGE_HEADER_LENGTH_BYTE];
    if (header_end < BZIMAGE_HEADER_NEEDED)
        return error_set(error, EXIT_STATUS_USAGE,
                         "setup header ends at 0x%zx, before the fields protocol 2.%02u requires (0x%zx)", header_end,
                         info->protocol_version & 0xff, (size_t)BZIMAGE_HEADER_NEEDED);
    if (header_end > size)
        return error_set(error, EXIT_STATUS_USAGE, "setup header ends at 0x%zx, past the end of the file (%zu bytes)",
                         header_end, size);
    info->header_length = header_end - BZIMAGE_SETUP_HEADER_OFFSET;
    if (info->header_length > sizeof(struct setup_header))
        info->header_length = sizeof(struct setup_header);

    info->xloadflags = (uint16_t)HEADER_FIELD(data, xloadflags);
    if (!(info->xloadflags & XLF_KERNEL_64))
        return error_set(error, EXIT_STATUS_USAGE, "no 64-bit entry point (xloadflags 0x%x lacks XLF_KERNEL_64)",
                         info->xloadflags);
    if (!(HEADER_FIELD(data, loadflags) & LOADED_HIGH))
        return error_set(error, EXIT_STATUS_USAGE, "a zImage (loads at 0x10000), not a bzImage");

    uint64_t setup_sects = HEADER_FIELD(data, setup_sects);
    if (setup_sects == 0)
        setup_sects = 4; /* the boot protocol's rule for very old kernels */
    info->setup_size = (size_t)((setup_sects + 1) * BZIMAGE_SECTOR_SIZE);
    if (info->setup_size > size)
        return error_set(error, EXIT_STATUS_USAGE,
                         "truncated: the header claims %llu setup sectors (%zu bytes) but the file has only %zu bytes",
                         (unsigned long long)setup_sects, info->setup_size, size);

    uint64_t kernel_size = HEADER_FIELD(data, syssize) * 16;
    if (kernel_size == 0)
        return error_set(error, EXIT_STATUS_USAGE, "setup header gives no protected-mode code (syssize 0)");
    if (kernel_size > size - info->setup_size)
        return error_set(error, EXIT_STATUS_USAGE,
                         "truncated: the header claims %llu bytes of protected-mode code after %zu bytes of setup, "
                         "but the file has only %zu bytes",
                         (unsigned long long)kernel_size, info->setup_size, size);
    info->kernel_offset = info->setup_size;
    info->kernel_size = (size_t)kernel_size;

    info->pref_address = HEADER_FIELD(data, pref_address);
    info->relocatable = HEADER_FIELD(data, relocatable_kernel) != 0;
    info->kernel_alignment = HEADER_FIELD(data, kernel_alignment);
    if (info->relocatable && (info->kernel_alignment == 0 ||
                              (info->kernel_alignment & (info->kernel_alignment - 1)) != 0 ||
                              info->kernel_alignment > BZIMAGE_MAX_ALIGNMENT))
        return error_set(error, EXIT_STATUS_USAGE,
                         "relocatable kernel has an invalid kernel_alignment 0x%llx (not a power of two up to 1 GiB)",
                         (unsigned long long)info->kernel_alignment);
    uint64_t init_size = HEADER_FIELD(data, init_size);
    info->memory_needed = init_size > kernel_size ? init_size : kernel_size;
    info->cmdline_size = (uint32_t)HEADER_FIELD(data, cmdline_size);
    info->initrd_addr_max = (uint32_t)HEADER_FIELD(data, initrd_addr_max);
    return 0;
}

/*
 * The kernel goes at pref_address. Loading a relocatable kernel lower would
 * not save memory: its decompressor moves itself up to at least
 * LOAD_PHYSICAL_ADDR (which is pref_address) and then uses init_size bytes
 * from there. So [pref_address aligned up, + init_size) must be RAM, and the
 * initrd goes above it. Returns the end of that range through `reserved_end`.
 */
static int check_kernel_range(const struct guest_memory *memory, const struct bzimage_info *info,
                              const struct boot_image *kernel, uint64_t *reserved_end, struct error *error)
{
    uint64_t start = info->pref_address;
    if (start < BZIMAGE_LOWEST_LOAD)
        return error_set(error, EXIT_STATUS_USAGE,
                         "kernel %s wants to load at 0x%llx (pref_address), inside the boot area below 1 MiB",
                         kernel->name, (unsigned long long)start);
    if (info->relocatable)
        start = align_up_u64(start, info->kernel_alignment);
    uint64_t end;
    if (start < info->pref_address || !checked_add_u64(start, info->memory_needed, &end) ||
        end > e820_low_ram_end(memory))
        return error_set(error, EXIT_STATUS_USAGE,
                         "kernel %s needs 0x%llx bytes of RAM at 0x%llx to boot (init_size), more than guest memory "
                         "(%llu MiB) has below the 32-bit hole",
                         kernel->name, (unsigned long long)info->memory_needed, (unsigned long long)info->pref_address,
                         (unsigned long long)(guest_memory_total_size(memory) >> 20));
    *reserved_end = end;
    return 0;
}

static int load_initrd(const struct guest_memory *memory, const struct bzimage_info *info,
                       const struct boot_image *initrd, uint64_t kernel_end, uint64_t *gpa, struct error *error)
{
    /* initrd_addr_max is the last byte the initrd may use. */
    uint64_t limit = (uint64_t)info->initrd_addr_max + 1;
    if (!initrd_place(memory, initrd->size, align_up_u64(kernel_end, 0x1000), limit, gpa))
        return error_set(error, EXIT_STATUS_USAGE,
                         "initrd %s (%zu bytes) does not fit between the kernel (ending at 0x%llx) and "
                         "initrd_addr_max 0x%llx with %llu MiB of guest memory",
                         initrd->name, initrd->size, (unsigned long long)kernel_end,
                         (unsigned long long)info->initrd_addr_max,
                         (unsigned long long)(guest_memory_total_size(memory) >> 20));
    return boot_image_place(memory, *gpa, initrd, 0, initrd->size, error);
}

int bzimage_check_cmdline(const struct bzimage_info *info, size_t cmdline_length, const char *kernel_name,
                          struct error *error)
{
    if (cmdline_length > info->cmdline_size)
        return error_set(error, EXIT_STATUS_USAGE,
                         "command line is %zu bytes, longer than the %u bytes kernel %s accepts (cmdline_size)",
                         cmdline_length, info->cmdline_size, kernel_name);
    return 0;
}

int bzimage_load(const struct guest_memory *memory, const struct bzimage_info *info,
                 const struct boot_image *kernel, const struct boot_image *initrd,
                 const struct boot_platform *platform, struct boot_entry *entry, struct error *error)
{
    if (bzimage_check_cmdline(info, platform->cmdline_length, kernel->name, error) < 0)
        return -1;
    if (initrd && info->initrd_addr_max == 0)
        return error_set(error, EXIT_STATUS_USAGE, "kernel %s cannot take an initrd (initrd_addr_max is 0)",
                         kernel->name);

    uint64_t load_address = info->pref_address;
    uint64_t kernel_end = 0;
    if (check_kernel_range(memory, info, kernel, &kernel_end, error) < 0)
        return -1;
    /* Straight from the file when the kernel is streamed: the protected-mode code is most of a bzImage. */
    if (boot_image_place(memory, load_address, kernel, info->kernel_offset, info->kernel_size, error) < 0)
        return -1;

    uint64_t initrd_gpa = 0;
    if (initrd && load_initrd(memory, info, initrd, kernel_end, &initrd_gpa, error) < 0)
        return -1;

    struct boot_params *zero_page = gpa_to_hva(memory, LAYOUT_ZERO_PAGE_GPA, sizeof(struct boot_params));
    if (!zero_page)
        return error_set(error, EXIT_STATUS_FAILURE, "zero page 0x%llx is not in guest RAM",
                         (unsigned long long)LAYOUT_ZERO_PAGE_GPA);
    memset(zero_page, 0, sizeof(*zero_page));
    /* The kernel reads its own header back from the zero page, with the loader's fields filled in. */
    /* The header ends by 0x302, inside a streamed image's head (BOOT_IMAGE_HEAD_SIZE). */
    memcpy(&zero_page->hdr, kernel->data + BZIMAGE_SETUP_HEADER_OFFSET, info->header_length);
    struct setup_header *header = &zero_page->hdr;
    header->type_of_loader = BZIMAGE_LOADER_UNDEFINED;
    header->loadflags = (uint8_t)((header->loadflags | LOADED_HIGH | CAN_USE_HEAP) & ~KEEP_SEGMENTS);
    header->heap_end_ptr = BZIMAGE_HEAP_END;
    header->code32_start = (uint32_t)load_address;
    /* Fields that would send the kernel down other platforms' paths or into unvetted memory. */
    header->setup_data = 0;
    header->hardware_subarch = 0; /* X86_SUBARCH_PC */
    header->hardware_subarch_data = 0;
    header->cmd_line_ptr = (uint32_t)platform->cmdline_gpa;
    zero_page->ext_cmd_line_ptr = (uint32_t)(platform->cmdline_gpa >> 32);
    if (initrd) {
        header->ramdisk_image = (uint32_t)initrd_gpa;
        header->ramdisk_size = (uint32_t)initrd->size;
        zero_page->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
        zero_page->ext_ramdisk_size = (uint32_t)((uint64_t)initrd->size >> 32);
    } else {
        header->ramdisk_image = 0;
        header->ramdisk_size = 0;
    }
    /* acpi_rsdp_addr is read by kernels from protocol 2.14 on; older ones scan the BIOS area and find it anyway. */
    if (info->protocol_version >= 0x020e)
        zero_page->acpi_rsdp_addr = platform->rsdp_gpa;

    unsigned count = platform->e820->count;
    if (count > E820_MAX_ENTRIES_ZEROPAGE)
        count = E820_MAX_ENTRIES_ZEROPAGE;
    for (unsigned i = 0; i < count; i++) {
        zero_page->e820_table[i].addr = platform->e820->entries[i].addr;
        zero_page->e820_table[i].size = platform->e820->entries[i].size;
        zero_page->e820_table[i].type = platform->e820->entries[i].type;
    }
    zero_page->e820_entries = (uint8_t)count;

    entry->mode = BOOT_ENTRY_LINUX_64BIT;
    entry->entry_gpa = load_address + BZIMAGE_64BIT_ENTRY_OFFSET;
    entry->boot_info_gpa = LAYOUT_ZERO_PAGE_GPA;
    return 0;
}
