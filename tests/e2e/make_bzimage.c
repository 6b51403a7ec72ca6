/*
 * make_bzimage OUT [--reboot]: writes the small synthetic bzImage that the
 * unit tests build (tests/unit/boot_test_images.h). tests/e2e/run.sh runs its
 * bad-input checks against it when the Debian kernel cannot be fetched: they
 * need only some valid kernel file, not a bootable one.
 *
 * --reboot puts a 64-bit entry in it for the native reboot checks
 * (tests/e2e/reboot-native.sh), where PVM runs such code but no stock kernel:
 * each boot writes "B" to COM1, waits for a byte on COM1's receiver (the
 * test's go-ahead), then pulses the i8042's reset line (0xfe to port 0x64).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "unit/boot_test_images.h"

/* At the 64-bit entry, 0x200 into the protected-mode kernel. */
static const uint8_t reboot_code[] = {
    0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
    0xb0, 'B',              /* mov al, 'B' */
    0xee,                   /* out dx, al */
    0x66, 0xba, 0xfd, 0x03, /* mov dx, 0x3fd (line status) */
    0xec,                   /* wait: in al, dx */
    0xa8, 0x01,             /* test al, 1 (data ready) */
    0x74, 0xfb,             /* jz wait */
    0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
    0xec,                   /* in al, dx (take the byte) */
    0xb0, 0xfe,             /* mov al, 0xfe */
    0xe6, 0x64,             /* out 0x64, al: reset */
    0xeb, 0xfe,             /* jmp $ */
};

int main(int argc, char **argv)
{
    bool reboot = argc == 3 && strcmp(argv[2], "--reboot") == 0;
    if (argc != 2 && !reboot) {
        fprintf(stderr, "usage: %s OUT [--reboot]\n", argv[0]);
        return 2;
    }
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    if (image && reboot)
        memcpy(image + TEST_BZIMAGE_SETUP_SIZE + 0x200, reboot_code, sizeof(reboot_code));
    FILE *file = fopen(argv[1], "wb");
    if (!image || !file || fwrite(image, 1, size, file) != size || fclose(file) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(image);
    return 0;
}
