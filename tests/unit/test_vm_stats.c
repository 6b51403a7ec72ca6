/*
 * vm_stats_render (stats/vm_stats.h): the JSON of GET /stats and the
 * Prometheus text of GET /metrics, from real counters: vCPU exit counts,
 * a KVM stats file (a memfd laid out as the kernel's) and its absence, bus
 * ranges, and a virtio transport's queues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <linux/kvm.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stats/vm_stats.h"
#include "unit/kvm_stats_file.h"
#include "unit/prometheus_check.h"

struct fixture {
    struct exit_stats exits[2];
    struct kvm_binary_stats vcpu_kvm;
    struct vm_stats_vcpu_source vcpus[2];
    struct io_bus pio, mmio;
    struct virtio_pci transport;
    struct vm_stats_device_source devices[1];
    struct vm_stats_sources sources;
};

static void ignore_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)device, (void)offset, (void)data, (void)size;
}

static void ignore_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    (void)device, (void)offset, (void)data, (void)size;
}

static const struct io_device_ops ignore_ops = {.read = ignore_read, .write = ignore_write};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    for (unsigned i = 0; i < 3; i++)
        exit_stats_count(&f->exits[0], KVM_EXIT_IO);
    exit_stats_count(&f->exits[0], KVM_EXIT_MMIO);
    exit_stats_count(&f->exits[1], KVM_EXIT_HLT);
    exit_stats_count(&f->exits[1], 200); /* past the table: "other" */

    static uint8_t file[KVM_STATS_FILE_MAX];
    static const struct kvm_stats_file_entry entries[] = {
        {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 0, 4242},
        {"io_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 8, 4000},
        {"guest_mode", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 1, 16, 1},
    };
    uint32_t data_offset;
    size_t length = kvm_stats_file_build(file, entries, 3, &data_offset);
    int fd = memfd_create("kvm-stats", MFD_CLOEXEC);
    assert_int_equal(write(fd, file, length), (ssize_t)length);
    struct error error = {0};
    assert_int_equal(kvm_binary_stats_open_fd(&f->vcpu_kvm, fd, &error), 0);
    f->vcpus[0] = (struct vm_stats_vcpu_source){.exits = &f->exits[0], .kvm = &f->vcpu_kvm};
    f->vcpus[1] = (struct vm_stats_vcpu_source){.exits = &f->exits[1], .kvm = NULL};

    io_bus_init(&f->pio, "pio");
    io_bus_init(&f->mmio, "mmio");
    assert_int_equal(io_bus_register(&f->pio, 0x3f8, 8, "serial", &ignore_ops, NULL, &error), 0);
    assert_int_equal(io_bus_register(&f->mmio, 0xe0000000, 0x1000, "pci-mmio32", &ignore_ops, NULL, &error), 0);
    uint8_t byte = 0;
    for (unsigned i = 0; i < 5; i++)
        io_bus_write(&f->pio, 0x3f8, &byte, 1);
    io_bus_read(&f->mmio, 0xe0000010, &byte, 1);

    f->transport.info.queue_count = 2;
    f->transport.pci.bar_exits = 9;
    struct virtq_stats *queue = &f->transport.queues[1].stats;
    virtq_stats_count_kicks(queue, 3);
    virtq_stats_count_interrupt(queue);
    virtq_stats_count_completion(queue, 4113);
    virtq_stats_count_latency(queue, 20000);
    virtq_stats_count_completion(queue, 4113);
    virtq_stats_count_latency(queue, 40000);
    virtq_stats_set_in_flight(queue, 7);
    f->devices[0] = (struct vm_stats_device_source){.name = "virtio-blk0", .transport = &f->transport};

    f->sources = (struct vm_stats_sources){
        .uptime_ns = 1500000000,
        .vcpus = f->vcpus,
        .vcpu_count = 2,
        .pio = &f->pio,
        .mmio = &f->mmio,
        .devices = f->devices,
        .device_count = 1,
    };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kvm_binary_stats_close(&f->vcpu_kvm);
    free(f);
    return 0;
}

