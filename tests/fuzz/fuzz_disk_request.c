/*
 * Guest-controlled request fields (type, byte offset, length, segment layout)
 * and host results (short counts, EIO, ENOSPC, EOPNOTSUPP, EAGAIN, through the
 * result seam) fed to the disk engine on a small real file and a tiny ring.
 * No input may crash, overrun a segment, hang, or lose or repeat a
 * completion: after a drain every submitted cookie is reported exactly once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/disk_engine.h"

enum { IMAGE_SIZE = 64 * 1024, MEMORY_SIZE = 16 * 1024, MAX_OPS = 48, MAX_SEGMENTS = 6 };

/* Host results the seam plays back, one per completed SQE, taken from the input. */
static const uint8_t *results;
static size_t results_left;

static int replay_result(void *context, enum disk_request_type type, uint64_t offset, uint64_t length, int result)
{
    (void)context;
    (void)type;
    (void)offset;
    if (results_left == 0)
        return result;
    uint8_t choice = *results++;
    results_left--;
    switch (choice % 8) {
    case 1: return -EIO;
    case 2: return -ENOSPC;
    case 3: return -EOPNOTSUPP;
    case 4: return -EAGAIN;
    case 5: return result > 1 ? (int)(choice % (unsigned)result) : result; /* short, maybe zero */
    case 6: return (int)length + 1; /* more than asked */
    default: return result;
    }
}

struct reader {
    const uint8_t *data;
    size_t size;
};

static uint64_t take(struct reader *reader, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes && reader->size; i++, reader->size--)
        value = value << 8 | *reader->data++;
    return value;
}

static char path[64];

static void remove_image(void)
{
    unlink(path);
}

static const char *image_path(void)
{
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/kestrel-fuzz-disk-%d", (int)getpid());
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, IMAGE_SIZE) != 0)
            abort();
        close(fd);
        atexit(remove_image);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t memory[MEMORY_SIZE];
    struct reader reader = { data, size };
    uint8_t config = (uint8_t)take(&reader, 1);
    /* The last quarter of the input is host results. */
    results_left = reader.size / 4;
    results = reader.data + reader.size - results_left;
    reader.size -= results_left;
    disk_engine_result_hook = replay_result;

    /*
     * The kernel frees a closed io_uring asynchronously, and with it the ring's
     * reference to the image: at thousands of rings a second the last input's
     * image lock, or its ring memory, can outlive its close for a while (seen in
     * CI as a failed ring setup, and here as a failed lock). Retry briefly; a
     * failure that lasts is still a crash, with its reason printed.
     */
    struct disk_image image;
    struct error error;
    struct disk_image_options options = { .path = image_path(), .read_only = config & 0x80 };
    struct disk_engine_options engine_options = { .ring_entries = 1u << (config & 3), .max_requests = MAX_OPS };
    struct disk_engine *engine = NULL;
    for (unsigned attempt = 0; attempt < 200 && !engine; attempt++) {
        if (attempt)
            usleep(10000);
        if (disk_image_open(&image, &options, &error) != 0)
            continue;
        engine = disk_engine_create(&image, &engine_options, &error);
        if (!engine)
            disk_image_close(&image);
    }
    if (!engine) {
        fprintf(stderr, "fuzz_disk_request: %s\n", error.message);
        abort();
    }

    uint8_t submitted[MAX_OPS] = { 0 }, completed[MAX_OPS] = { 0 };
    struct iovec segments[MAX_OPS][MAX_SEGMENTS];
    unsigned count = 0;
    struct disk_completion completions[MAX_OPS];
    while (reader.size > 0 && count < MAX_OPS) {
        uint8_t head = (uint8_t)take(&reader, 1);
        struct disk_request request = {
            .type = (enum disk_request_type)(head % 5),
            .unmap = head & 0x08,
            .offset = (head & 0x10) ? take(&reader, 8) : take(&reader, 2),
            .length = (head & 0x20) ? take(&reader, 8) : take(&reader, 2),
            .segment_count = (unsigned)take(&reader, 1) % (MAX_SEGMENTS + 1),
            .segments = segments[count],
            .cookie = (void *)(uintptr_t)count,
        };
        for (unsigned i = 0; i < request.segment_count; i++) {
            uint64_t start = take(&reader, 2) % MEMORY_SIZE;
            uint64_t length = take(&reader, 2) % (MEMORY_SIZE - start + 1);
            segments[count][i] = (struct iovec){ memory + start, length };
        }
        if (disk_engine_submit(engine, &request) != 0)
            abort();
        submitted[count++] = 1;
        if (head & 0x40) {
            struct disk_reap reap = { .completions = completions, .capacity = MAX_OPS };
            disk_engine_wait(engine, &reap, false);
            for (unsigned i = 0; i < reap.count; i++)
                if (completed[(uintptr_t)reap.completions[i].cookie]++)
                    abort();
        }
    }
    disk_engine_drain(engine);
    struct disk_reap reap = { .completions = completions, .capacity = MAX_OPS };
    disk_engine_wait(engine, &reap, false);
    for (unsigned i = 0; i < reap.count; i++)
        if (completed[(uintptr_t)reap.completions[i].cookie]++)
            abort();
    for (unsigned i = 0; i < count; i++)
        if (submitted[i] != completed[i])
            abort();
    if (disk_engine_pending(engine) != 0)
        abort();
    disk_engine_destroy(engine);
    disk_image_close(&image);
    disk_engine_result_hook = NULL;
    return 0;
}
