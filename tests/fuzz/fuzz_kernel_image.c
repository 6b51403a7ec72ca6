/*
 * Feeds arbitrary bytes to the kernel image parsers (bzImage setup header,
 * ELF PVH) and to the whole load path, which writes a small guest: with the
 * image in memory, and streamed (its head in memory, the rest read from a
 * memfd straight into guest RAM, as kestrel loads a bzImage file). No input
 * may crash, hang, or write outside guest RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot_image.h"
#include "boot/bzimage.h"
#include "boot/elf_pvh.h"
#include "mem/guest_memory.h"

/* Enough for the boot area and a kernel at 16 MiB with a small init_size. */
#define FUZZ_GUEST_MEMORY (40ull << 20)

static struct guest_memory memory;
static uint8_t initrd_bytes[3 * 4096 + 17];
static int image_fd = -1; /* the streamed image's file */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct error error;
    if (guest_memory_create(&memory, FUZZ_GUEST_MEMORY, &error) < 0)
        abort();
    for (size_t i = 0; i < sizeof(initrd_bytes); i++)
        initrd_bytes[i] = (uint8_t)i;
    image_fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
    if (image_fd < 0)
        abort();
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

    /* The same bytes streamed: only the head in memory, the rest from the file. */
    if (ftruncate(image_fd, 0) < 0 || pwrite(image_fd, data, size, 0) != (ssize_t)size)
        abort();
    /* A head of its own, so that ASan catches a parser reading past it. */
    size_t head_size = size < BOOT_IMAGE_HEAD_SIZE ? size : BOOT_IMAGE_HEAD_SIZE;
    uint8_t *head = malloc(head_size ? head_size : 1);
    if (!head)
        abort();
    memcpy(head, data, head_size);
    struct boot_image streamed = {
        .data = head,
        .size = size,
        .name = "fuzz-streamed",
        .streamed = true,
        .fd = image_fd,
        .head_size = head_size,
    };
    (void)boot_load_images(&memory, &streamed, (size & 2) ? &initrd : NULL, cmdlines[(size / 3) % 3], cpu_count,
                           &entry, &error);
    free(head);
    return 0;
}
