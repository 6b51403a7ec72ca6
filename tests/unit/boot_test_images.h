#ifndef KESTREL_TESTS_BOOT_TEST_IMAGES_H
#define KESTREL_TESTS_BOOT_TEST_IMAGES_H

/*
 * Synthetic kernel images for the boot tests: a minimal bzImage (boot
 * sector with a protocol 2.15 setup header, one setup sector, a patterned
 * "protected-mode kernel") and a minimal vmlinux-like ELF64 with a Xen PVH
 * entry note. Tests tweak the returned bytes to build each bad case.
 */

#include <asm/bootparam.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/pvh_start_info.h"

#define TEST_BZIMAGE_SETUP_SECTS  1
#define TEST_BZIMAGE_SETUP_SIZE   ((TEST_BZIMAGE_SETUP_SECTS + 1) * 512)
#define TEST_BZIMAGE_KERNEL_SIZE  0x2000
#define TEST_BZIMAGE_SIZE         (TEST_BZIMAGE_SETUP_SIZE + TEST_BZIMAGE_KERNEL_SIZE)
#define TEST_BZIMAGE_PREF_ADDRESS 0x1000000ull
#define TEST_BZIMAGE_INIT_SIZE    0x400000u
#define TEST_BZIMAGE_CMDLINE_SIZE 0x7ffu

static inline struct setup_header *test_bzimage_header(uint8_t *image)
{
    return (struct setup_header *)(image + 0x1f1);
}

/* Caller frees. Every byte of the kernel part is (offset & 0xff) ^ 0x5a, so tests can check the copy. */
static inline uint8_t *test_bzimage_create(size_t *size)
{
    uint8_t *image = calloc(1, TEST_BZIMAGE_SIZE);
    struct setup_header *header = test_bzimage_header(image);
    header->setup_sects = TEST_BZIMAGE_SETUP_SECTS;
    header->syssize = TEST_BZIMAGE_KERNEL_SIZE / 16;
    header->vid_mode = 0xffff;
    header->boot_flag = 0xaa55;
    header->jump = 0x6aeb; /* jmp over the header; its second byte is the header length from 0x202 */
    memcpy(&header->header, "HdrS", 4);
    header->version = 0x020f;
    header->loadflags = LOADED_HIGH;
    header->initrd_addr_max = 0x7fffffff;
    header->kernel_alignment = 0x200000;
    header->relocatable_kernel = 1;
    header->min_alignment = 21;
    header->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
    header->cmdline_size = TEST_BZIMAGE_CMDLINE_SIZE;
    header->pref_address = TEST_BZIMAGE_PREF_ADDRESS;
    header->init_size = TEST_BZIMAGE_INIT_SIZE;
    for (size_t i = 0; i < TEST_BZIMAGE_KERNEL_SIZE; i++)
        image[TEST_BZIMAGE_SETUP_SIZE + i] = (uint8_t)((i & 0xff) ^ 0x5a);
    *size = TEST_BZIMAGE_SIZE;
    return image;
}

/* ELF: header, 2 program headers (PT_NOTE, PT_LOAD), notes, then the segment's bytes at TEST_ELF_SEGMENT_OFFSET. */
#define TEST_ELF_NOTE_OFFSET    (sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr))
#define TEST_ELF_SEGMENT_OFFSET 0x1000u
#define TEST_ELF_SEGMENT_FILESZ 0x1000u
#define TEST_ELF_SEGMENT_MEMSZ  0x3000u
#define TEST_ELF_SEGMENT_PADDR  0x1000000ull
#define TEST_ELF_ENTRY          0x1000040u
#define TEST_ELF_SIZE           (TEST_ELF_SEGMENT_OFFSET + TEST_ELF_SEGMENT_FILESZ)

static inline Elf64_Ehdr *test_elf_header(uint8_t *image)
{
    return (Elf64_Ehdr *)image;
}

static inline Elf64_Phdr *test_elf_program(uint8_t *image, unsigned index)
{
    return (Elf64_Phdr *)(image + sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr));
}

/* Appends one note at `*offset`; returns the offset of its descriptor. */
static inline size_t test_elf_put_note(uint8_t *image, size_t *offset, const char *name, uint32_t type,
                                       const void *desc, uint32_t descsz)
{
    Elf64_Nhdr note = { .n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = descsz, .n_type = type };
    memcpy(image + *offset, &note, sizeof(note));
    *offset += sizeof(note);
    memcpy(image + *offset, name, note.n_namesz);
    *offset += (note.n_namesz + 3) & ~3u;
    size_t desc_offset = *offset;
    memcpy(image + *offset, desc, descsz);
    *offset += (descsz + 3) & ~3u;
    return desc_offset;
}

/*
 * `entry_note_size` 8 is what Linux emits (a pointer-sized value), 4 the
 * 32-bit form; 0 leaves the PVH note out. Caller frees.
 */
static inline uint8_t *test_elf_create(size_t *size, uint32_t entry_note_size)
{
    uint8_t *image = calloc(1, TEST_ELF_SIZE);
    Elf64_Ehdr *header = test_elf_header(image);
    memcpy(header->e_ident, ELFMAG, SELFMAG);
    header->e_ident[EI_CLASS] = ELFCLASS64;
    header->e_ident[EI_DATA] = ELFDATA2LSB;
    header->e_ident[EI_VERSION] = EV_CURRENT;
    header->e_type = ET_EXEC;
    header->e_machine = EM_X86_64;
    header->e_version = EV_CURRENT;
    header->e_entry = 0xffffffff81000000ull;
    header->e_phoff = sizeof(Elf64_Ehdr);
    header->e_ehsize = sizeof(Elf64_Ehdr);
    header->e_phentsize = sizeof(Elf64_Phdr);
    header->e_phnum = 2;

    /* A GNU build-id note first, so the loader must walk past notes it does not want. */
    size_t offset = TEST_ELF_NOTE_OFFSET;
    const uint8_t build_id[20] = { 1, 2, 3, 4, 5 };
    test_elf_put_note(image, &offset, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
    const uint64_t entry = TEST_ELF_ENTRY;
    if (entry_note_size)
        test_elf_put_note(image, &offset, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, entry_note_size);

    *test_elf_program(image, 0) = (Elf64_Phdr){
        .p_type = PT_NOTE,
        .p_offset = TEST_ELF_NOTE_OFFSET,
        .p_vaddr = 0,
        .p_paddr = 0,
        .p_filesz = offset - TEST_ELF_NOTE_OFFSET,
        .p_memsz = offset - TEST_ELF_NOTE_OFFSET,
        .p_align = 4,
    };
    *test_elf_program(image, 1) = (Elf64_Phdr){
        .p_type = PT_LOAD,
        .p_flags = PF_R | PF_X,
        .p_offset = TEST_ELF_SEGMENT_OFFSET,
        .p_vaddr = 0xffffffff81000000ull,
        .p_paddr = TEST_ELF_SEGMENT_PADDR,
        .p_filesz = TEST_ELF_SEGMENT_FILESZ,
        .p_memsz = TEST_ELF_SEGMENT_MEMSZ,
        .p_align = 0x1000,
    };
    for (size_t i = 0; i < TEST_ELF_SEGMENT_FILESZ; i++)
        image[TEST_ELF_SEGMENT_OFFSET + i] = (uint8_t)(i * 7 + 1);
    *size = TEST_ELF_SIZE;
    return image;
}

#endif
