/*
 * kestrel stat's view (stats/stat_view.h) from two snapshots: rates by exit
 * reason and vCPU (kestrel's counts and KVM's *_exits), device exits, queue
 * rates and the interval's latency percentiles, the table, and snapshots
 * that are not what they should be.
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

#include "stats/stat_view.h"
#include "stats/vm_stats.h"

static struct json_object *member(struct json_object *object, const char *key)
{
    struct json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value))
        fail_msg("no \"%s\" in %s", key, json_object_to_json_string(object));
    return value;
}

static double number(struct json_object *object, const char *key)
{
    return json_object_get_double(member(object, key));
}

static struct json_object *render_json(const char *before, const char *after, double seconds)
{
    struct error error = {0};
    char *text = stat_view_render(before, after, seconds, STAT_VIEW_JSON, &error);
    assert_non_null(text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    struct json_object *result = json_tokener_parse(text);
    assert_non_null(result);
    free(text);
    return result;
}

/* Two real snapshots of vm_stats_render, 2 s apart by the caller's word. */
static void test_rates_from_kestrel_counters(void **state)
{
    (void)state;
    static struct exit_stats exits;
    static struct virtio_pci transport;
    memset(&exits, 0, sizeof(exits));
    memset(&transport, 0, sizeof(transport));
    transport.info.queue_count = 1;
    struct vm_stats_vcpu_source vcpu = {.exits = &exits};
    struct vm_stats_device_source device = {.name = "virtio-blk0", .transport = &transport};
    struct vm_stats_sources sources = {.vcpus = &vcpu, .vcpu_count = 1, .devices = &device, .device_count = 1};
    struct virtq_stats *queue = &transport.queues[0].stats;
    /* Before: 10 slow requests (1 ms). */
    for (unsigned i = 0; i < 10; i++) {
        virtq_stats_count_completion(queue, 4096);
        virtq_stats_count_latency(queue, 1000000);
    }
    exit_stats_count(&exits, KVM_EXIT_IO);
    char *before = vm_stats_render(&sources, VM_STATS_JSON, NULL);
    /* In the interval: 200 io exits, 100 fast requests (10 us) of 1 MB each, 50 kicks, 40 interrupts. */
    for (unsigned i = 0; i < 200; i++)
        exit_stats_count(&exits, KVM_EXIT_IO);
    for (unsigned i = 0; i < 100; i++) {
        virtq_stats_count_completion(queue, 1000000);
        virtq_stats_count_latency(queue, 10000);
    }
    virtq_stats_count_kicks(queue, 50);
    for (unsigned i = 0; i < 40; i++)
        virtq_stats_count_interrupt(queue);
    virtq_stats_set_in_flight(queue, 32);
    transport.pci.bar_exits = 20;
    sources.uptime_ns = 2000000000;
    char *after = vm_stats_render(&sources, VM_STATS_JSON, NULL);

    struct json_object *result = render_json(before, after, 2.0);
    assert_string_equal(json_object_get_string(member(result, "exits_source")), "kestrel");
    assert_true(number(member(result, "exits_per_s"), "total") == 100.0);
    assert_true(number(member(member(result, "exits_per_s"), "by_reason"), "io") == 100.0);
    struct json_object *vcpu0 = json_object_array_get_idx(member(result, "vcpus"), 0);
    assert_true(number(vcpu0, "exits_per_s") == 100.0);
    struct json_object *blk = json_object_array_get_idx(member(result, "devices"), 0);
    assert_string_equal(json_object_get_string(member(blk, "name")), "virtio-blk0");
    assert_true(number(blk, "mmio_exits_per_s") == 10.0);
    struct json_object *q = json_object_array_get_idx(member(blk, "queues"), 0);
    assert_true(number(q, "kicks_per_s") == 25.0);
    assert_true(number(q, "interrupts_per_s") == 20.0);
    assert_true(number(q, "requests_per_s") == 50.0);
    assert_true(number(q, "mb_per_s") == 50.0);
    assert_true(number(q, "in_flight") == 32.0);
    /* The interval saw only the 10 us requests: the earlier 1 ms ones are not in its percentiles. */
    struct json_object *latency = member(q, "latency_ns");
    assert_true(number(latency, "p99") >= 10000 && number(latency, "p99") <= 12500);
    assert_true(number(latency, "max") >= 10000 && number(latency, "max") <= 12500);

    struct error error = {0};
    char *table = stat_view_render(before, after, 2.0, STAT_VIEW_TABLE, &error);
    assert_non_null(table);
    assert_non_null(strstr(table, "exits from kestrel"));
    assert_non_null(strstr(table, "\n  io                          100          100\n"));
    assert_non_null(strstr(table, "virtio-blk0/0"));
    if (!strstr(table, "     50.00"))
        fail_msg("%s", table);
    free(table);
    json_object_put(result);
    free(before);
    free(after);
}

