/* GET /stats: the snapshot as JSON through json-c (shape: docs/stats.md). */
#include "stats/vm_stats.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *json_u64(uint64_t value)
{
    return json_object_new_uint64(value);
}

static struct json_object *kvm_object(const struct vm_stats_kvm_snapshot *kvm)
{
    struct json_object *object = json_object_new_object();
    for (unsigned i = 0; object && i < kvm->count; i++)
        json_object_object_add(object, kvm->fields[i].name, json_u64(kvm->values[i]));
    return object;
}

static struct json_object *vcpu_object(const struct vm_stats_vcpu_snapshot *vcpu)
{
    struct json_object *object = json_object_new_object();
    struct json_object *exits = json_object_new_object();
    if (!object || !exits) {
        json_object_put(object);
        json_object_put(exits);
        return NULL;
    }
    json_object_object_add(object, "index", json_u64(vcpu->index));
    json_object_object_add(object, "source", json_object_new_string(vcpu->kvm.present ? "kvm" : "kestrel"));
    for (unsigned reason = 0; reason <= EXIT_STATS_REASONS; reason++) {
        if (!vcpu->exits[reason])
            continue;
        char name[32];
        vm_stats_reason_name(reason, name, sizeof(name));
        json_object_object_add(exits, name, json_u64(vcpu->exits[reason]));
    }
    json_object_object_add(object, "exits", exits);
    json_object_object_add(object, "exits_total", json_u64(vcpu->exits_total));
    if (vcpu->kvm.present)
        json_object_object_add(object, "kvm", kvm_object(&vcpu->kvm));
    return object;
}

static struct json_object *queue_object(unsigned index, const struct virtq_stats_snapshot *queue)
{
    struct json_object *object = json_object_new_object();
    struct json_object *latency = json_object_new_object();
    if (!object || !latency) {
        json_object_put(object);
        json_object_put(latency);
        return NULL;
    }
    json_object_object_add(object, "index", json_u64(index));
    json_object_object_add(object, "kicks", json_u64(queue->kicks));
    json_object_object_add(object, "interrupts", json_u64(queue->interrupts));
    json_object_object_add(object, "requests", json_u64(queue->requests));
    json_object_object_add(object, "bytes", json_u64(queue->bytes));
    json_object_object_add(object, "in_flight", json_u64(queue->in_flight));
    json_object_object_add(latency, "p50", json_u64(queue->latency_p50_ns));
    json_object_object_add(latency, "p99", json_u64(queue->latency_p99_ns));
    json_object_object_add(latency, "max", json_u64(queue->latency_max_ns));
    json_object_object_add(latency, "count", json_u64(queue->latency_count));
    json_object_object_add(latency, "sum", json_u64(queue->latency_sum_ns));
    /* [upper bound in ns, count] of each non-empty bucket: a client can take percentiles over an interval. */
    struct json_object *histogram = json_object_new_array();
    for (unsigned i = 0; histogram && i < VIRTQ_LATENCY_BUCKETS; i++) {
        if (!queue->latency_buckets[i])
            continue;
        struct json_object *pair = json_object_new_array();
        json_object_array_add(pair, json_u64(virtq_stats_bucket_upper_ns(i)));
        json_object_array_add(pair, json_u64(queue->latency_buckets[i]));
        json_object_array_add(histogram, pair);
    }
    json_object_object_add(latency, "histogram", histogram);
    json_object_object_add(object, "latency_ns", latency);
    return object;
}

static struct json_object *device_object(const struct vm_stats_device_snapshot *device)
{
    struct json_object *object = json_object_new_object();
    if (!object)
        return NULL;
    json_object_object_add(object, "name", json_object_new_string(device->name));
    json_object_object_add(object, "pio_exits", json_u64(device->pio_exits));
    json_object_object_add(object, "mmio_exits", json_u64(device->mmio_exits));
    if (device->queues) {
        struct json_object *queues = json_object_new_array();
        for (unsigned i = 0; queues && i < device->queue_count; i++)
            json_object_array_add(queues, queue_object(i, &device->queues[i]));
        json_object_object_add(object, "queues", queues);
    }
    return object;
}

static struct json_object *snapshot_object(const struct vm_stats_snapshot *snapshot)
{
    struct json_object *root = json_object_new_object();
    struct json_object *vcpus = json_object_new_array();
    struct json_object *devices = json_object_new_array();
    if (!root || !vcpus || !devices) {
        json_object_put(root);
        json_object_put(vcpus);
        json_object_put(devices);
        return NULL;
    }
    json_object_object_add(root, "uptime_ns", json_u64(snapshot->uptime_ns));
    json_object_object_add(root, "source", json_object_new_string(snapshot->vm_kvm.present ? "kvm" : "kestrel"));
    if (snapshot->vm_kvm.present)
        json_object_object_add(root, "kvm", kvm_object(&snapshot->vm_kvm));
    for (unsigned i = 0; i < snapshot->vcpu_count; i++)
        json_object_array_add(vcpus, vcpu_object(&snapshot->vcpus[i]));
    json_object_object_add(root, "vcpus", vcpus);
    for (unsigned i = 0; i < snapshot->device_count; i++)
        json_object_array_add(devices, device_object(&snapshot->devices[i]));
    json_object_object_add(root, "devices", devices);
    if (snapshot->landlock)
        json_object_object_add(root, "landlock", json_object_new_string(snapshot->landlock));
    return root;
}

char *vm_stats_render_json(const struct vm_stats_snapshot *snapshot, size_t *length)
{
    struct json_object *root = snapshot_object(snapshot);
    if (!root)
        return NULL;
    size_t size = 0;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &size);
    char *copy = text ? strndup(text, size) : NULL;
    if (copy && length)
        *length = size;
    json_object_put(root);
    return copy;
}
