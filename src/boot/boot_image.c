#include "boot/boot_image.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/checked_math.h"

/* One pread moves at most this much (Linux's own cap on a read is just under 2 GiB). */
#define BOOT_IMAGE_READ_CHUNK (1u << 30)

static int read_into(uint8_t *host, const struct boot_image *image, uint64_t offset, uint64_t length,
                     struct error *error)
{
    uint64_t done = 0;
    /* Each pass moves at least one byte or ends the loop, and EINTR is bounded by the signals that arrive. */
    while (done < length) {
        uint64_t chunk = length - done < BOOT_IMAGE_READ_CHUNK ? length - done : BOOT_IMAGE_READ_CHUNK;
        ssize_t got = pread(image->fd, host + done, (size_t)chunk, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return error_set(error, EXIT_STATUS_USAGE, "cannot read %s: %s", image->name, strerror(errno));
        if (got == 0)
            return error_set(error, EXIT_STATUS_USAGE, "%s shrank while being read (%llu of %zu bytes)", image->name,
                             (unsigned long long)(offset + done), image->size);
        done += (uint64_t)got;
    }
    return 0;
}

int boot_image_place(const struct guest_memory *memory, uint64_t gpa, const struct boot_image *image,
                     uint64_t offset, uint64_t length, struct error *error)
{
    if (!range_within(offset, length, 0, image->size))
        return error_set(error, EXIT_STATUS_USAGE, "%s: bytes 0x%llx+0x%llx lie outside the file (%zu bytes)",
                         image->name, (unsigned long long)offset, (unsigned long long)length, image->size);
    uint8_t *host = gpa_to_hva(memory, gpa, length);
    if (!host)
        return error_set(error, EXIT_STATUS_FAILURE, "%s: 0x%llx+0x%llx is not in guest RAM", image->name,
                         (unsigned long long)gpa, (unsigned long long)length);
    if (!image->streamed) {
        memcpy(host, image->data + offset, (size_t)length);
        return 0;
    }
    return read_into(host, image, offset, length, error);
}
