#include "boot/elf_pvh.h"

#include <elf.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/initrd.h"
#include "boot/pvh_start_info.h"
#include "util/checked_math.h"

/* Segments start above the boot structures kestrel keeps below 1 MiB. */
#define ELF_PVH_LOWEST_PADDR LAYOUT_KERNEL_DEFAULT_GPA
#define ELF_PVH_PAGE_SIZE    0x1000ull
/* The module list sits right after hvm_start_info, in the same page. */
#define ELF_PVH_MODLIST_GPA (LAYOUT_PVH_START_INFO_GPA + 0x40)
#define ELF_PVH_MEMMAP_MAX  ((LAYOUT_ZERO_PAGE_GPA - LAYOUT_PVH_MEMMAP_GPA) / sizeof(struct hvm_memmap_table_entry))

_Static_assert(ELF_PVH_MODLIST_GPA >= LAYOUT_PVH_START_INFO_GPA + sizeof(struct hvm_start_info),
               "module list overlaps hvm_start_info");
_Static_assert(ELF_PVH_MODLIST_GPA + sizeof(struct hvm_modlist_entry) <= LAYOUT_PVH_MEMMAP_GPA,
               "module list overlaps the memory map");
_Static_assert(ELF_PVH_MEMMAP_MAX >= E820_MAP_MAX_ENTRIES, "PVH memory map area too small for the e820 map");