static const char kvm_before[] =
    "{\"uptime_ns\":1,\"vcpus\":[{\"index\":0,\"source\":\"kvm\",\"exits\":{\"io\":5},\"exits_total\":5,"
    "\"kvm\":{\"exits\":1000,\"io_exits\":100,\"halt_exits\":10,\"guest_mode\":1}},"
    "{\"index\":1,\"source\":\"kvm\",\"exits\":{},\"exits_total\":0,\"kvm\":{\"exits\":0,\"halt_exits\":0}}],"
    "\"devices\":[]}";
static const char kvm_after[] =
    "{\"uptime_ns\":2,\"vcpus\":[{\"index\":1,\"source\":\"kvm\",\"exits\":{},\"exits_total\":0,"
    "\"kvm\":{\"exits\":300,\"halt_exits\":300}},"
    "{\"index\":0,\"source\":\"kvm\",\"exits\":{\"io\":9},\"exits_total\":9,"
    "\"kvm\":{\"exits\":3000,\"io_exits\":1100,\"halt_exits\":10,\"guest_mode\":0}}],\"devices\":[]}";

static void test_rates_from_kvm_statistics(void **state)
{
    (void)state;
    struct json_object *result = render_json(kvm_before, kvm_after, 1.0);
    assert_string_equal(json_object_get_string(member(result, "exits_source")), "kvm");
    struct json_object *exits = member(result, "exits_per_s");
    assert_true(number(exits, "total") == 2300.0);
    struct json_object *by_reason = member(exits, "by_reason");
    assert_true(number(by_reason, "io") == 1000.0);
    assert_true(number(by_reason, "halt") == 300.0);
    assert_false(json_object_object_get_ex(by_reason, "guest_mode", NULL));
    /* vCPUs are matched by index, not by position. */
    struct json_object *vcpus = member(result, "vcpus");
    struct json_object *listed_first = json_object_array_get_idx(vcpus, 0);
    assert_int_equal(json_object_get_uint64(member(listed_first, "index")), 1);
    assert_true(number(listed_first, "exits_per_s") == 300.0);
    json_object_put(result);
}

/* A counter smaller than before (another VM, a reset queue) counts from zero rather than going negative. */
static void test_counter_that_went_back(void **state)
{
    (void)state;
    const char *before = "{\"vcpus\":[],\"devices\":[{\"name\":\"d\",\"pio_exits\":1000,\"mmio_exits\":0}]}";
    const char *after = "{\"vcpus\":[],\"devices\":[{\"name\":\"d\",\"pio_exits\":10,\"mmio_exits\":0}]}";
    struct json_object *result = render_json(before, after, 1.0);
    assert_true(number(json_object_array_get_idx(member(result, "devices"), 0), "pio_exits_per_s") == 10.0);
    json_object_put(result);
}

static void test_malformed_snapshots(void **state)
{
    (void)state;
    struct error error = {0};
    assert_null(stat_view_render("not json", "{}", 1.0, STAT_VIEW_JSON, &error));
    assert_null(stat_view_render("{}", "[1,2]", 1.0, STAT_VIEW_TABLE, &error));
    assert_null(stat_view_render("{}", "{}", 0.0, STAT_VIEW_TABLE, &error));
    assert_null(stat_view_render("{}", "{}", -1.0, STAT_VIEW_TABLE, &error));
    /* Wrong types and missing fields read as zero; nothing crashes. */
    const char *odd = "{\"vcpus\":[1,\"x\",{\"index\":\"0\",\"exits\":[1],\"kvm\":{\"a_exits\":\"9\",\"b_exits\":-4}}],"
                      "\"devices\":[{\"name\":7},{\"name\":\"q\",\"queues\":[{\"index\":0,\"latency_ns\":"
                      "{\"histogram\":[[1],[\"x\",2],[99999999999999999,5],[3,4,5]]}},5]}]}";
    char *text = stat_view_render(odd, odd, 1.0, STAT_VIEW_TABLE, &error);
    assert_non_null(text);
    free(text);
    text = stat_view_render("{}", odd, 1.0, STAT_VIEW_JSON, &error);
    assert_non_null(text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_from_kestrel_counters),
        cmocka_unit_test(test_rates_from_kvm_statistics),
        cmocka_unit_test(test_counter_that_went_back),
        cmocka_unit_test(test_malformed_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
