/* The control API server against a fake VM: every endpoint, bad requests, hostile clients, no leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>

#include <json-c/json.h>

#include "api/api_client.h"
#include "unit/api_fixture.h"

static int setup(void **state)
{
    *state = api_fixture_start();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    api_fixture_stop(*state);
    return 0;
}

static struct json_object *request_json(struct api_fixture *fixture, const char *method, const char *path,
                                        const char *body, long expected_status)
{
    struct api_client_response response;
    struct error error = {0};
    assert_int_equal(api_client_request(fixture->socket_path, method, path, body, &response, &error), 0);
    assert_int_equal(response.status, expected_status);
    struct json_object *document = response.length ? json_tokener_parse(response.body) : NULL;
    if (response.length)
        assert_non_null(document);
    api_client_response_free(&response);
    return document;
}

static const char *string_field(struct json_object *object, const char *field)
{
    struct json_object *value;
    assert_true(json_object_object_get_ex(object, field, &value));
    return json_object_get_string(value);
}

static void expect_fault(struct api_fixture *fixture, const char *method, const char *path, const char *body,
                         long status, const char *fragment)
{
    struct json_object *document = request_json(fixture, method, path, body, status);
    assert_non_null(document);
    const char *message = string_field(document, "fault_message");
    if (!strstr(message, fragment))
        fail_msg("fault_message '%s' lacks '%s'", message, fragment);
    json_object_put(document);
}

static void test_instance_info(void **state)
{
    struct api_fixture *fixture = *state;
    struct json_object *info = request_json(fixture, "GET", "/", NULL, 200);
    assert_string_equal(string_field(info, "id"), "testvm");
    assert_string_equal(string_field(info, "state"), "Running");
    assert_string_equal(string_field(info, "vmm_version"), KESTREL_VERSION);
    assert_string_equal(string_field(info, "vcpus"), "2");
    assert_string_equal(string_field(info, "memory_mib"), "256");
    assert_string_equal(string_field(info, "uptime_ns"), "1234567");
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    assert_string_equal(string_field(info, "pid"), pid);
    json_object_put(info);
}

static void test_vm_config(void **state)
{
    struct api_fixture *fixture = *state;
    struct json_object *config = request_json(fixture, "GET", "/vm/config", NULL, 200);
    struct json_object *machine, *boot, *drives, *nets;
    assert_true(json_object_object_get_ex(config, "machine-config", &machine));
    assert_string_equal(string_field(machine, "vcpu_count"), "2");
    assert_string_equal(string_field(machine, "mem_size_mib"), "256");
    assert_true(json_object_object_get_ex(config, "boot-source", &boot));
    assert_string_equal(string_field(boot, "kernel_image_path"), "/boot/vmlinuz");
    assert_string_equal(string_field(boot, "boot_args"), "console=ttyS0");
    assert_true(json_object_object_get_ex(config, "drives", &drives));
    assert_int_equal(json_object_array_length(drives), 1);
    struct json_object *drive = json_object_array_get_idx(drives, 0);
    assert_string_equal(string_field(drive, "path_on_host"), "/var/disk.img");
    assert_string_equal(string_field(drive, "is_read_only"), "true");
    assert_true(json_object_object_get_ex(config, "network-interfaces", &nets));
    assert_string_equal(string_field(json_object_array_get_idx(nets, 0), "backend"), "user");
    json_object_put(config);
}

static void test_pause_resume(void **state)
{
    struct api_fixture *fixture = *state;
    assert_null(request_json(fixture, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204));
    assert_int_equal(atomic_load(&fixture->vm.pauses), 1);
    struct json_object *info = request_json(fixture, "GET", "/", NULL, 200);
    assert_string_equal(string_field(info, "state"), "Paused");
    json_object_put(info);
    /* Idempotent, as the VMM's pause is: a second pause is 204 too. */
    assert_null(request_json(fixture, "PATCH", "/vm", " {\"state\": \"Paused\"}\n", 204));
    assert_null(request_json(fixture, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204));
    assert_int_equal(atomic_load(&fixture->vm.resumes), 1);
    info = request_json(fixture, "GET", "/", NULL, 200);
    assert_string_equal(string_field(info, "state"), "Running");
    json_object_put(info);
}

static void test_actions(void **state)
{
    struct api_fixture *fixture = *state;
    assert_null(request_json(fixture, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 204));
    assert_int_equal(atomic_load(&fixture->vm.ctrl_alt_dels), 1);
    assert_null(request_json(fixture, "PUT", "/actions", "{\"action_type\":\"Stop\"}", 204));
    assert_int_equal(atomic_load(&fixture->vm.stops), 1);
    atomic_store(&fixture->vm.fail_next, 1);
    expect_fault(fixture, "PUT", "/actions", "{\"action_type\":\"Stop\"}", 409, "the fake VM refused");
    atomic_store(&fixture->vm.fail_next, 1);
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":\"Paused\"}", 500, "the fake VM refused");
    assert_int_equal(atomic_load(&fixture->vm.paused), 0);
}