bool elf_detect(const uint8_t *data, size_t size)
{
    return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

static uint64_t align4(uint64_t value)
{
    return (value + 3) & ~3ull;
}

/*
 * Walks the notes of one PT_NOTE segment ([offset, offset+size) already
 * checked to lie in the file) for the Xen PHYS32_ENTRY note.
 */
static int find_pvh_entry(const uint8_t *data, uint64_t offset, uint64_t size, bool *found, uint32_t *entry,
                          struct error *error)
{
    uint64_t position = 0;
    for (unsigned note = 0; note < ELF_PVH_MAX_NOTES && size - position >= sizeof(Elf64_Nhdr); note++) {
        Elf64_Nhdr header;
        memcpy(&header, data + offset + position, sizeof(header));
        position += sizeof(header);
        uint64_t name_space = align4(header.n_namesz);
        if (name_space > size - position)
            return error_set(error, EXIT_STATUS_USAGE, "ELF note name (%u bytes) runs past its PT_NOTE segment",
                             header.n_namesz);
        const uint8_t *name = data + offset + position;
        position += name_space;
        uint64_t desc_space = align4(header.n_descsz);
        if (desc_space > size - position)
            return error_set(error, EXIT_STATUS_USAGE, "ELF note data (%u bytes) runs past its PT_NOTE segment",
                             header.n_descsz);
        const uint8_t *desc = data + offset + position;
        position += desc_space;

        if (header.n_namesz != 4 || memcmp(name, "Xen", 4) != 0 || header.n_type != XEN_ELFNOTE_PHYS32_ENTRY)
            continue;
        /* Linux emits the address as a pointer-sized value; only the low 32 bits may be set. */
        uint64_t address = 0;
        if (header.n_descsz == 4) {
            uint32_t value;
            memcpy(&value, desc, 4);
            address = value;
        } else if (header.n_descsz == 8) {
            memcpy(&address, desc, 8);
        } else {
            return error_set(error, EXIT_STATUS_USAGE, "Xen PVH entry note has %u bytes of data, not 4 or 8",
                             header.n_descsz);
        }
        if (address > UINT32_MAX)
            return error_set(error, EXIT_STATUS_USAGE, "Xen PVH entry point 0x%llx is not a 32-bit address",
                             (unsigned long long)address);
        *found = true;
        *entry = (uint32_t)address;
    }
    return 0;
}

static int check_header(const uint8_t *data, size_t size, Elf64_Ehdr *header, struct error *error)
{
    if (!elf_detect(data, size) || size < EI_NIDENT)
        return error_set(error, EXIT_STATUS_USAGE, "not an ELF file");
    if (data[EI_CLASS] != ELFCLASS64)
        return error_set(error, EXIT_STATUS_USAGE, "%s ELF (class %u), kestrel boots 64-bit x86-64 kernels",
                         data[EI_CLASS] == ELFCLASS32 ? "a 32-bit" : "an unknown-class", data[EI_CLASS]);
    if (data[EI_DATA] != ELFDATA2LSB)
        return error_set(error, EXIT_STATUS_USAGE, "a big-endian ELF, not x86-64");
    if (size < sizeof(Elf64_Ehdr))
        return error_set(error, EXIT_STATUS_USAGE, "ELF file too short for its header (%zu bytes)", size);
    memcpy(header, data, sizeof(*header));
    if (header->e_machine != EM_X86_64)
        return error_set(error, EXIT_STATUS_USAGE, "an ELF for machine %u, not x86-64 (%u)", header->e_machine,
                         EM_X86_64);
    if (header->e_type != ET_EXEC)
        return error_set(error, EXIT_STATUS_USAGE, "ELF type %u is not an executable (vmlinux is ET_EXEC)",
                         header->e_type);
    if (header->e_phnum == 0)
        return error_set(error, EXIT_STATUS_USAGE, "ELF has no program headers");
    if (header->e_phentsize != sizeof(Elf64_Phdr))
        return error_set(error, EXIT_STATUS_USAGE, "ELF program header size is %u, not %zu", header->e_phentsize,
                         sizeof(Elf64_Phdr));
    if (header->e_phnum > ELF_PVH_MAX_PROGRAM_HEADERS)
        return error_set(error, EXIT_STATUS_USAGE, "ELF has %u program headers, more than %d", header->e_phnum,
                         ELF_PVH_MAX_PROGRAM_HEADERS);
    if (!range_within(header->e_phoff, (uint64_t)header->e_phnum * sizeof(Elf64_Phdr), 0, size))
        return error_set(error, EXIT_STATUS_USAGE,
                         "ELF program headers (%u at offset 0x%llx) lie outside the file (%zu bytes)",
                         header->e_phnum, (unsigned long long)header->e_phoff, size);
    return 0;
}

static int add_segment(const Elf64_Phdr *program, unsigned index, size_t size, struct elf_pvh_info *info,
                       struct error *error)
{
    if (!range_within(program->p_offset, program->p_filesz, 0, size))
        return error_set(error, EXIT_STATUS_USAGE,
                         "ELF segment %u (0x%llx bytes at offset 0x%llx) lies outside the file (%zu bytes)", index,
                         (unsigned long long)program->p_filesz, (unsigned long long)program->p_offset, size);
    if (program->p_filesz > program->p_memsz)
        return error_set(error, EXIT_STATUS_USAGE, "ELF segment %u has more file bytes (0x%llx) than memory (0x%llx)",
                         index, (unsigned long long)program->p_filesz, (unsigned long long)program->p_memsz);
    uint64_t end;
    if (!checked_add_u64(program->p_paddr, program->p_memsz, &end))
        return error_set(error, EXIT_STATUS_USAGE, "ELF segment %u wraps the address space", index);
    if (program->p_memsz == 0)
        return 0;
    if (program->p_paddr < ELF_PVH_LOWEST_PADDR)
        return error_set(error, EXIT_STATUS_USAGE,
                         "ELF segment %u at physical 0x%llx overlaps the boot area below 1 MiB", index,
                         (unsigned long long)program->p_paddr);
    if (info->segment_count >= ELF_PVH_MAX_SEGMENTS)
        return error_set(error, EXIT_STATUS_USAGE, "ELF has more than %d loadable segments", ELF_PVH_MAX_SEGMENTS);
    info->segments[info->segment_count++] = (struct elf_pvh_segment){
        .file_offset = program->p_offset,
        .file_size = program->p_filesz,
        .paddr = program->p_paddr,
        .mem_size = program->p_memsz,
    };
    if (end > info->end_paddr)
        info->end_paddr = end;
    return 0;
}

int elf_pvh_parse(const uint8_t *data, size_t size, struct elf_pvh_info *info, struct error *error)
{
    memset(info, 0, sizeof(*info));
    Elf64_Ehdr header;
    if (check_header(data, size, &header, error) < 0)
        return -1;

    bool found = false;
    for (unsigned i = 0; i < header.e_phnum; i++) {
        Elf64_Phdr program;
        memcpy(&program, data + header.e_phoff + (uint64_t)i * sizeof(program), sizeof(program));
        if (program.p_type == PT_LOAD) {
            if (add_segment(&program, i, size, info, error) < 0)
                return -1;
        } else if (program.p_type == PT_NOTE) {
            if (!range_within(program.p_offset, program.p_filesz, 0, size))
                return error_set(error, EXIT_STATUS_USAGE,
                                 "ELF note segment %u (0x%llx bytes at offset 0x%llx) lies outside the file", i,
                                 (unsigned long long)program.p_filesz, (unsigned long long)program.p_offset);
            if (find_pvh_entry(data, program.p_offset, program.p_filesz, &found, &info->entry, error) < 0)
                return -1;
        }
    }
    if (info->segment_count == 0)
        return error_set(error, EXIT_STATUS_USAGE, "ELF has no loadable segment");
    if (!found)
        return error_set(error, EXIT_STATUS_USAGE,
                         "ELF has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build the kernel with "
                         "CONFIG_PVH or boot its bzImage");
    bool entry_loaded = false;
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_pvh_segment *segment = &info->segments[i];
        if (info->entry >= segment->paddr && info->entry - segment->paddr < segment->file_size)
            entry_loaded = true;
    }
    if (!entry_loaded)
        return error_set(error, EXIT_STATUS_USAGE, "PVH entry point 0x%x is not inside a loaded segment",
                         info->entry);
    return 0;
}

