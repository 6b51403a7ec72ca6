/*
 * Feeds arbitrary bytes to the kernel image parsers (bzImage setup header,
 * ELF PVH) and to the whole in-memory load path, which writes a small guest:
 * no input may crash, hang, or write outside guest RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/boot_image.h"
#include "boot/bzimage.h"
#include "boot/elf_pvh.h"
#include "mem/guest_memory.h"

/* Enough for the boot area and a kernel at 16 MiB with a small init_size. */
#define FUZZ_GUEST_MEMORY (40ull << 20)

static struct guest_memory memory;
static uint8_t initrd_bytes[3 * 4096 + 17];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct error error;
    if (guest_memory_create(&memory, FUZZ_GUEST_MEMORY, &error) < 0)
        abort();
    for (size_t i = 0; i < sizeof(initrd_bytes); i++)
        initrd_bytes[i] = (uint8_t)i;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error error;
    struct bzimage_info bzimage;
    struct elf_pvh_info elf;
    (void)bzimage_detect(data, size);
    (void)bzimage_parse(data, size, &bzimage, &error);
    (void)elf_detect(data, size);
    (void)elf_pvh_parse(data, size, &elf, &error);

    /* Vary the load options from the input's size so one corpus file covers several paths. */
    struct boot_image kernel = { .data = data, .size = size, .name = "fuzz-kernel" };
    struct boot_image initrd = { .data = initrd_bytes, .size = sizeof(initrd_bytes), .name = "fuzz-initrd" };
    const char *cmdlines[] = { NULL, "console=ttyS0 reboot=k panic=-1", "" };
    unsigned cpu_count = 1 + (unsigned)(size % 5);
    struct boot_entry entry;
    (void)boot_load_images(&memory, &kernel, (size & 1) ? &initrd : NULL, cmdlines[size % 3], cpu_count, &entry,
                           &error);
    return 0;
}
