/*
 * KESTREL_TSAN_TEST: PUT /actions {"action_type":"SendCtrlAltDel"} through the
 * real API server and the VMM's callbacks (vm_control_api_ops) to a real
 * i8042, whose ports this thread drives as the guest would: 409 with a
 * fault_message while the guest has no keyboard driver, 204 once it enabled
 * the keyboard, and the keys arrive at port 0x60. Across a guest reboot
 * (vm_control_begin_reset .. _end_reset) a call waits for the new boot, and
 * after a failed reset it is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api_client.h"
#include "api/api_server.h"
#include "api/api_socket.h"
#include "unit/i8042_fixture.h"
#include "vm_control.h"

enum { DATA = LAYOUT_I8042_DATA_PORT, COMMAND = LAYOUT_I8042_COMMAND_PORT, STATUS_OBF = 0x01 };

struct fixture {
    char directory[64];
    char socket_path[96];
    struct i8042_fixture rig;
    struct vm_control control;
    struct api_vm_description description;
    struct api_server *server;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    i8042_fixture_init(&f->rig);
    struct error error = {0};
    f->control = (struct vm_control){.i8042 = &f->rig.controller, .vcpu_count = 1};
    assert_int_equal(vm_control_init(&f->control, &error), 0);
    snprintf(f->directory, sizeof(f->directory), "/tmp/kestrel-cad-test-XXXXXX");
    assert_non_null(mkdtemp(f->directory));
    snprintf(f->socket_path, sizeof(f->socket_path), "%s/vm.sock", f->directory);
    f->description = (struct api_vm_description){.name = "cad", .vcpu_count = 1, .memory_bytes = 64ull << 20,
                                                  .kernel_path = "/boot/vmlinuz", .cmdline = "console=ttyS0"};
    int fd = api_socket_listen(f->socket_path, "test socket", &error);
    assert_true(fd >= 0);
    f->server = api_server_start(fd, f->socket_path, &f->description, &vm_control_api_ops, &f->control, &error);
    assert_non_null(f->server);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    api_server_stop(f->server);
    rmdir(f->directory);
    vm_control_destroy(&f->control);
    i8042_fixture_destroy(&f->rig);
    free(f);
    return 0;
}

/* Sends SendCtrlAltDel; returns the status, with the body's fault_message (malloc'd; "" for none) in `message`. */
static long send_ctrl_alt_del(struct fixture *f, char **message)
{
    struct api_client_response response;
    struct error error = {0};
    assert_int_equal(api_client_request(f->socket_path, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}",
                                        &response, &error),
                     0);
    long status = response.status;
    *message = api_client_fault_message(&response);
    api_client_response_free(&response);
    return status;
}

static void test_refused_without_keyboard_driver(void **state)
{
    struct fixture *f = *state;
    char *message = NULL;
    assert_int_equal(send_ctrl_alt_del(f, &message), 409);
    assert_non_null(message);
    if (!strstr(message, "no keyboard enabled"))
        fail_msg("fault_message '%s'", message);
    free(message);
    assert_int_equal(port_in8(&f->rig.pio, COMMAND) & STATUS_OBF, 0);
}

static void test_accepted_once_the_guest_enabled_it(void **state)
{
    struct fixture *f = *state;
    i8042_fixture_enable_keyboard(&f->rig);
    char *message = NULL;
    assert_int_equal(send_ctrl_alt_del(f, &message), 204);
    assert_string_equal(message, "");
    free(message);
    assert_true(recording_irq(&f->rig.recorder, 1));
    const uint8_t expected[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    for (size_t i = 0; i < sizeof(expected); i++) {
        assert_true(port_in8(&f->rig.pio, COMMAND) & STATUS_OBF);
        assert_int_equal(port_in8(&f->rig.pio, DATA), expected[i]);
    }
    assert_int_equal(port_in8(&f->rig.pio, COMMAND) & STATUS_OBF, 0);
    /* A guest that stops reading: after the buffer fills, 409 and the bytes counted. */
    long status = 204;
    for (int i = 0; i < 20 && status == 204; i++) {
        status = send_ctrl_alt_del(f, &message);
        if (status == 204) {
            assert_string_equal(message, "");
            free(message);
        }
    }
    assert_int_equal(status, 409);
    assert_non_null(strstr(message, "not reading its keyboard"));
    free(message);
    assert_int_equal(i8042_keyboard_dropped_bytes(&f->rig.controller), 11);
}

struct waiting_call {
    struct fixture *fixture;
    long status;
    char *message;
    atomic_bool answered;
};

static void *call_ctrl_alt_del(void *argument)
{
    struct waiting_call *call = argument;
    call->status = send_ctrl_alt_del(call->fixture, &call->message);
    atomic_store(&call->answered, true);
    return NULL;
}

static void test_waits_for_a_reset(void **state)
{
    struct fixture *f = *state;
    vm_control_begin_reset(&f->control);
    struct waiting_call call = {.fixture = f};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, call_ctrl_alt_del, &call), 0);
    /* The main thread would be re-creating the i8042 now: the call must not reach it. */
    struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    assert_false(atomic_load(&call.answered));
    i8042_fixture_enable_keyboard(&f->rig);
    vm_control_end_reset(&f->control, true);
    pthread_join(thread, NULL);
    /* Answered by the keyboard as it is after the reset (enabled meanwhile). */
    assert_int_equal(call.status, 204);
    assert_string_equal(call.message, "");
    free(call.message);
}

static void test_refused_after_a_failed_reset(void **state)
{
    struct fixture *f = *state;
    i8042_fixture_enable_keyboard(&f->rig);
    vm_control_begin_reset(&f->control);
    vm_control_end_reset(&f->control, false);
    char *message = NULL;
    assert_int_equal(send_ctrl_alt_del(f, &message), 409);
    assert_non_null(message);
    if (!strstr(message, "the VM is stopping"))
        fail_msg("fault_message '%s'", message);
    free(message);
    assert_int_equal(port_in8(&f->rig.pio, COMMAND) & STATUS_OBF, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_without_keyboard_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepted_once_the_guest_enabled_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_a_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_after_a_failed_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
