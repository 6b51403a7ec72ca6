/*
 * KESTREL_TSAN_TEST (the I/O threads run beside the driver's).
 * virtio-net's I/O threads (--net ...,iothreads=N) through the device: pairs
 * spread as pair i on thread i mod N; a pair kept busy does not starve
 * another pair on the same thread; pairs the driver turned off with
 * VQ_PAIRS_SET are not served until it turns them on again, with the pairs
 * on one thread and on two; more threads than pairs are refused. (Two pairs
 * carrying traffic on one thread, and a reset under traffic with one thread,
 * are in test_virtio_net_control_queue.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_net_fixture.h"

#define CONTROL (1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_CTRL_RX)
#define MQ (1ull << VIRTIO_NET_F_MQ)

enum {
    FRAME = 100,
    QUIET_MS = 200,        /* how long "not served" is watched */
    BUSY_FRAMES = 250,     /* queued on the busy pair: within a 256-entry ring */
    BUSY_DELAY_US = 1000,  /* per frame: the busy pair's ring takes a quarter of a second */
};

static enum virtq_layout split = VIRTQ_LAYOUT_SPLIT, packed = VIRTQ_LAYOUT_PACKED;

static struct net_fixture *start(void **state, unsigned pairs, unsigned io_threads, uint16_t queue_size)
{
    const struct net_fixture_options options = {.pairs = pairs,
                                                .header_size = NET_BACKEND_HEADER_SIZE,
                                                .io_threads = io_threads,
                                                .queue_size = queue_size};
    struct net_fixture *fixture = net_fixture_create(&options);
    enum virtq_layout layout = *(enum virtq_layout *)*state;
    assert_true(net_fixture_start(fixture, layout, queue_size ? queue_size : 64, CONTROL | MQ) &
                VIRTIO_CONFIG_S_DRIVER_OK);
    return fixture;
}

static void set_pairs(struct net_fixture *fixture, uint16_t pairs)
{
    uint16_t value = htole16(pairs);
    assert_int_equal(net_control(fixture, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &value, 2),
                     VIRTIO_NET_OK);
}

/* A frame with its 12-byte header (all zero), its payload marked by `seed`. */
static void build_frame(uint8_t *bytes, uint8_t seed)
{
    memset(bytes, 0, NET_BACKEND_HEADER_SIZE);
    net_frame_fill(bytes + NET_BACKEND_HEADER_SIZE, FRAME, net_fixture_mac, seed);
}

/* Frames waiting on the host's end of `pair`, read without waiting. */
static unsigned drain_host(struct net_fixture *fixture, unsigned pair)
{
    static uint8_t buffer[NET_BACKEND_HEADER_SIZE + FRAME];
    unsigned count = 0;
    while (recv(fixture->backend->test_end[pair], buffer, sizeof(buffer), MSG_DONTWAIT) > 0)
        count++;
    return count;
}

static void test_pairs_spread_over_threads(void **state)
{
    (void)state;
    struct net_fixture *fixture = start(state, 4, 3, 0);
    struct virtio_net *device = &fixture->device;
    assert_int_equal(device->thread_count, 3);
    /* Pair i on thread i mod 3: thread 0 has pairs 0 and 3 (and the control queue), 1 has 1, 2 has 2. */
    assert_int_equal(device->threads[0].pair_count, 2);
    assert_ptr_equal(device->threads[0].pairs[0], &device->pairs[0]);
    assert_ptr_equal(device->threads[0].pairs[1], &device->pairs[3]);
    assert_int_equal(device->threads[1].pair_count, 1);
    assert_ptr_equal(device->threads[1].pairs[0], &device->pairs[1]);
    assert_int_equal(device->threads[2].pair_count, 1);
    assert_ptr_equal(device->threads[2].pairs[0], &device->pairs[2]);
    for (unsigned i = 0; i < 3; i++)
        assert_true(device->threads[i].running);
    net_fixture_destroy(fixture);

    fixture = start(state, 2, 0, 0); /* the default: one per pair */
    assert_int_equal(fixture->device.thread_count, 2);
    assert_int_equal(fixture->device.threads[1].pair_count, 1);
    net_fixture_destroy(fixture);
}

/*
 * Pair 0's backend takes a millisecond per frame and its ring is full; a
 * frame sent and one received on pair 1, on the same thread, get through
 * while pair 0 still has most of its ring to go.
 */
static void test_busy_pair_does_not_starve_the_other(void **state)
{
    struct net_fixture *fixture = start(state, 2, 1, 256);
    set_pairs(fixture, 2);
    struct net_test_backend *backend = fixture->backend;
    pthread_mutex_lock(&backend->lock);
    backend->transmit_delay_us[0] = BUSY_DELAY_US;
    pthread_mutex_unlock(&backend->lock);
    static uint8_t bytes[NET_BACKEND_HEADER_SIZE + FRAME];
    struct net_rx_buffer buffer;
    assert_int_equal(net_post_rx(fixture, 2, &buffer, 1530), 0);
    uint64_t token;
    build_frame(bytes, 1);
    for (unsigned i = 0; i < BUSY_FRAMES; i++)
        assert_int_equal(net_send(fixture, 1, bytes, sizeof(bytes), &token), 0);
    build_frame(bytes, 2);
    assert_int_equal(net_send(fixture, 3, bytes, sizeof(bytes), &token), 0);
    net_test_backend_inject(backend, 1, bytes, sizeof(bytes));

    static uint8_t received[NET_BACKEND_HEADER_SIZE + FRAME];
    assert_int_equal(net_test_backend_take(backend, 1, received, sizeof(received), NET_FIXTURE_WAIT_MS),
                     sizeof(bytes));
    assert_memory_equal(received, bytes, sizeof(bytes));
    uint32_t written;
    assert_int_equal(net_wait_used(fixture, 2, &token, &written), 1);
    assert_int_equal(written, sizeof(bytes));
    unsigned busy_done = drain_host(fixture, 0);
    /* Served a pass's budget (64) at a time, pair 1 waits for two or three passes of pair 0, not for all. */
    if (busy_done >= BUSY_FRAMES * 3 / 4)
        fail_msg("pair 1 was served only after %u of pair 0's %u frames", busy_done, BUSY_FRAMES);
    /* And pair 0 finishes its ring. */
    for (unsigned waited = 0; busy_done < BUSY_FRAMES && waited < NET_FIXTURE_WAIT_MS; waited += 10) {
        usleep(10000);
        busy_done += drain_host(fixture, 0);
    }
    assert_int_equal(busy_done, BUSY_FRAMES);
    net_fixture_destroy(fixture);
}

