/*
 * Kicks read through the ring (KESTREL_TSAN_TEST): another thread writes the
 * eventfds, the engine's thread sleeps in disk_engine_wait and must wake for
 * each kick, and for completions, in the one io_uring_enter.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <cmocka.h>

#include "disk_engine_fixture.h"

enum { IMAGE_SIZE = 1 << 20, ROUNDS = 20 };

struct kicker {
    int kick_fds[2];
    int ack_fd; /* the engine thread answers each kick here, so kicks are not merged */
    unsigned rounds;
};

static void *kicker_run(void *argument)
{
    struct kicker *kicker = argument;
    for (unsigned i = 0; i < kicker->rounds; i++) {
        uint64_t one = 1, ack;
        if (write(kicker->kick_fds[i % 2], &one, sizeof(one)) != sizeof(one))
            return (void *)1;
        if (read(kicker->ack_fd, &ack, sizeof(ack)) != sizeof(ack))
            return (void *)1;
    }
    return NULL;
}

/* Each kick from the other thread wakes the blocked wait with its queue's bit, and a read issued on it completes. */
static void test_kicks_wake_the_wait(void **state)
{
    (void)state;
    struct engine_fixture fixture;
    assert_int_equal(engine_fixture_open(&fixture, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 8, 16), 0);
    struct kicker kicker = { .rounds = ROUNDS };
    kicker.kick_fds[0] = eventfd(0, EFD_CLOEXEC);
    kicker.kick_fds[1] = eventfd(0, EFD_CLOEXEC);
    kicker.ack_fd = eventfd(0, EFD_CLOEXEC);
    struct error error;
    assert_int_equal(disk_engine_add_kick(fixture.engine, kicker.kick_fds[0], 3, &error), 0);
    assert_int_equal(disk_engine_add_kick(fixture.engine, kicker.kick_fds[1], 40, &error), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, kicker_run, &kicker), 0);

    unsigned kicks = 0, completions_seen = 0;
    unsigned char buffer[512];
    struct iovec segment = { buffer, sizeof(buffer) };
    for (unsigned round = 0; round < 10000 && (kicks < ROUNDS || completions_seen < kicks); round++) {
        struct disk_completion completions[4];
        struct disk_reap reap = { .completions = completions, .capacity = 4 };
        if (disk_engine_wait(fixture.engine, &reap, true) < 0) {
            assert_int_equal(errno, EINTR);
            continue;
        }
        for (unsigned i = 0; i < reap.count; i++) {
            assert_int_equal(completions[i].status, VIRTIO_BLK_S_OK);
            assert_int_equal(buffer[0], disk_pattern_byte(512 * (uint64_t)(uintptr_t)completions[i].cookie));
            completions_seen++;
        }
        if (reap.kicked_queues) {
            uint64_t expected = kicks % 2 ? 1ull << 40 : 1ull << 3;
            assert_true(reap.kicked_queues == expected);
            /* One write, acknowledged before the next: exactly one notification counted, on its queue. */
            assert_int_equal(disk_engine_take_kicks(fixture.engine, kicks % 2 ? 40 : 3), 1);
            assert_int_equal(disk_engine_take_kicks(fixture.engine, kicks % 2 ? 3 : 40), 0);
            struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 512 * (uint64_t)kicks,
                                         .segments = &segment, .segment_count = 1,
                                         .cookie = (void *)(uintptr_t)kicks };
            assert_int_equal(disk_engine_submit(fixture.engine, &read), 0);
            kicks++;
            uint64_t one = 1;
            assert_int_equal(write(kicker.ack_fd, &one, sizeof(one)), sizeof(one));
        }
    }
    void *result;
    assert_int_equal(pthread_join(thread, &result), 0);
    assert_null(result);
    assert_int_equal(kicks, ROUNDS);
    assert_int_equal(completions_seen, ROUNDS);
    engine_fixture_close(&fixture);
    close(kicker.kick_fds[0]);
    close(kicker.kick_fds[1]);
    close(kicker.ack_fd);
}

/* Several writes before the engine reads: one wake-up, and the eventfd's value counts them all (live stats). */
static void test_merged_kicks_are_all_counted(void **state)
{
    (void)state;
    struct engine_fixture fixture;
    assert_int_equal(engine_fixture_open(&fixture, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 8, 16), 0);
    int kick_fd = eventfd(0, EFD_CLOEXEC);
    struct error error;
    assert_int_equal(disk_engine_add_kick(fixture.engine, kick_fd, 5, &error), 0);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(eventfd_write(kick_fd, 1), 0);
    uint64_t kicked = 0;
    for (unsigned round = 0; round < 100 && !kicked; round++) {
        struct disk_completion completions[1];
        struct disk_reap reap = { .completions = completions, .capacity = 1 };
        assert_true(disk_engine_wait(fixture.engine, &reap, true) >= 0);
        kicked = reap.kicked_queues;
    }
    assert_true(kicked == 1ull << 5);
    assert_int_equal(disk_engine_take_kicks(fixture.engine, 5), 5);
    assert_int_equal(disk_engine_take_kicks(fixture.engine, 5), 0);
    engine_fixture_close(&fixture);
    close(kick_fd);
}

/* Kicks come while requests wait for a 2-entry ring: both are delivered, nothing is lost, drain leaves kicks armed. */
static void test_kicks_and_completions_share_a_small_ring(void **state)
{
    (void)state;
    struct engine_fixture fixture;
    assert_int_equal(engine_fixture_open(&fixture, IMAGE_SIZE, DISK_CACHE_WRITEBACK, 2, 16), 0);
    int kick_fd = eventfd(0, EFD_CLOEXEC);
    struct error error;
    assert_int_equal(disk_engine_add_kick(fixture.engine, kick_fd, 0, &error), 0);
    unsigned char buffers[16][512];
    struct iovec segments[16];
    for (unsigned i = 0; i < 16; i++) {
        segments[i] = (struct iovec){ buffers[i], 512 };
        struct disk_request read = { .type = DISK_REQUEST_READ, .offset = 512 * (uint64_t)i,
                                     .segments = &segments[i], .segment_count = 1 };
        assert_int_equal(disk_engine_submit(fixture.engine, &read), 0);
    }
    uint64_t one = 1;
    assert_int_equal(write(kick_fd, &one, sizeof(one)), sizeof(one));
    disk_engine_drain(fixture.engine);
    uint64_t seen = 0;
    unsigned completed = 0;
    for (unsigned round = 0; round < 1000 && (completed < 16 || !seen); round++) {
        struct disk_completion completions[16];
        struct disk_reap reap = { .completions = completions, .capacity = 16 };
        assert_true(disk_engine_wait(fixture.engine, &reap, true) >= 0);
        completed += reap.count;
        seen |= reap.kicked_queues;
    }
    assert_int_equal(completed, 16);
    assert_true(seen == 1);
    /* The kick's read was re-armed: a second kick still wakes a blocked wait. */
    assert_int_equal(write(kick_fd, &one, sizeof(one)), sizeof(one));
    struct disk_completion completions[1];
    struct disk_reap reap = { .completions = completions, .capacity = 1 };
    for (unsigned round = 0; round < 100 && !reap.kicked_queues; round++)
        assert_true(disk_engine_wait(fixture.engine, &reap, true) >= 0);
    assert_true(reap.kicked_queues == 1);
    engine_fixture_close(&fixture);
    close(kick_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kicks_wake_the_wait),
        cmocka_unit_test(test_merged_kicks_are_all_counted),
        cmocka_unit_test(test_kicks_and_completions_share_a_small_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
