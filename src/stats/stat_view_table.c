#include "stats/stat_view_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TABLE_VCPU_COLUMNS = 8 }; /* wider VMs: the --json output has every vCPU */

char *stat_view_json_text(struct json_object *result)
{
    const char *text = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
    char *copy = NULL;
    if (text && asprintf(&copy, "%s\n", text) < 0)
        copy = NULL;
    return copy;
}

static double number(struct json_object *object, const char *key)
{
    struct json_object *value;
    if (!object || !json_object_object_get_ex(object, key, &value))
        return 0;
    return json_object_get_double(value);
}

static struct json_object *member(struct json_object *object, const char *key)
{
    struct json_object *value = NULL;
    return object && json_object_object_get_ex(object, key, &value) ? value : NULL;
}

struct row {
    const char *reason;
    double rate;
};

static int row_compare(const void *a, const void *b)
{
    const struct row *left = a, *right = b;
    if (left->rate != right->rate)
        return left->rate < right->rate ? 1 : -1;
    return strcmp(left->reason, right->reason);
}

/* Reasons busiest first, one column per vCPU; reasons with no exits in the interval are left out, as kvm_stat does. */
static void exits_table(FILE *out, struct json_object *result)
{
    struct json_object *by_reason = member(member(result, "exits_per_s"), "by_reason");
    struct json_object *vcpus = member(result, "vcpus");
    size_t vcpu_count = vcpus ? json_object_array_length(vcpus) : 0;
    size_t columns = vcpu_count < TABLE_VCPU_COLUMNS ? vcpu_count : TABLE_VCPU_COLUMNS;
    size_t reason_count = by_reason ? (size_t)json_object_object_length(by_reason) : 0;
    struct row *rows = calloc(reason_count ? reason_count : 1, sizeof(*rows));
    if (!rows)
        return;
    size_t count = 0;
    if (by_reason) {
        json_object_object_foreach(by_reason, key, value)
        {
            if (count < reason_count && json_object_get_double(value) > 0)
                rows[count++] = (struct row){.reason = key, .rate = json_object_get_double(value)};
        }
    }
    qsort(rows, count, sizeof(*rows), row_compare);
    fprintf(out, "%-20s %12s", "exits/s", "total");
    for (size_t v = 0; v < columns; v++) {
        char column[24];
        snprintf(column, sizeof(column), "vcpu%llu",
                 (unsigned long long)json_object_get_uint64(member(json_object_array_get_idx(vcpus, v), "index")));
        fprintf(out, " %12s", column);
    }
    fprintf(out, "\n%-20s %12.0f", "  (all)", number(member(result, "exits_per_s"), "total"));
    for (size_t v = 0; v < columns; v++)
        fprintf(out, " %12.0f", number(json_object_array_get_idx(vcpus, v), "exits_per_s"));
    fputc('\n', out);
    for (size_t r = 0; r < count; r++) {
        fprintf(out, "  %-18.18s %12.0f", rows[r].reason, rows[r].rate);
        for (size_t v = 0; v < columns; v++)
            fprintf(out, " %12.0f", number(member(json_object_array_get_idx(vcpus, v), "by_reason"), rows[r].reason));
        fputc('\n', out);
    }
    free(rows);
}

static void devices_table(FILE *out, struct json_object *devices)
{
    size_t count = devices ? json_object_array_length(devices) : 0;
    fprintf(out, "\n%-20s %12s %12s\n", "device exits/s", "pio", "mmio");
    for (size_t i = 0; i < count; i++) {
        struct json_object *device = json_object_array_get_idx(devices, i);
        double pio = number(device, "pio_exits_per_s"), mmio = number(device, "mmio_exits_per_s");
        if (pio > 0 || mmio > 0)
            fprintf(out, "  %-18.18s %12.0f %12.0f\n", json_object_get_string(member(device, "name")), pio, mmio);
    }
}

static void queues_table(FILE *out, struct json_object *devices)
{
    size_t count = devices ? json_object_array_length(devices) : 0;
    fprintf(out, "\n%-20s %10s %10s %10s %9s %9s %9s %9s %9s\n", "queue", "kicks/s", "irqs/s", "req/s", "MB/s",
            "in_flight", "p50_us", "p99_us", "max_us");
    for (size_t i = 0; i < count; i++) {
        struct json_object *device = json_object_array_get_idx(devices, i);
        struct json_object *queues = member(device, "queues");
        size_t queue_count = queues ? json_object_array_length(queues) : 0;
        for (size_t q = 0; q < queue_count; q++) {
            struct json_object *queue = json_object_array_get_idx(queues, q);
            struct json_object *latency = member(queue, "latency_ns");
            char name[64];
            snprintf(name, sizeof(name), "%s/%llu", json_object_get_string(member(device, "name")),
                     (unsigned long long)json_object_get_uint64(member(queue, "index")));
            fprintf(out, "  %-18.18s %10.0f %10.0f %10.0f %9.2f %9.0f %9.1f %9.1f %9.1f\n", name,
                    number(queue, "kicks_per_s"), number(queue, "interrupts_per_s"), number(queue, "requests_per_s"),
                    number(queue, "mb_per_s"), number(queue, "in_flight"), number(latency, "p50") / 1e3,
                    number(latency, "p99") / 1e3, number(latency, "max") / 1e3);
        }
    }
}

char *stat_view_table_text(struct json_object *result)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    fprintf(out, "kestrel stat: %.2f s interval, exits from %s\n\n", number(result, "interval_s"),
            json_object_get_string(member(result, "exits_source")));
    exits_table(out, result);
    devices_table(out, member(result, "devices"));
    queues_table(out, member(result, "devices"));
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