/*
 * With pairs on `io_threads` threads: pair 1 is served while on, not after
 * VQ_PAIRS_SET 1 (a frame sent and one received on it wait), and the waiting
 * frames go through once VQ_PAIRS_SET 2 turns it on again.
 */
static void check_pairs_turned_off(void **state, unsigned io_threads)
{
    struct net_fixture *fixture = start(state, 2, io_threads, 0);
    struct net_test_backend *backend = fixture->backend;
    static uint8_t bytes[NET_BACKEND_HEADER_SIZE + FRAME], received[NET_BACKEND_HEADER_SIZE + FRAME];
    uint64_t token;
    uint32_t written;
    struct net_rx_buffer buffer;

    /* Not yet on: the driver starts with one pair. */
    build_frame(bytes, 1);
    assert_int_equal(net_send(fixture, 3, bytes, sizeof(bytes), &token), 0);
    assert_int_equal(net_test_backend_take(backend, 1, received, sizeof(received), QUIET_MS), -1);
    set_pairs(fixture, 2);
    assert_int_equal(net_test_backend_take(backend, 1, received, sizeof(received), NET_FIXTURE_WAIT_MS),
                     sizeof(bytes));
    assert_int_equal(net_wait_used(fixture, 3, &token, &written), 1);

    /* Off: neither direction moves on pair 1; pair 0 still works. */
    set_pairs(fixture, 1);
    assert_int_equal(net_post_rx(fixture, 2, &buffer, 1530), 0);
    build_frame(bytes, 2);
    net_test_backend_inject(backend, 1, bytes, sizeof(bytes));
    assert_int_equal(net_send(fixture, 3, bytes, sizeof(bytes), &token), 0);
    assert_int_equal(net_send(fixture, 1, bytes, sizeof(bytes), &token), 0);
    assert_int_equal(net_test_backend_take(backend, 0, received, sizeof(received), NET_FIXTURE_WAIT_MS),
                     sizeof(bytes));
    assert_int_equal(net_test_backend_take(backend, 1, received, sizeof(received), QUIET_MS), -1);
    assert_int_equal(net_wait_used_for(fixture, 2, &token, &written, 1), 0);
    assert_int_equal(net_wait_used_for(fixture, 3, &token, &written, 1), 0);

    /* On again: what waited goes through both ways. */
    set_pairs(fixture, 2);
    assert_int_equal(net_test_backend_take(backend, 1, received, sizeof(received), NET_FIXTURE_WAIT_MS),
                     sizeof(bytes));
    assert_memory_equal(received, bytes, sizeof(bytes));
    assert_int_equal(net_wait_used(fixture, 3, &token, &written), 1);
    assert_int_equal(net_wait_used(fixture, 2, &token, &written), 1);
    assert_int_equal(token, buffer.token);
    assert_int_equal(written, sizeof(bytes));
    assert_memory_equal(buffer.host + NET_BACKEND_HEADER_SIZE, bytes + NET_BACKEND_HEADER_SIZE, FRAME);
    net_fixture_destroy(fixture);
}

static void test_pairs_turned_off_one_thread(void **state)
{
    check_pairs_turned_off(state, 1);
}

static void test_pairs_turned_off_two_threads(void **state)
{
    check_pairs_turned_off(state, 2);
}

static void test_more_threads_than_pairs_refused(void **state)
{
    (void)state;
    struct net_test_backend *backend = net_test_backend_create(2, NET_BACKEND_HEADER_SIZE, 0);
    struct virtio_net_options options = {.backend = &backend->backend, .pair_count = 2, .io_threads = 3};
    memcpy(options.mac, net_fixture_mac, sizeof(options.mac));
    struct virtio_net device;
    struct error error = {0};
    /* Refused before the transport exists: no memory, no delivery needed. */
    assert_int_equal(virtio_net_init(&device, &options, NULL, NULL, NULL, NULL, NULL, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "3 I/O threads for 2 queue pairs"));
    net_test_backend_destroy(backend);
}

#define BOTH(test) cmocka_unit_test_prestate(test, &split), cmocka_unit_test_prestate(test, &packed)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_pairs_spread_over_threads),
        BOTH(test_busy_pair_does_not_starve_the_other),
        BOTH(test_pairs_turned_off_one_thread),
        BOTH(test_pairs_turned_off_two_threads),
        cmocka_unit_test(test_more_threads_than_pairs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
