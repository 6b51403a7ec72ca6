/* An engine over a scratch image, and a bounded reap loop, for the disk engine tests. */
#ifndef KESTREL_TESTS_DISK_ENGINE_FIXTURE_H
#define KESTREL_TESTS_DISK_ENGINE_FIXTURE_H

#include <linux/virtio_blk.h>

#include "backends/disk_engine.h"
#include "disk_fixture.h"

struct engine_fixture {
    struct disk_scratch scratch;
    struct disk_image image;
    struct disk_engine *engine;
};

/* 0, or -1 when the image or engine cannot be set up (the caller fails or skips). */
static inline int engine_fixture_open(struct engine_fixture *fixture, unsigned long size, enum disk_cache_mode cache,
                                      unsigned ring_entries, unsigned max_requests)
{
    memset(fixture, 0, sizeof(*fixture));
    fixture->image.fd = -1;
    if (disk_scratch_create(&fixture->scratch, size, 1) != 0)
        return -1;
    struct error error;
    struct disk_image_options options = { .path = fixture->scratch.path, .cache = cache };
    if (disk_image_open(&fixture->image, &options, &error) != 0)
        return -1;
    struct disk_engine_options engine_options = { .ring_entries = ring_entries, .max_requests = max_requests };
    fixture->engine = disk_engine_create(&fixture->image, &engine_options, &error);
    return fixture->engine ? 0 : -1;
}

static inline void engine_fixture_close(struct engine_fixture *fixture)
{
    disk_engine_destroy(fixture->engine);
    disk_image_close(&fixture->image);
    disk_scratch_remove(&fixture->scratch);
}

/* Waits until `expected` completions arrived (at most `capacity`); returns how many did. Bounded. */
static inline unsigned engine_reap(struct disk_engine *engine, struct disk_completion *completions, unsigned capacity,
                                   unsigned expected)
{
    unsigned total = 0;
    for (unsigned round = 0; round < 100000 && total < expected; round++) {
        struct disk_reap reap = { .completions = completions + total, .capacity = capacity - total };
        if (disk_engine_wait(engine, &reap, true) < 0 && errno != EINTR)
            break;
        total += reap.count;
    }
    return total;
}

/* Submits one request and returns its completion. */
static inline struct disk_completion engine_run_one(struct disk_engine *engine, const struct disk_request *request)
{
    struct disk_completion completion = { .status = 0xff };
    if (disk_engine_submit(engine, request) != 0 || engine_reap(engine, &completion, 1, 1) != 1)
        completion.status = 0xfe;
    return completion;
}

#endif
