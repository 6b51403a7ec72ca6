/*
 * make_bzimage OUT: writes the small synthetic bzImage that the unit tests
 * build (tests/unit/boot_test_images.h). tests/e2e/run.sh runs its bad-input
 * checks against it when the Debian kernel cannot be fetched: they need only
 * some valid kernel file, not a bootable one.
 */
#include <stdio.h>

#include "unit/boot_test_images.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT\n", argv[0]);
        return 2;
    }
    size_t size;
    uint8_t *image = test_bzimage_create(&size);
    FILE *file = fopen(argv[1], "wb");
    if (!image || !file || fwrite(image, 1, size, file) != size || fclose(file) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(image);
    return 0;
}
