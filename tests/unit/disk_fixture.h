/* Scratch disk images for the backend tests, on a real file system (/var/tmp: O_DIRECT and hole punching work there). */
#ifndef KESTREL_TESTS_DISK_FIXTURE_H
#define KESTREL_TESTS_DISK_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct disk_scratch {
    char directory[PATH_MAX - 64];
    char path[PATH_MAX];
};

/* Byte i of a patterned image: a function of its offset, so a read at the wrong offset shows. */
static inline unsigned char disk_pattern_byte(unsigned long offset)
{
    return (unsigned char)(offset * 131u + (offset >> 9) * 7u + 1u);
}

/* Creates DIRECTORY/image of `size` bytes, patterned when `patterned`, else sparse. Returns 0 or -1. */
static inline int disk_scratch_create(struct disk_scratch *scratch, unsigned long size, int patterned)
{
    const char *base = getenv("KESTREL_DISK_TEST_DIR") ? getenv("KESTREL_DISK_TEST_DIR") : "/var/tmp";
    snprintf(scratch->directory, sizeof(scratch->directory), "%s/kestrel-disk-XXXXXX", base);
    if (!mkdtemp(scratch->directory))
        return -1;
    chmod(scratch->directory, 0755);
    snprintf(scratch->path, sizeof(scratch->path), "%s/image", scratch->directory);
    int fd = open(scratch->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int status = ftruncate(fd, (off_t)size);
    if (status == 0 && patterned) {
        unsigned char buffer[4096];
        for (unsigned long offset = 0; offset < size && status == 0; offset += sizeof(buffer)) {
            unsigned long chunk = size - offset < sizeof(buffer) ? size - offset : sizeof(buffer);
            for (unsigned long i = 0; i < chunk; i++)
                buffer[i] = disk_pattern_byte(offset + i);
            if (pwrite(fd, buffer, chunk, (off_t)offset) != (ssize_t)chunk)
                status = -1;
        }
    }
    close(fd);
    return status;
}

static inline void disk_scratch_remove(struct disk_scratch *scratch)
{
    char path[PATH_MAX + 16];
    /* Tests may add files next to the image; remove the ones they use. */
    const char *names[] = { "image", "fifo", "empty", "dir" };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", scratch->directory, names[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    rmdir(scratch->directory);
}

#endif