static struct json_object *member(struct json_object *object, const char *key)
{
    struct json_object *value = NULL;
    assert_true(json_object_object_get_ex(object, key, &value));
    return value;
}

static uint64_t u64(struct json_object *object, const char *key)
{
    return json_object_get_uint64(member(object, key));
}

static void test_json_shape_and_values(void **state)
{
    struct fixture *f = *state;
    size_t length = 0;
    char *text = vm_stats_render(&f->sources, VM_STATS_JSON, &length);
    assert_non_null(text);
    assert_int_equal(strlen(text), length);
    struct json_object *root = json_tokener_parse(text);
    assert_non_null(root);
    assert_int_equal(u64(root, "uptime_ns"), 1500000000);
    assert_string_equal(json_object_get_string(member(root, "source")), "kestrel"); /* no VM stats given */

    struct json_object *vcpus = member(root, "vcpus");
    assert_int_equal(json_object_array_length(vcpus), 2);
    struct json_object *vcpu0 = json_object_array_get_idx(vcpus, 0), *vcpu1 = json_object_array_get_idx(vcpus, 1);
    assert_int_equal(u64(vcpu0, "index"), 0);
    assert_string_equal(json_object_get_string(member(vcpu0, "source")), "kvm");
    assert_int_equal(u64(member(vcpu0, "exits"), "io"), 3);
    assert_int_equal(u64(member(vcpu0, "exits"), "mmio"), 1);
    assert_int_equal(u64(vcpu0, "exits_total"), 4);
    assert_int_equal(u64(member(vcpu0, "kvm"), "exits"), 4242);
    assert_int_equal(u64(member(vcpu0, "kvm"), "guest_mode"), 1);
    assert_string_equal(json_object_get_string(member(vcpu1, "source")), "kestrel");
    assert_false(json_object_object_get_ex(vcpu1, "kvm", NULL));
    assert_int_equal(u64(member(vcpu1, "exits"), "hlt"), 1);
    assert_int_equal(u64(member(vcpu1, "exits"), "other"), 1);

    struct json_object *devices = member(root, "devices");
    assert_int_equal(json_object_array_length(devices), 3);
    struct json_object *serial = json_object_array_get_idx(devices, 0);
    assert_string_equal(json_object_get_string(member(serial, "name")), "serial");
    assert_int_equal(u64(serial, "pio_exits"), 5);
    assert_false(json_object_object_get_ex(serial, "queues", NULL));
    assert_int_equal(u64(json_object_array_get_idx(devices, 1), "mmio_exits"), 1);
    struct json_object *blk = json_object_array_get_idx(devices, 2);
    assert_string_equal(json_object_get_string(member(blk, "name")), "virtio-blk0");
    assert_int_equal(u64(blk, "mmio_exits"), 9);
    struct json_object *queues = member(blk, "queues");
    assert_int_equal(json_object_array_length(queues), 2);
    struct json_object *queue = json_object_array_get_idx(queues, 1);
    assert_int_equal(u64(queue, "index"), 1);
    assert_int_equal(u64(queue, "kicks"), 3);
    assert_int_equal(u64(queue, "interrupts"), 1);
    assert_int_equal(u64(queue, "requests"), 2);
    assert_int_equal(u64(queue, "bytes"), 8226);
    assert_int_equal(u64(queue, "in_flight"), 7);
    struct json_object *latency = member(queue, "latency_ns");
    assert_true(u64(latency, "p50") >= 20000 && u64(latency, "p50") <= 25000);
    assert_int_equal(u64(latency, "p99"), 40000); /* its bucket's bound is above the max: capped */
    assert_int_equal(u64(latency, "max"), 40000);
    assert_int_equal(json_object_array_length(member(latency, "histogram")), 2);
    assert_int_equal(u64(json_object_array_get_idx(queues, 0), "requests"), 0);
    json_object_put(root);
    free(text);
}

