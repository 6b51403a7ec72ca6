#include "stats/stat_view.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stat_view_table.h"
#include "virtio/virtq_stats.h"

enum {
    MAX_VCPUS = 256,
    MAX_DEVICES = 256,
    MAX_QUEUES = 64,
    MAX_REASONS = 128,
    KVM_EXITS_SUFFIX_LENGTH = 6, /* "_exits" */
};

struct view {
    double seconds;
    struct json_object *before, *after;
};

static uint64_t get_u64(struct json_object *object, const char *key)
{
    struct json_object *value;
    if (!object || !json_object_object_get_ex(object, key, &value) || !json_object_is_type(value, json_type_int))
        return 0;
    return json_object_get_uint64(value);
}

static struct json_object *get_typed(struct json_object *object, const char *key, enum json_type type)
{
    struct json_object *value;
    if (!object || !json_object_object_get_ex(object, key, &value) || !json_object_is_type(value, type))
        return NULL;
    return value;
}

static size_t array_length(struct json_object *array, size_t limit)
{
    size_t length = array ? json_object_array_length(array) : 0;
    return length < limit ? length : limit;
}

/* The element of `array` whose `key` equals `wanted` (an index, or a name when `name` is set). */
static struct json_object *find_element(struct json_object *array, const char *key, uint64_t wanted, const char *name,
                                        size_t limit)
{
    for (size_t i = 0; i < array_length(array, limit); i++) {
        struct json_object *element = json_object_array_get_idx(array, i);
        if (!json_object_is_type(element, json_type_object))
            continue;
        if (name) {
            struct json_object *value = get_typed(element, key, json_type_string);
            if (value && strcmp(json_object_get_string(value), name) == 0)
                return element;
        } else if (get_u64(element, key) == wanted && get_typed(element, key, json_type_int)) {
            return element;
        }
    }
    return NULL;
}

/* Counters only grow; a smaller value means a different VM or a reset queue, so the whole later value counts. */
static double rate(const struct view *view, uint64_t before, uint64_t after)
{
    return (double)(after >= before ? after - before : after) / view->seconds;
}

struct reason_rate {
    char name[64];
    double rate;
};

static void reasons_add(struct reason_rate *reasons, unsigned *count, const char *name, double value)
{
    for (unsigned i = 0; i < *count; i++) {
        if (strcmp(reasons[i].name, name) == 0) {
            reasons[i].rate += value;
            return;
        }
    }
    if (*count >= MAX_REASONS)
        return;
    snprintf(reasons[*count].name, sizeof(reasons[*count].name), "%s", name);
    reasons[(*count)++].rate = value;
}

/*
 * One vCPU's exit rates: from its "kvm" object's *_exits counters (reason =
 * the name less "_exits", total = "exits") when present, else "exits".
 */
static struct json_object *vcpu_rates(const struct view *view, struct json_object *after, struct json_object *before,
                                      struct reason_rate *all, unsigned *all_count, double *total)
{
    struct json_object *kvm_after = get_typed(after, "kvm", json_type_object);
    bool from_kvm = kvm_after != NULL;
    struct json_object *counts_after = from_kvm ? kvm_after : get_typed(after, "exits", json_type_object);
    struct json_object *counts_before = get_typed(before, from_kvm ? "kvm" : "exits", json_type_object);
    struct json_object *result = json_object_new_object(), *by_reason = json_object_new_object();
    *total = from_kvm ? rate(view, get_u64(counts_before, "exits"), get_u64(counts_after, "exits"))
                      : rate(view, get_u64(before, "exits_total"), get_u64(after, "exits_total"));
    if (counts_after) {
        json_object_object_foreach(counts_after, key, value)
        {
            size_t length = strlen(key);
            if (!json_object_is_type(value, json_type_int))
                continue;
            char reason[64];
            if (from_kvm) {
                if (length <= KVM_EXITS_SUFFIX_LENGTH || strcmp(key + length - KVM_EXITS_SUFFIX_LENGTH, "_exits") != 0 ||
                    length - KVM_EXITS_SUFFIX_LENGTH >= sizeof(reason))
                    continue;
                snprintf(reason, sizeof(reason), "%.*s", (int)(length - KVM_EXITS_SUFFIX_LENGTH), key);
            } else {
                snprintf(reason, sizeof(reason), "%s", key);
            }
            double reason_rate = rate(view, get_u64(counts_before, key), json_object_get_uint64(value));
            json_object_object_add(by_reason, reason, json_object_new_double(reason_rate));
            reasons_add(all, all_count, reason, reason_rate);
        }
    }
    json_object_object_add(result, "index", json_object_new_uint64(get_u64(after, "index")));
    json_object_object_add(result, "source", json_object_new_string(from_kvm ? "kvm" : "kestrel"));
    json_object_object_add(result, "exits_per_s", json_object_new_double(*total));
    json_object_object_add(result, "by_reason", by_reason);
    return result;
}