static int write_start_info(const struct guest_memory *memory, const struct boot_platform *platform,
                            uint64_t initrd_gpa, uint64_t initrd_size, struct error *error)
{
    struct hvm_memmap_table_entry memmap[E820_MAP_MAX_ENTRIES];
    memset(memmap, 0, sizeof(memmap));
    for (unsigned i = 0; i < platform->e820->count; i++) {
        memmap[i].addr = platform->e820->entries[i].addr;
        memmap[i].size = platform->e820->entries[i].size;
        memmap[i].type = platform->e820->entries[i].type;
    }
    struct hvm_start_info start_info = {
        .magic = HVM_START_MAGIC_VALUE,
        .version = 1,
        .cmdline_paddr = platform->cmdline_gpa,
        .rsdp_paddr = platform->rsdp_gpa,
        .memmap_paddr = LAYOUT_PVH_MEMMAP_GPA,
        .memmap_entries = platform->e820->count,
    };
    struct hvm_modlist_entry module = { .paddr = initrd_gpa, .size = initrd_size };
    if (initrd_size) {
        start_info.nr_modules = 1;
        start_info.modlist_paddr = ELF_PVH_MODLIST_GPA;
    }
    if (guest_memory_write(memory, LAYOUT_PVH_START_INFO_GPA, &start_info, sizeof(start_info)) < 0 ||
        guest_memory_write(memory, ELF_PVH_MODLIST_GPA, &module, sizeof(module)) < 0 ||
        guest_memory_write(memory, LAYOUT_PVH_MEMMAP_GPA, memmap,
                           platform->e820->count * sizeof(memmap[0])) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "PVH start info area is not in guest RAM");
    return 0;
}

static bool all_zero(const uint8_t *data, size_t size)
{
    static const uint8_t zeros[ELF_PVH_PAGE_SIZE];
    return memcmp(data, zeros, size) == 0;
}

