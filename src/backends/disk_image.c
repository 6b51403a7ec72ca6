#include "backends/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

enum { PROBE_BUFFER_SIZE = 4096 };

static int open_error(const char *path, bool read_only, int open_errno, struct error *error)
{
    if (open_errno == ENOENT || open_errno == ENOTDIR)
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s does not exist", path);
    if (open_errno == EISDIR)
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s is a directory", path);
    if (!read_only && (open_errno == EACCES || open_errno == EROFS || open_errno == EPERM)) {
        /* Tell "cannot write" apart from "cannot read": only the first is fixed by readonly=on. */
        int probe = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (probe >= 0) {
            close(probe);
            return error_set(error, EXIT_STATUS_USAGE, "disk image %s is read-only; add readonly=on to use it", path);
        }
    }
    return error_set(error, EXIT_STATUS_USAGE, "cannot open disk image %s: %s", path, strerror(open_errno));
}

static int image_size(int fd, const struct stat *status, const char *path, uint64_t *size, struct error *error)
{
    if (S_ISREG(status->st_mode)) {
        *size = (uint64_t)status->st_size;
        return 0;
    }
    if (ioctl(fd, BLKGETSIZE64, size) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "cannot read the size of disk image %s: %s", path, strerror(errno));
    return 0;
}

static int lock_image(int fd, bool read_only, const char *path, struct error *error)
{
    /* OFD locks belong to this open file, not to the process: a second open in this process conflicts too. */
    struct flock lock = {
        .l_type = read_only ? F_RDLCK : F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = 0,
        .l_len = 0,
    };
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s is locked by another process (in use by another VM?)",
                         path);
    return error_set(error, EXIT_STATUS_USAGE, "cannot lock disk image %s: %s", path, strerror(errno));
}

/* A 512-byte direct read at offset 0 tells 512-byte from 4K-sector storage when statx cannot. */
static uint32_t probe_direct_alignment(int fd)
{
    void *buffer = NULL;
    if (posix_memalign(&buffer, PROBE_BUFFER_SIZE, PROBE_BUFFER_SIZE) != 0)
        return PROBE_BUFFER_SIZE;
    ssize_t done = pread(fd, buffer, 512, 0);
    free(buffer);
    return done >= 0 ? 512 : PROBE_BUFFER_SIZE;
}

static void find_alignment(struct disk_image *image, const struct stat *status)
{
    image->block_size = 512;
    image->memory_alignment = 512;
    if (S_ISBLK(status->st_mode)) {
        int logical = 0;
        if (ioctl(image->fd, BLKSSZGET, &logical) == 0 && logical >= 512)
            image->block_size = image->memory_alignment = (uint32_t)logical;
        return;
    }
    if (!image->direct)
        return;
    struct statx extended;
    if (statx(image->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &extended) == 0 && (extended.stx_mask & STATX_DIOALIGN) &&
        extended.stx_dio_offset_align != 0) {
        image->block_size = extended.stx_dio_offset_align < 512 ? 512 : extended.stx_dio_offset_align;
        image->memory_alignment = extended.stx_dio_mem_align ? extended.stx_dio_mem_align : image->block_size;
        return;
    }
    image->block_size = image->memory_alignment = probe_direct_alignment(image->fd);
}

static int finish_open(struct disk_image *image, const struct disk_image_options *options, struct error *error)
{
    const char *path = options->path;
    struct stat status;
    if (fstat(image->fd, &status) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "cannot stat disk image %s: %s", path, strerror(errno));
    if (S_ISDIR(status.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s is a directory", path);
    if (!S_ISREG(status.st_mode) && !S_ISBLK(status.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s is not a regular file or a block device", path);
    if (image_size(image->fd, &status, path, &image->size, error) < 0)
        return -1;
    if (image->size == 0)
        return error_set(error, EXIT_STATUS_USAGE, "disk image %s is empty (zero length)", path);
    if (lock_image(image->fd, options->read_only, path, error) < 0)
        return -1;

    /* O_NONBLOCK only kept the open from hanging on a FIFO; O_DIRECT is set here so its refusal is one clear case. */
    int flags = fcntl(image->fd, F_GETFL);
    if (flags < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "fcntl(F_GETFL) on %s: %s", path, strerror(errno));
    flags &= ~O_NONBLOCK;
    if (options->cache == DISK_CACHE_NONE)
        flags |= O_DIRECT;
    if (fcntl(image->fd, F_SETFL, flags) < 0) {
        if (options->cache == DISK_CACHE_NONE)
            return error_set(error, EXIT_STATUS_USAGE,
                             "disk image %s: its file system refuses O_DIRECT (cache=none); use cache=writeback", path);
        return error_set(error, EXIT_STATUS_FAILURE, "fcntl(F_SETFL) on %s: %s", path, strerror(errno));
    }
    image->direct = options->cache == DISK_CACHE_NONE;
    image->read_only = options->read_only;
    find_alignment(image, &status);
    return 0;
}

int disk_image_open(struct disk_image *image, const struct disk_image_options *options, struct error *error)
{
    memset(image, 0, sizeof(*image));
    image->fd = -1;
    int access_mode = options->read_only ? O_RDONLY : O_RDWR;
    image->fd = open(options->path, access_mode | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (image->fd < 0)
        return open_error(options->path, options->read_only, errno, error);
    if (finish_open(image, options, error) < 0) {
        disk_image_close(image);
        return -1;
    }
    return 0;
}

void disk_image_close(struct disk_image *image)
{
    if (image->fd >= 0)
        close(image->fd);
    image->fd = -1;
}
