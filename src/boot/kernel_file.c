#include "boot/kernel_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int kernel_file_read(const char *path, const char *what, uint64_t max_size, struct kernel_file *file,
                     struct error *error)
{
    file->data = NULL;
    file->size = 0;
    /* O_NONBLOCK: opening a FIFO or a device must not hang; regular files ignore it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_USAGE, "cannot open %s %s: %s", what, path, strerror(errno));

    struct stat status;
    if (fstat(fd, &status) < 0) {
        int saved = errno;
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "cannot stat %s %s: %s", what, path, strerror(saved));
    }
    if (S_ISDIR(status.st_mode)) {
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is a directory", what, path);
    }
    if (!S_ISREG(status.st_mode)) {
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is not a regular file", what, path);
    }
    if (status.st_size <= 0) {
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is empty", what, path);
    }
    if ((uint64_t)status.st_size > max_size) {
        close(fd);
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is %llu bytes, more than the limit of %llu MiB", what,
                         path, (unsigned long long)status.st_size, (unsigned long long)(max_size >> 20));
    }

    size_t size = (size_t)status.st_size;
    /*
     * A private anonymous mapping asking for transparent huge pages: the read
     * then faults in a few 2 MiB pages instead of thousands of 4 KiB ones,
     * which took ~3 ms off kestrel's startup for a Debian kernel and initrd
     * (docs/benchmarks.md). Without THP it is an ordinary mapping.
     */
    uint8_t *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
        close(fd);
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory reading %s %s (%zu bytes)", what, path, size);
    }
    madvise(data, size, MADV_HUGEPAGE);
    size_t done = 0;
    while (done < size) {
        ssize_t got = read(fd, data + done, size - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int saved = got < 0 ? errno : 0;
            munmap(data, size);
            close(fd);
            if (saved)
                return error_set(error, EXIT_STATUS_USAGE, "cannot read %s %s: %s", what, path, strerror(saved));
            return error_set(error, EXIT_STATUS_USAGE, "%s %s shrank while being read (%zu of %zu bytes)", what,
                             path, done, size);
        }
        done += (size_t)got;
    }
    close(fd);
    file->data = data;
    file->size = size;
    return 0;
}

void kernel_file_release(struct kernel_file *file)
{
    if (file->data)
        munmap(file->data, file->size);
    file->data = NULL;
    file->size = 0;
}
