#include "boot/kernel_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_file(int fd, const char *path, const char *what, uint64_t max_size, size_t *size,
                      struct error *error)
{
    struct stat status;
    if (fstat(fd, &status) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "cannot stat %s %s: %s", what, path, strerror(errno));
    if (S_ISDIR(status.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is a directory", what, path);
    if (!S_ISREG(status.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is not a regular file", what, path);
    if (status.st_size <= 0)
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is empty", what, path);
    if ((uint64_t)status.st_size > max_size)
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is %llu bytes, more than the limit of %llu MiB", what,
                         path, (unsigned long long)status.st_size, (unsigned long long)(max_size >> 20));
    *size = (size_t)status.st_size;
    return 0;
}

/* Reads [offset, offset+size) of the file into `buffer`; the file must not shrink meanwhile. */
static int read_exactly(int fd, uint8_t *buffer, size_t offset, size_t size, const char *path, const char *what,
                        size_t file_size, struct error *error)
{
    size_t done = 0;
    /* Each pass moves at least one byte or ends the loop. */
    while (done < size) {
        ssize_t got = pread(fd, buffer + done, size - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return error_set(error, EXIT_STATUS_USAGE, "cannot read %s %s: %s", what, path, strerror(errno));
        if (got == 0)
            return error_set(error, EXIT_STATUS_USAGE, "%s %s shrank while being read (%zu of %zu bytes)", what,
                             path, offset + done, file_size);
        done += (size_t)got;
    }
    return 0;
}

int kernel_file_open(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error)
{
    file->fd = -1;
    file->data = NULL;
    file->size = 0;
    file->head_size = 0;
    /* O_NONBLOCK: opening a FIFO or a device must not hang; regular files ignore it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_USAGE, "cannot open %s %s: %s", what, path, strerror(errno));
    size_t size = 0;
    size_t head = 0;
    if (check_file(fd, path, what, max_size, &size, error) < 0) {
        close(fd);
        return -1;
    }
    head = size < sizeof(file->head) ? size : sizeof(file->head);
    if (read_exactly(fd, file->head, 0, head, path, what, size, error) < 0) {
        close(fd);
        return -1;
    }
    file->fd = fd;
    file->size = size;
    file->head_size = head;
    return 0;
}

int kernel_file_read_all(struct kernel_file *file, const char *path, const char *what, struct error *error)
{
    /*
     * A private anonymous mapping asking for transparent huge pages: the read
     * then faults in a few 2 MiB pages instead of thousands of 4 KiB ones,
     * which took ~3 ms off kestrel's startup for a Debian kernel and initrd
     * (docs/benchmarks.md). Without THP it is an ordinary mapping.
     */
    uint8_t *data = mmap(NULL, file->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory reading %s %s (%zu bytes)", what, path,
                         file->size);
    madvise(data, file->size, MADV_HUGEPAGE);
    memcpy(data, file->head, file->head_size);
    if (read_exactly(file->fd, data + file->head_size, file->head_size, file->size - file->head_size, path, what,
                     file->size, error) < 0) {
        munmap(data, file->size);
        return -1;
    }
    file->data = data;
    return 0;
}

int kernel_file_read(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error)
{
    if (kernel_file_open(path, what, max_size, file, error) < 0)
        return -1;
    if (kernel_file_read_all(file, path, what, error) < 0) {
        kernel_file_release(file);
        return -1;
    }
    return 0;
}

struct boot_image kernel_file_image(const struct kernel_file *file, const char *path)
{
    if (file->data)
        return (struct boot_image){.data = file->data, .size = file->size, .name = path};
    return (struct boot_image){
        .data = file->head,
        .size = file->size,
        .name = path,
        .streamed = true,
        .fd = file->fd,
        .head_size = file->head_size,
    };
}

void kernel_file_release(struct kernel_file *file)
{
    if (file->data)
        munmap(file->data, file->size);
    if (file->fd >= 0)
        close(file->fd);
    file->fd = -1;
    file->data = NULL;
    file->size = 0;
    file->head_size = 0;
}