static void exits_section(const struct view *view, struct json_object *result)
{
    struct json_object *vcpus_after = get_typed(view->after, "vcpus", json_type_array);
    struct json_object *vcpus_before = get_typed(view->before, "vcpus", json_type_array);
    struct json_object *vcpus = json_object_new_array(), *by_reason = json_object_new_object();
    struct reason_rate *reasons = calloc(MAX_REASONS, sizeof(*reasons));
    unsigned reason_count = 0, from_kvm = 0, count = 0;
    double total = 0;
    for (size_t i = 0; reasons && i < array_length(vcpus_after, MAX_VCPUS); i++) {
        struct json_object *after = json_object_array_get_idx(vcpus_after, i);
        if (!json_object_is_type(after, json_type_object))
            continue;
        struct json_object *before = find_element(vcpus_before, "index", get_u64(after, "index"), NULL, MAX_VCPUS);
        double vcpu_total;
        json_object_array_add(vcpus, vcpu_rates(view, after, before, reasons, &reason_count, &vcpu_total));
        total += vcpu_total;
        from_kvm += get_typed(after, "kvm", json_type_object) != NULL;
        count++;
    }
    for (unsigned i = 0; i < reason_count; i++)
        json_object_object_add(by_reason, reasons[i].name, json_object_new_double(reasons[i].rate));
    free(reasons);
    struct json_object *exits = json_object_new_object();
    json_object_object_add(exits, "total", json_object_new_double(total));
    json_object_object_add(exits, "by_reason", by_reason);
    json_object_object_add(result, "exits_source",
                           json_object_new_string(from_kvm == 0 ? "kestrel" : from_kvm == count ? "kvm" : "mixed"));
    json_object_object_add(result, "exits_per_s", exits);
    json_object_object_add(result, "vcpus", vcpus);
}

/* A snapshot's histogram as bucket counts; malformed pairs are skipped. */
static void histogram_read(struct json_object *queue, uint64_t *buckets)
{
    memset(buckets, 0, sizeof(uint64_t) * VIRTQ_LATENCY_BUCKETS);
    struct json_object *latency = get_typed(queue, "latency_ns", json_type_object);
    struct json_object *pairs = get_typed(latency, "histogram", json_type_array);
    for (size_t i = 0; i < array_length(pairs, VIRTQ_LATENCY_BUCKETS); i++) {
        struct json_object *pair = json_object_array_get_idx(pairs, i);
        if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
            continue;
        struct json_object *upper = json_object_array_get_idx(pair, 0), *count = json_object_array_get_idx(pair, 1);
        if (json_object_is_type(upper, json_type_int) && json_object_is_type(count, json_type_int))
            buckets[virtq_stats_bucket(json_object_get_uint64(upper))] = json_object_get_uint64(count);
    }
}

/* Latency of the requests completed in the interval: the histograms' difference. */
static struct json_object *window_latency(struct json_object *before, struct json_object *after)
{
    uint64_t buckets[VIRTQ_LATENCY_BUCKETS], earlier[VIRTQ_LATENCY_BUCKETS];
    histogram_read(after, buckets);
    histogram_read(before, earlier);
    uint64_t count = 0, max_ns = get_u64(get_typed(after, "latency_ns", json_type_object), "max");
    unsigned highest = 0;
    for (unsigned i = 0; i < VIRTQ_LATENCY_BUCKETS; i++) {
        buckets[i] = buckets[i] >= earlier[i] ? buckets[i] - earlier[i] : buckets[i];
        count += buckets[i];
        if (buckets[i])
            highest = i;
    }
    uint64_t window_max = count ? virtq_stats_bucket_upper_ns(highest) : 0;
    window_max = window_max < max_ns ? window_max : max_ns;
    struct json_object *latency = json_object_new_object();
    json_object_object_add(latency, "p50", json_object_new_uint64(virtq_stats_percentile(buckets, count, 500, window_max)));
    json_object_object_add(latency, "p99", json_object_new_uint64(virtq_stats_percentile(buckets, count, 990, window_max)));
    json_object_object_add(latency, "max", json_object_new_uint64(window_max));
    return latency;
}