static void test_stats_and_metrics(void **state)
{
    struct api_fixture *fixture = *state;
    struct json_object *stats = request_json(fixture, "GET", "/stats", NULL, 200);
    assert_string_equal(string_field(stats, "uptime_ns"), "42");
    json_object_put(stats);
    struct api_client_response response;
    struct error error = {0};
    assert_int_equal(api_client_request(fixture->socket_path, "GET", "/metrics", NULL, &response, &error), 0);
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "kestrel_uptime_seconds 42\n"));
    api_client_response_free(&response);
    atomic_store(&fixture->vm.fail_next, 1);
    expect_fault(fixture, "GET", "/stats", NULL, 500, "could not be rendered");
}

static void test_bad_bodies(void **state)
{
    struct api_fixture *fixture = *state;
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":\"Paused\"", 400, "not valid JSON");
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":\"Frozen\"}", 400, "is not Paused or Resumed");
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":1}", 400, "must be a string");
    expect_fault(fixture, "PATCH", "/vm", "{}", 400, "missing field 'state'");
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":\"Paused\",\"extra\":1}", 400, "unknown field 'extra'");
    expect_fault(fixture, "PATCH", "/vm", "[\"Paused\"]", 400, "must be a JSON object");
    expect_fault(fixture, "PATCH", "/vm", "{\"state\":\"Paused\"} {}", 400, "not valid JSON");
    expect_fault(fixture, "PATCH", "/vm", "{'state':'Paused'}", 400, "not valid JSON");
    expect_fault(fixture, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 400,
                 "is not SendCtrlAltDel or Stop");
    expect_fault(fixture, "PUT", "/actions", "{\"action_type\":[[[[[[[[\"Stop\"]]]]]]]]}", 400, "not valid JSON");
    expect_fault(fixture, "PUT", "/actions", NULL, 400, "needs a JSON body");
    assert_int_equal(atomic_load(&fixture->vm.pauses) + atomic_load(&fixture->vm.stops), 0);
}

static void test_bad_paths_and_methods(void **state)
{
    struct api_fixture *fixture = *state;
    expect_fault(fixture, "GET", "/nothing", NULL, 404, "no such path");
    expect_fault(fixture, "GET", "/vm/config/", NULL, 404, "no such path");
    expect_fault(fixture, "DELETE", "/vm", NULL, 405, "DELETE is not allowed");
    expect_fault(fixture, "PUT", "/", "{}", 405, "allowed: GET");
    char reply[2048];
    const char request[] = "POST /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    api_fixture_raw(fixture, request, strlen(request), reply, sizeof(reply), 2000);
    assert_non_null(strstr(reply, "HTTP/1.1 405"));
    assert_non_null(strcasestr(reply, "\r\nAllow: PUT\r\n"));
}

static void test_body_too_large(void **state)
{
    struct api_fixture *fixture = *state;
    char reply[2048];
    const char declared[] = "PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{";
    api_fixture_raw(fixture, declared, strlen(declared), reply, sizeof(reply), 2000);
    assert_non_null(strstr(reply, "HTTP/1.1 413"));
    /* Chunked: no length to refuse up front; the body is counted and dropped. */
    size_t size = 3 * API_SERVER_BODY_MAX;
    char *chunked = malloc(size + 256);
    assert_non_null(chunked);
    int header = snprintf(chunked, 256, "PUT /actions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
                          (size_t)(2 * API_SERVER_BODY_MAX));
    memset(chunked + header, ' ', 2 * API_SERVER_BODY_MAX);
    size_t length = (size_t)header + 2 * API_SERVER_BODY_MAX;
    length += (size_t)snprintf(chunked + length, 64, "\r\n0\r\n\r\n");
    api_fixture_raw(fixture, chunked, length, reply, sizeof(reply), 2000);
    free(chunked);
    assert_non_null(strstr(reply, "HTTP/1.1 413"));
    assert_int_equal(atomic_load(&fixture->vm.stops), 0);
}

