/*
 * KESTREL_TSAN_TEST: the live statistics are read while they are written.
 * Writer threads count as vCPU threads and queue threads do (each its own
 * exit_stats and its own queue, one writer each; bus ranges shared by all),
 * while a reader renders JSON and Prometheus text and checks that no counter
 * ever goes back. At the end the totals are exact. Under TSan any lock-free
 * access that is not atomic is a reported race.
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
#include <pthread.h>
#include <stdatomic.h>

#include "stats/vm_stats.h"

enum { WRITERS = 2, ROUNDS_FULL = 200000, ROUNDS_TSAN = 20000 };

struct live {
    struct exit_stats exits[WRITERS];
    struct vm_stats_vcpu_source vcpus[WRITERS];
    struct io_bus pio;
    struct virtio_pci transport;
    struct vm_stats_device_source device;
    struct vm_stats_sources sources;
    unsigned rounds;
    atomic_bool done;
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

struct writer {
    struct live *live;
    unsigned index;
};

static void *writer_main(void *opaque)
{
    struct writer *writer = opaque;
    struct live *live = writer->live;
    struct virtq_stats *queue = &live->transport.queues[writer->index].stats;
    uint8_t byte = 0;
    for (unsigned i = 0; i < live->rounds; i++) {
        exit_stats_count(&live->exits[writer->index], KVM_EXIT_IO);
        io_bus_write(&live->pio, 0x3f8, &byte, 1);
        virtq_stats_count_kicks(queue, 1);
        virtq_stats_set_in_flight(queue, i % 32);
        virtq_stats_count_completion(queue, 4096);
        virtq_stats_count_latency(queue, 1000 + i % 5000);
        virtq_stats_count_interrupt(queue);
    }
    return NULL;
}

static uint64_t path_u64(struct json_object *root, const char *array, unsigned index, const char *key)
{
    struct json_object *list, *value;
    if (!json_object_object_get_ex(root, array, &list))
        fail_msg("no %s", array);
    struct json_object *element = json_object_array_get_idx(list, index);
    if (!json_object_object_get_ex(element, key, &value))
        fail_msg("no %s", key);
    return json_object_get_uint64(value);
}

/* The reader: totals only grow from one rendering to the next. */
static void *reader_main(void *opaque)
{
    struct live *live = opaque;
    uint64_t last_exits[WRITERS] = {0}, last_requests[WRITERS] = {0}, last_pio = 0;
    unsigned renders = 0;
    while (!atomic_load(&live->done) || renders < 2) {
        char *text = vm_stats_render(&live->sources, VM_STATS_JSON, NULL);
        struct json_object *root = json_tokener_parse(text);
        assert_non_null(root);
        for (unsigned w = 0; w < WRITERS; w++) {
            uint64_t exits = path_u64(root, "vcpus", w, "exits_total");
            assert_true(exits >= last_exits[w]);
            last_exits[w] = exits;
        }
        struct json_object *devices, *queues;
        json_object_object_get_ex(root, "devices", &devices);
        uint64_t pio = path_u64(root, "devices", 0, "pio_exits");
        assert_true(pio >= last_pio);
        last_pio = pio;
        json_object_object_get_ex(json_object_array_get_idx(devices, 1), "queues", &queues);
        for (unsigned w = 0; w < WRITERS; w++) {
            struct json_object *value;
            json_object_object_get_ex(json_object_array_get_idx(queues, w), "requests", &value);
            assert_true(json_object_get_uint64(value) >= last_requests[w]);
            last_requests[w] = json_object_get_uint64(value);
        }
        json_object_put(root);
        free(text);
        free(vm_stats_render(&live->sources, VM_STATS_PROMETHEUS, NULL));
        renders++;
    }
    return NULL;
}

static void test_render_while_counting(void **state)
{
    (void)state;
    struct live *live = calloc(1, sizeof(*live));
    const char *scale = getenv("KESTREL_STRESS_SCALE");
    live->rounds = scale && strcmp(scale, "tsan") == 0 ? ROUNDS_TSAN : ROUNDS_FULL;
    struct error error = {0};
    io_bus_init(&live->pio, "pio");
    assert_int_equal(io_bus_register(&live->pio, 0x3f8, 8, "serial", &ignore_ops, NULL, &error), 0);
    live->transport.info.queue_count = WRITERS;
    live->device = (struct vm_stats_device_source){.name = "virtio-blk0", .transport = &live->transport};
    for (unsigned w = 0; w < WRITERS; w++)
        live->vcpus[w].exits = &live->exits[w];
    live->sources = (struct vm_stats_sources){
        .vcpus = live->vcpus, .vcpu_count = WRITERS, .pio = &live->pio, .devices = &live->device, .device_count = 1};
    atomic_init(&live->done, false);

    pthread_t reader, writers[WRITERS];
    struct writer args[WRITERS];
    assert_int_equal(pthread_create(&reader, NULL, reader_main, live), 0);
    for (unsigned w = 0; w < WRITERS; w++) {
        args[w] = (struct writer){.live = live, .index = w};
        assert_int_equal(pthread_create(&writers[w], NULL, writer_main, &args[w]), 0);
    }
    for (unsigned w = 0; w < WRITERS; w++)
        pthread_join(writers[w], NULL);
    atomic_store(&live->done, true);
    pthread_join(reader, NULL);

    struct vm_stats_snapshot snapshot;
    assert_int_equal(vm_stats_snapshot_take(&live->sources, &snapshot), 0);
    for (unsigned w = 0; w < WRITERS; w++) {
        assert_int_equal(snapshot.vcpus[w].exits[KVM_EXIT_IO], live->rounds);
        const struct virtq_stats_snapshot *queue = &snapshot.devices[1].queues[w];
        assert_int_equal(queue->requests, live->rounds);
        assert_int_equal(queue->latency_count, live->rounds);
        assert_int_equal(queue->kicks, live->rounds);
        assert_int_equal(queue->interrupts, live->rounds);
        assert_int_equal(queue->bytes, 4096ull * live->rounds);
    }
    /* The shared bus range uses atomic adds: no count is lost to the other writer. */
    assert_int_equal(snapshot.devices[0].pio_exits, (uint64_t)WRITERS * live->rounds);
    vm_stats_snapshot_free(&snapshot);
    free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_while_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
