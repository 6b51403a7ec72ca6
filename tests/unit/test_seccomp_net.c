#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "seccomp_child.h"
#include "virtio_net_fixture.h"

/*
 * The net list against real frames, natively: in a forked child with the
 * filters on, the driver harness starts a virtio-net device over the
 * socketpair backend (its I/O thread enters net and takes the filter), sends
 * frames out and receives frames in. A call missing from the list would kill
 * the child with the line. The test seam (KESTREL_TEST_SECCOMP_VIOLATE=net)
 * must kill it with the line naming net. (libslirp's own sockets and tap's
 * reads are the test host's: tests/e2e/seccomp-session.sh.)
 */
enum { FRAME = 60 };

static int serve_requests(void *unused)
{
    (void)unused;
    const struct net_fixture_options options = {.pairs = 1, .header_size = NET_BACKEND_HEADER_SIZE};
    struct net_fixture *fixture = net_fixture_create(&options);
    if (!(net_fixture_start(fixture, VIRTQ_LAYOUT_SPLIT, 64, 0) & VIRTIO_CONFIG_S_DRIVER_OK))
        return 5;
    static uint8_t bytes[NET_BACKEND_HEADER_SIZE + FRAME], received[NET_BACKEND_HEADER_SIZE + FRAME];
    for (unsigned round = 0; round < 20; round++) {
        memset(bytes, 0, NET_BACKEND_HEADER_SIZE);
        net_frame_fill(bytes + NET_BACKEND_HEADER_SIZE, FRAME, net_fixture_mac, (uint8_t)round);
        struct net_rx_buffer buffer;
        uint64_t token;
        uint32_t written;
        if (net_post_rx(fixture, 0, &buffer, 1530) != 0 || net_send(fixture, 1, bytes, sizeof(bytes), &token) != 0)
            return 6;
        net_test_backend_inject(fixture->backend, 0, bytes, sizeof(bytes));
        if (net_test_backend_take(fixture->backend, 0, received, sizeof(received), NET_FIXTURE_WAIT_MS) !=
                (ssize_t)sizeof(bytes) ||
            memcmp(received, bytes, sizeof(bytes)) != 0 || net_wait_used(fixture, 0, &token, &written) != 1 ||
            net_wait_used(fixture, 1, &token, &written) != 1)
            return 7;
    }
    net_fixture_destroy(fixture);
    return 0;
}

static void test_net_thread_moves_frames_under_its_filter(void **state)
{
    (void)state;
    struct seccomp_child_outcome outcome = seccomp_child_run(serve_requests, NULL, NULL);
    if (outcome.status != 0)
        fail_msg("status %d (signal %d), stderr '%s'", outcome.status, outcome.signal_number, outcome.line);
}

static void test_net_seam_dies_with_the_line(void **state)
{
    (void)state;
    struct seccomp_child_outcome outcome = seccomp_child_run(serve_requests, NULL, "net");
    assert_int_equal(outcome.status, 1);
    assert_string_equal(outcome.line, "kestrel: seccomp: net thread made a forbidden system call: acct (163)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_thread_moves_frames_under_its_filter),
        cmocka_unit_test(test_net_seam_dies_with_the_line),
    };
    return cmocka_run_group_tests_name("seccomp_net", tests, NULL, NULL);
}