static void test_prometheus_text_is_strictly_valid(void **state)
{
    struct fixture *f = *state;
    size_t length = 0;
    char *text = vm_stats_render(&f->sources, VM_STATS_PROMETHEUS, &length);
    assert_non_null(text);
    assert_int_equal(strlen(text), length);
    unsigned line;
    const char *fault = prometheus_check(text, &line);
    if (fault)
        fail_msg("line %u: %s\n%s", line, fault, text);
    assert_non_null(strstr(text, "\nkestrel_vcpu_exits_total{vcpu=\"0\",reason=\"io\"} 3\n"));
    assert_non_null(strstr(text, "\nkestrel_vcpu_exits_total{vcpu=\"1\",reason=\"other\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE kestrel_kvm_vcpu_exits_total counter\nkestrel_kvm_vcpu_exits_total{vcpu=\"0\"} 4242\n"));
    assert_non_null(strstr(text, "# TYPE kestrel_kvm_vcpu_guest_mode gauge\n"));
    assert_non_null(strstr(text, "\nkestrel_device_pio_exits_total{device=\"serial\"} 5\n"));
    assert_non_null(strstr(text, "\nkestrel_device_mmio_exits_total{device=\"virtio-blk0\"} 9\n"));
    assert_non_null(strstr(text, "\nkestrel_queue_requests_total{device=\"virtio-blk0\",queue=\"1\"} 2\n"));
    assert_non_null(strstr(text, "\nkestrel_queue_in_flight{device=\"virtio-blk0\",queue=\"1\"} 7\n"));
    assert_non_null(strstr(text, "\nkestrel_queue_latency_seconds{device=\"virtio-blk0\",queue=\"1\",quantile=\"0.99\"} 0.000040000\n"));
    assert_non_null(strstr(text, "\nkestrel_queue_latency_seconds_count{device=\"virtio-blk0\",queue=\"1\"} 2\n"));
    assert_non_null(strstr(text, "\nkestrel_uptime_seconds 1.500000000\n"));
    free(text);
}

static void test_device_names_are_escaped(void **state)
{
    struct fixture *f = *state;
    f->devices[0].name = "odd\"name\\";
    char *text = vm_stats_render(&f->sources, VM_STATS_PROMETHEUS, NULL);
    unsigned line;
    const char *fault = prometheus_check(text, &line);
    if (fault)
        fail_msg("line %u: %s", line, fault);
    assert_non_null(strstr(text, "device=\"odd\\\"name\\\\\""));
    free(text);
    text = vm_stats_render(&f->sources, VM_STATS_JSON, NULL);
    struct json_object *root = json_tokener_parse(text);
    assert_non_null(root);
    json_object_put(root);
    free(text);
}

/* The checker itself must refuse what the format forbids, or it proves nothing. */
static void test_checker_refuses_invalid_text(void **state)
{
    (void)state;
    unsigned line;
    const char *bad[] = {
        "x_total 1\n",                                               /* no HELP/TYPE */
        "# HELP a_total h\n# TYPE a_total counter\na_total one\n",   /* value */
        "# HELP a h\n# TYPE a counter\na 1\n",                       /* counter without _total */
        "# HELP a h\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",        /* repeated label */
        "# HELP a h\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",  /* repeated series */
        "# HELP a h\n# TYPE a gauge\na{x=\"\\q\"} 1\n",              /* bad escape */
        "# HELP a h\n# TYPE a gauge\nb 1\n",                         /* other family */
        "# HELP a h\n# TYPE a gauge\na 1",                           /* no final newline */
        "# HELP a h\n# TYPE a summary\na 1\n",                       /* summary without quantile */
        "# HELP a h\n# TYPE a gauge\na 1\n# HELP a h\n# TYPE a gauge\n", /* family twice */
        "# HELP 1a h\n# TYPE 1a gauge\n",                            /* name */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!prometheus_check(bad[i], &line))
            fail_msg("accepted invalid text %u", i);
    assert_null(prometheus_check("# HELP a h\n# TYPE a summary\na{quantile=\"0.5\"} 1\na_sum 2\na_count 3\n", &line));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_shape_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prometheus_text_is_strictly_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_names_are_escaped, setup, teardown),
        cmocka_unit_test(test_checker_refuses_invalid_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