static struct json_object *queue_rates(const struct view *view, struct json_object *after, struct json_object *before)
{
    struct json_object *result = json_object_new_object();
    json_object_object_add(result, "index", json_object_new_uint64(get_u64(after, "index")));
    json_object_object_add(result, "kicks_per_s",
                           json_object_new_double(rate(view, get_u64(before, "kicks"), get_u64(after, "kicks"))));
    json_object_object_add(result, "interrupts_per_s", json_object_new_double(rate(
                                                           view, get_u64(before, "interrupts"), get_u64(after, "interrupts"))));
    json_object_object_add(result, "requests_per_s",
                           json_object_new_double(rate(view, get_u64(before, "requests"), get_u64(after, "requests"))));
    json_object_object_add(result, "mb_per_s",
                           json_object_new_double(rate(view, get_u64(before, "bytes"), get_u64(after, "bytes")) / 1e6));
    json_object_object_add(result, "in_flight", json_object_new_uint64(get_u64(after, "in_flight")));
    json_object_object_add(result, "latency_ns", window_latency(before, after));
    return result;
}

static void devices_section(const struct view *view, struct json_object *result)
{
    struct json_object *after_devices = get_typed(view->after, "devices", json_type_array);
    struct json_object *before_devices = get_typed(view->before, "devices", json_type_array);
    struct json_object *devices = json_object_new_array();
    for (size_t i = 0; i < array_length(after_devices, MAX_DEVICES); i++) {
        struct json_object *after = json_object_array_get_idx(after_devices, i);
        struct json_object *name = get_typed(after, "name", json_type_string);
        if (!name)
            continue;
        struct json_object *before =
            find_element(before_devices, "name", 0, json_object_get_string(name), MAX_DEVICES);
        struct json_object *device = json_object_new_object();
        json_object_object_add(device, "name", json_object_new_string(json_object_get_string(name)));
        json_object_object_add(device, "pio_exits_per_s", json_object_new_double(rate(
                                                              view, get_u64(before, "pio_exits"), get_u64(after, "pio_exits"))));
        json_object_object_add(device, "mmio_exits_per_s", json_object_new_double(rate(
                                                               view, get_u64(before, "mmio_exits"), get_u64(after, "mmio_exits"))));
        struct json_object *after_queues = get_typed(after, "queues", json_type_array);
        if (after_queues) {
            struct json_object *before_queues = get_typed(before, "queues", json_type_array);
            struct json_object *queues = json_object_new_array();
            for (size_t q = 0; q < array_length(after_queues, MAX_QUEUES); q++) {
                struct json_object *queue = json_object_array_get_idx(after_queues, q);
                if (!json_object_is_type(queue, json_type_object))
                    continue;
                struct json_object *earlier =
                    find_element(before_queues, "index", get_u64(queue, "index"), NULL, MAX_QUEUES);
                json_object_array_add(queues, queue_rates(view, queue, earlier));
            }
            json_object_object_add(device, "queues", queues);
        }
        json_object_array_add(devices, device);
    }
    json_object_object_add(result, "devices", devices);
}

char *stat_view_render(const char *before, const char *after, double seconds, enum stat_view_format format,
                       struct error *error)
{
    if (!(seconds > 0) || !isfinite(seconds)) {
        error_set(error, EXIT_STATUS_FAILURE, "stat: the interval must be a positive number of seconds");
        return NULL;
    }
    struct view view = {.seconds = seconds, .before = json_tokener_parse(before), .after = json_tokener_parse(after)};
    char *text = NULL;
    if (!json_object_is_type(view.before, json_type_object) || !json_object_is_type(view.after, json_type_object)) {
        error_set(error, EXIT_STATUS_FAILURE, "stat: a statistics snapshot is not a JSON object");
    } else {
        struct json_object *result = json_object_new_object();
        json_object_object_add(result, "interval_s", json_object_new_double(seconds));
        json_object_object_add(result, "uptime_ns", json_object_new_uint64(get_u64(view.after, "uptime_ns")));
        exits_section(&view, result);
        devices_section(&view, result);
        text = format == STAT_VIEW_JSON ? stat_view_json_text(result) : stat_view_table_text(result);
        json_object_put(result);
        if (!text)
            error_set(error, EXIT_STATUS_FAILURE, "stat: out of memory");
    }
    json_object_put(view.before);
    json_object_put(view.after);
    return text;
}
