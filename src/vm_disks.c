#include "vm_disks.h"

#include <sys/stat.h>

/*
 * One image given twice would be one file under two devices; its second open
 * would fail on the first's lock (or share it, both read-only) with a message
 * that blames another process. stat before open, so that case reads clearly.
 */
static int check_not_open_already(const struct vm_config *config, const struct disk_image images[], unsigned opened,
                                  const char *path, struct error *error)
{
    struct stat wanted;
    if (stat(path, &wanted) < 0)
        return 0; /* disk_image_open reports it */
    for (unsigned i = 0; i < opened; i++) {
        struct stat open_image;
        if (fstat(images[i].fd, &open_image) == 0 && open_image.st_dev == wanted.st_dev &&
            open_image.st_ino == wanted.st_ino)
            return error_set(error, EXIT_STATUS_USAGE, "disk image %s is given twice (--disk %s and --disk %s)", path,
                             config->disks[i].path, path);
    }
    return 0;
}

int vm_disks_open(const struct vm_config *config, struct disk_image images[CLI_MAX_DISKS], unsigned *opened,
                  struct error *error)
{
    *opened = 0;
    for (unsigned i = 0; i < config->disk_count && i < CLI_MAX_DISKS; i++) {
        const struct disk_spec *spec = &config->disks[i];
        if (check_not_open_already(config, images, *opened, spec->path, error) < 0)
            return -1;
        const struct disk_image_options options = {
            .path = spec->path,
            .read_only = spec->read_only,
            .cache = spec->cache,
        };
        if (disk_image_open(&images[i], &options, error) < 0)
            return -1;
        (*opened)++;
    }
    return 0;
}

void vm_disks_close(struct disk_image images[CLI_MAX_DISKS], unsigned *opened)
{
    for (unsigned i = 0; i < *opened; i++)
        disk_image_close(&images[i]);
    *opened = 0;
}