/*
 * Writes a segment's file bytes a guest page at a time, and pages that are all
 * zero in the file through guest_memory_zero() instead of a copy: on guest RAM
 * never touched that costs no page fault and no host memory. A Debian vmlinux
 * carries ~27 of its 56 MiB of segments as zero pages (.bss, .brk, init
 * scratch; docs/benchmarks.md).
 */
static void write_segment_bytes(const struct guest_memory *memory, uint8_t *host, uint64_t gpa,
                                const uint8_t *source, uint64_t size)
{
    uint64_t done = 0, zero_start = 0, zero_size = 0;
    while (done < size) {
        /* Chunks end on guest page boundaries, so a zero run covers whole pages except at the ends. */
        uint64_t chunk = ELF_PVH_PAGE_SIZE - ((gpa + done) & (ELF_PVH_PAGE_SIZE - 1));
        if (chunk > size - done)
            chunk = size - done;
        if (all_zero(source + done, (size_t)chunk)) {
            if (zero_size == 0)
                zero_start = done;
            zero_size += chunk;
        } else {
            if (zero_size)
                (void)guest_memory_zero(memory, gpa + zero_start, zero_size);
            zero_size = 0;
            memcpy(host + done, source + done, (size_t)chunk);
        }
        done += chunk;
    }
    if (zero_size)
        (void)guest_memory_zero(memory, gpa + zero_start, zero_size);
}

int elf_pvh_load(const struct guest_memory *memory, const struct elf_pvh_info *info,
                 const struct boot_image *kernel, const struct boot_image *initrd,
                 const struct boot_platform *platform, struct boot_entry *entry, struct error *error)
{
    for (unsigned i = 0; i < info->segment_count; i++) {
        const struct elf_pvh_segment *segment = &info->segments[i];
        uint8_t *host = gpa_to_hva(memory, segment->paddr, segment->mem_size);
        if (!host)
            return error_set(error, EXIT_STATUS_USAGE,
                             "kernel %s segment at 0x%llx-0x%llx lies outside guest RAM (%llu MiB)", kernel->name,
                             (unsigned long long)segment->paddr,
                             (unsigned long long)(segment->paddr + segment->mem_size),
                             (unsigned long long)(guest_memory_total_size(memory) >> 20));
        /* A vmlinux's segments are tens of MiB that the VMM writes right now: fault them in as huge pages. */
        (void)guest_memory_advise_huge_pages(memory, segment->paddr, segment->mem_size);
        write_segment_bytes(memory, host, segment->paddr, kernel->data + segment->file_offset, segment->file_size);
        /* bss: the part of the segment with no bytes in the file starts zeroed. The range was checked above. */
        (void)guest_memory_zero(memory, segment->paddr + segment->file_size, segment->mem_size - segment->file_size);
    }

    uint64_t initrd_gpa = 0;
    if (initrd) {
        uint64_t lowest = align_up_u64(info->end_paddr, ELF_PVH_PAGE_SIZE);
        if (!initrd_place(memory, initrd->size, lowest, GUEST_MMIO_HOLE_START, &initrd_gpa))
            return error_set(error, EXIT_STATUS_USAGE,
                             "initrd %s (%zu bytes) does not fit in low RAM above the kernel (ending at 0x%llx) "
                             "with %llu MiB of guest memory",
                             initrd->name, initrd->size, (unsigned long long)info->end_paddr,
                             (unsigned long long)(guest_memory_total_size(memory) >> 20));
        if (boot_image_place(memory, initrd_gpa, initrd, 0, initrd->size, error) < 0)
            return -1;
    }
    if (write_start_info(memory, platform, initrd_gpa, initrd ? initrd->size : 0, error) < 0)
        return -1;

    entry->mode = BOOT_ENTRY_PVH_32BIT;
    entry->entry_gpa = info->entry;
    entry->boot_info_gpa = LAYOUT_PVH_START_INFO_GPA;
    return 0;
}