static void test_garbage_and_abandoned_requests(void **state)
{
    struct api_fixture *fixture = *state;
    char reply[2048];
    const char garbage[] = "\x01\x02 not http at all\r\n\r\n";
    api_fixture_raw(fixture, garbage, sizeof(garbage) - 1, reply, sizeof(reply), 2000);
    assert_non_null(strstr(reply, "HTTP/1.1 400"));
    /*
     * Clients that go away mid-headers and mid-body: fewer than the connection
     * cap, so that the request below cannot find the server still at its cap
     * (the cap has its own test). With 20, one make check under load saw that
     * request fail.
     */
    const char partial[] = "PATCH /vm HTTP/1.1\r\nHost: x\r\nContent-Le";
    const char half_body[] = "PATCH /vm HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\n{\"state\":";
    for (int i = 0; i < API_SERVER_CONNECTION_LIMIT - 4; i++) {
        int fd = api_fixture_connect(fixture);
        assert_true(fd >= 0);
        const char *text = i % 2 ? partial : half_body;
        assert_true(send(fd, text, strlen(text), MSG_NOSIGNAL) > 0);
        close(fd);
    }
    assert_int_equal(atomic_load(&fixture->vm.pauses), 0);
    struct json_object *info = request_json(fixture, "GET", "/", NULL, 200);
    json_object_put(info);
}

static void test_slow_client_times_out(void **state)
{
    struct api_fixture *fixture = *state;
    int fd = api_fixture_connect(fixture);
    assert_true(fd >= 0);
    const char partial[] = "GET / HTTP/1.1\r\nHost: x\r\n";
    assert_true(send(fd, partial, strlen(partial), MSG_NOSIGNAL) > 0);
    /* Meanwhile others are served. */
    json_object_put(request_json(fixture, "GET", "/", NULL, 200));
    struct pollfd poll_fd = {.fd = fd, .events = POLLIN};
    int timeout_ms = (API_SERVER_CLIENT_TIMEOUT_SECONDS + 3) * 1000;
    assert_int_equal(poll(&poll_fd, 1, timeout_ms), 1);
    char byte;
    assert_int_equal(read(fd, &byte, 1), 0); /* closed by the server, without a reply */
    close(fd);
}

static void test_connection_cap(void **state)
{
    struct api_fixture *fixture = *state;
    enum { IDLE = API_SERVER_CONNECTION_LIMIT + 8 };
    int fds[IDLE];
    for (int i = 0; i < IDLE; i++)
        fds[i] = api_fixture_connect(fixture);
    /*
     * Past the cap MHD stops accepting, so a request waits in the backlog until
     * the idle clients time out; it is then served, and the server is unharmed.
     */
    struct api_client_response response;
    struct error error = {0};
    int status = api_client_request(fixture->socket_path, "GET", "/", NULL, &response, &error);
    if (status != 0)
        print_message("# the request past the cap failed: %s\n", error.message);
    assert_int_equal(status, 0);
    assert_int_equal(response.status, 200);
    api_client_response_free(&response);
    for (int i = 0; i < IDLE; i++) {
        if (fds[i] < 0)
            continue;
        char byte;
        struct pollfd poll_fd = {.fd = fds[i], .events = POLLIN};
        /* Each idle client was (or is about to be) dropped without a reply. */
        assert_int_equal(poll(&poll_fd, 1, (API_SERVER_CLIENT_TIMEOUT_SECONDS + 3) * 1000), 1);
        assert_true(read(fds[i], &byte, 1) <= 0);
        close(fds[i]);
    }
}

static int count_fds(void)
{
    DIR *directory = opendir("/proc/self/fd");
    assert_non_null(directory);
    int count = 0;
    while (readdir(directory))
        count++;
    closedir(directory);
    return count;
}

static void test_thousand_requests_leak_nothing(void **state)
{
    struct api_fixture *fixture = *state;
    /* The first request loads libcurl's and json-c's lazily opened files. */
    json_object_put(request_json(fixture, "GET", "/", NULL, 200));
    /* The server closes its end of each connection on its own thread; let it catch up before counting. */
    usleep(100 * 1000);
    int before = count_fds();
    for (int i = 0; i < 1000; i++) {
        switch (i % 4) {
        case 0:
            json_object_put(request_json(fixture, "GET", "/", NULL, 200));
            break;
        case 1:
            json_object_put(request_json(fixture, "GET", "/stats", NULL, 200));
            break;
        case 2:
            expect_fault(fixture, "PATCH", "/vm", "{bad", 400, "not valid JSON");
            break;
        default:
            assert_null(request_json(fixture, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 204));
            break;
        }
    }
    /* Connections the server has not finished closing would show here as its fds. */
    usleep(100 * 1000);
    assert_int_equal(count_fds(), before);
    assert_int_equal(atomic_load(&fixture->vm.resumes), 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instance_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vm_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_and_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_paths_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_abandoned_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_requests_leak_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
