/*
 * KESTREL_TSAN_TEST: SendCtrlAltDel from the API's thread while a vCPU thread
 * runs the guest's keyboard interrupt handler on the same controller and
 * another polls its status: every accepted sequence arrives whole and in
 * order, refusals only when the keyboard's buffer is full, and nothing is lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>

#include "unit/i8042_fixture.h"

enum {
    DATA = LAYOUT_I8042_DATA_PORT,
    COMMAND = LAYOUT_I8042_COMMAND_PORT,
    STATUS_OBF = 0x01,
    SEQUENCES = 300,
    SEQUENCE_LENGTH = 8,
    SPIN_LIMIT = 50000000,
};

static const uint8_t set1_ctrl_alt_del[SEQUENCE_LENGTH] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};

struct shared {
    struct i8042_fixture rig;
    uint8_t received[SEQUENCES * SEQUENCE_LENGTH];
    size_t received_count;
    atomic_bool done;
};

/* The guest's i8042_interrupt: read the status, and the data byte when there is one. */
static void *vcpu_reader(void *opaque)
{
    struct shared *shared = opaque;
    for (long spins = 0; spins < SPIN_LIMIT && shared->received_count < sizeof(shared->received); spins++) {
        if (port_in8(&shared->rig.pio, COMMAND) & STATUS_OBF)
            shared->received[shared->received_count++] = port_in8(&shared->rig.pio, DATA);
        else
            sched_yield();
    }
    return NULL;
}

/* A second vCPU that only looks at the status port, as a polling driver would. */
static void *vcpu_poller(void *opaque)
{
    struct shared *shared = opaque;
    for (long spins = 0; spins < SPIN_LIMIT && !atomic_load(&shared->done); spins++) {
        (void)port_in8(&shared->rig.pio, COMMAND);
        sched_yield();
    }
    return NULL;
}

static void test_injection_races_port_io(void **state)
{
    (void)state;
    struct shared *shared = calloc(1, sizeof(*shared));
    assert_non_null(shared);
    i8042_fixture_init(&shared->rig);
    i8042_fixture_enable_keyboard(&shared->rig);
    struct error error = {0};

    pthread_t reader, poller;
    assert_int_equal(pthread_create(&reader, NULL, vcpu_reader, shared), 0);
    assert_int_equal(pthread_create(&poller, NULL, vcpu_poller, shared), 0);
    unsigned sent = 0, refused = 0;
    for (long attempts = 0; sent < SEQUENCES && attempts < SPIN_LIMIT; attempts++) {
        if (i8042_send_ctrl_alt_del(&shared->rig.controller, &error) == 0) {
            sent++;
        } else {
            assert_non_null(strstr(error.message, "not reading its keyboard"));
            refused++;
            sched_yield();
        }
    }
    assert_int_equal(pthread_join(reader, NULL), 0);
    atomic_store(&shared->done, true);
    assert_int_equal(pthread_join(poller, NULL), 0);

    assert_int_equal(sent, SEQUENCES);
    assert_int_equal(shared->received_count, sizeof(shared->received));
    for (size_t i = 0; i < shared->received_count; i++)
        if (shared->received[i] != set1_ctrl_alt_del[i % SEQUENCE_LENGTH])
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, shared->received[i],
                     set1_ctrl_alt_del[i % SEQUENCE_LENGTH]);
    /* Refused sequences are the only bytes dropped: 11 set-2 bytes each. */
    assert_int_equal(i8042_keyboard_dropped_bytes(&shared->rig.controller), (uint64_t)refused * 11);
    assert_int_equal(port_in8(&shared->rig.pio, COMMAND) & STATUS_OBF, 0);
    assert_int_equal(shared->rig.recorder.bad_irq_calls, 0);

    i8042_fixture_destroy(&shared->rig);
    free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_injection_races_port_io),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
