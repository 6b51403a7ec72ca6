/*
 * GET /metrics: the snapshot in the Prometheus text exposition format
 * (version 0.0.4): each family's # HELP and # TYPE lines, then its samples,
 * counters named *_total, latencies as a summary in seconds.
 */
#include "stats/vm_stats.h"

#include <inttypes.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped as the format requires. */
static void label_value(FILE *out, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
}

static void seconds(FILE *out, uint64_t ns)
{
    fprintf(out, "%" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u, ns % 1000000000u);
}

static void vcpu_exits(FILE *out, const struct vm_stats_snapshot *snapshot)
{
    family(out, "kestrel_vcpu_exits_total", "counter", "KVM_RUN returns handled by kestrel, by vCPU and exit reason.");
    for (unsigned i = 0; i < snapshot->vcpu_count; i++) {
        const struct vm_stats_vcpu_snapshot *vcpu = &snapshot->vcpus[i];
        for (unsigned reason = 0; reason <= EXIT_STATS_REASONS; reason++) {
            if (!vcpu->exits[reason])
                continue;
            char name[32];
            vm_stats_reason_name(reason, name, sizeof(name));
            fprintf(out, "kestrel_vcpu_exits_total{vcpu=\"%u\",reason=\"%s\"} %" PRIu64 "\n", vcpu->index, name,
                    vcpu->exits[reason]);
        }
    }
}

static const char *unit_word(uint32_t unit)
{
    switch (unit) {
    case KVM_STATS_UNIT_BYTES:
        return "bytes";
    case KVM_STATS_UNIT_SECONDS:
        return "seconds (scaled by the descriptor's exponent)";
    case KVM_STATS_UNIT_CYCLES:
        return "cycles";
    case KVM_STATS_UNIT_BOOLEAN:
        return "boolean";
    default:
        return "count";
    }
}

static void kvm_family_name(char *name, size_t size, const char *scope, const struct kvm_binary_stats_field *field)
{
    snprintf(name, size, "kestrel_kvm_%s_%s%s", scope, field->name,
             field->kind == KVM_BINARY_STATS_COUNTER ? "_total" : "");
}

/* The value of `field_name` in a snapshot, or false when it has no such statistic. */
static bool kvm_value(const struct vm_stats_kvm_snapshot *kvm, const char *field_name, uint64_t *value)
{
    for (unsigned i = 0; kvm->present && i < kvm->count; i++) {
        if (strcmp(kvm->fields[i].name, field_name) == 0) {
            *value = kvm->values[i];
            return true;
        }
    }
    return false;
}

static void kvm_vm_stats(FILE *out, const struct vm_stats_kvm_snapshot *kvm)
{
    for (unsigned i = 0; kvm->present && i < kvm->count; i++) {
        char name[KVM_BINARY_STATS_NAME_MAX + 32], help[160];
        kvm_family_name(name, sizeof(name), "vm", &kvm->fields[i]);
        snprintf(help, sizeof(help), "KVM's VM statistic %s (%s).", kvm->fields[i].name, unit_word(kvm->fields[i].unit));
        family(out, name, kvm->fields[i].kind == KVM_BINARY_STATS_COUNTER ? "counter" : "gauge", help);
        fprintf(out, "%s %" PRIu64 "\n", name, kvm->values[i]);
    }
}

/* One family per statistic of the first vCPU that has KVM stats; every vCPU with that statistic contributes. */
static void kvm_vcpu_stats(FILE *out, const struct vm_stats_snapshot *snapshot)
{
    const struct vm_stats_kvm_snapshot *first = NULL;
    for (unsigned i = 0; i < snapshot->vcpu_count && !first; i++)
        if (snapshot->vcpus[i].kvm.present)
            first = &snapshot->vcpus[i].kvm;
    for (unsigned f = 0; first && f < first->count; f++) {
        const struct kvm_binary_stats_field *field = &first->fields[f];
        char name[KVM_BINARY_STATS_NAME_MAX + 32], help[160];
        kvm_family_name(name, sizeof(name), "vcpu", field);
        snprintf(help, sizeof(help), "KVM's vCPU statistic %s (%s).", field->name, unit_word(field->unit));
        family(out, name, field->kind == KVM_BINARY_STATS_COUNTER ? "counter" : "gauge", help);
        for (unsigned i = 0; i < snapshot->vcpu_count; i++) {
            uint64_t value;
            if (kvm_value(&snapshot->vcpus[i].kvm, field->name, &value))
                fprintf(out, "%s{vcpu=\"%u\"} %" PRIu64 "\n", name, snapshot->vcpus[i].index, value);
        }
    }
}

static void device_labels(FILE *out, const char *name, const struct vm_stats_device_snapshot *device)
{
    fprintf(out, "%s{device=\"", name);
    label_value(out, device->name);
    fputc('"', out);
}

static void device_exits(FILE *out, const struct vm_stats_snapshot *snapshot)
{
    family(out, "kestrel_device_pio_exits_total", "counter", "Port I/O exits dispatched to the device.");
    for (unsigned i = 0; i < snapshot->device_count; i++) {
        device_labels(out, "kestrel_device_pio_exits_total", &snapshot->devices[i]);
        fprintf(out, "} %" PRIu64 "\n", snapshot->devices[i].pio_exits);
    }
    family(out, "kestrel_device_mmio_exits_total", "counter", "MMIO exits dispatched to the device.");
    for (unsigned i = 0; i < snapshot->device_count; i++) {
        device_labels(out, "kestrel_device_mmio_exits_total", &snapshot->devices[i]);
        fprintf(out, "} %" PRIu64 "\n", snapshot->devices[i].mmio_exits);
    }
}

/* The per-queue families other than the latency summary: each reads one field of the snapshot. */
static const struct {
    const char *name, *type, *help;
    size_t offset;  /* of a uint64_t in struct virtq_stats_snapshot */
    bool seconds;   /* a time in ns, exposed in seconds */
} queue_families[] = {
    {"kestrel_queue_kicks_total", "counter", "Guest notifications (kicks) the queue's thread received.",
     offsetof(struct virtq_stats_snapshot, kicks), false},
    {"kestrel_queue_interrupts_total", "counter", "Used-buffer interrupts raised for the queue.",
     offsetof(struct virtq_stats_snapshot, interrupts), false},
    {"kestrel_queue_requests_total", "counter", "Requests completed on the queue.",
     offsetof(struct virtq_stats_snapshot, requests), false},
    {"kestrel_queue_bytes_total", "counter", "Bytes of completed requests: readable bytes consumed plus bytes written.",
     offsetof(struct virtq_stats_snapshot, bytes), false},
    {"kestrel_queue_in_flight", "gauge", "Requests popped and not yet completed.",
     offsetof(struct virtq_stats_snapshot, in_flight), false},
    {"kestrel_queue_latency_max_seconds", "gauge", "Longest timed request, pop to completion.",
     offsetof(struct virtq_stats_snapshot, latency_max_ns), true},
};

static void queue_sample(FILE *out, unsigned family_index, const struct virtq_stats_snapshot *queue)
{
    uint64_t value;
    memcpy(&value, (const char *)queue + queue_families[family_index].offset, sizeof(value));
    if (queue_families[family_index].seconds)
        seconds(out, value);
    else
        fprintf(out, "%" PRIu64 "\n", value);
}

static void queue_labels(FILE *out, const char *name, const struct vm_stats_device_snapshot *device, unsigned queue)
{
    device_labels(out, name, device);
    fprintf(out, ",queue=\"%u\"", queue);
}

static void queue_stats(FILE *out, const struct vm_stats_snapshot *snapshot)
{
    for (unsigned f = 0; f < sizeof(queue_families) / sizeof(queue_families[0]); f++) {
        family(out, queue_families[f].name, queue_families[f].type, queue_families[f].help);
        for (unsigned d = 0; d < snapshot->device_count; d++) {
            const struct vm_stats_device_snapshot *device = &snapshot->devices[d];
            for (unsigned q = 0; q < device->queue_count; q++) {
                queue_labels(out, queue_families[f].name, device, q);
                fputs("} ", out);
                queue_sample(out, f, &device->queues[q]);
            }
        }
    }
    const char *summary = "kestrel_queue_latency_seconds";
    family(out, summary, "summary", "Request latency, pop to completion (quantiles from a log-scale histogram).");
    for (unsigned d = 0; d < snapshot->device_count; d++) {
        const struct vm_stats_device_snapshot *device = &snapshot->devices[d];
        for (unsigned q = 0; q < device->queue_count; q++) {
            const struct virtq_stats_snapshot *queue = &device->queues[q];
            queue_labels(out, summary, device, q);
            fputs(",quantile=\"0.5\"} ", out);
            seconds(out, queue->latency_p50_ns);
            queue_labels(out, summary, device, q);
            fputs(",quantile=\"0.99\"} ", out);
            seconds(out, queue->latency_p99_ns);
            queue_labels(out, "kestrel_queue_latency_seconds_sum", device, q);
            fputs("} ", out);
            seconds(out, queue->latency_sum_ns);
            queue_labels(out, "kestrel_queue_latency_seconds_count", device, q);
            fprintf(out, "} %" PRIu64 "\n", queue->latency_count);
        }
    }
}

char *vm_stats_render_prometheus(const struct vm_stats_snapshot *snapshot, size_t *length)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    family(out, "kestrel_uptime_seconds", "gauge", "Time since the VM was created.");
    fputs("kestrel_uptime_seconds ", out);
    seconds(out, snapshot->uptime_ns);
    vcpu_exits(out, snapshot);
    kvm_vm_stats(out, &snapshot->vm_kvm);
    kvm_vcpu_stats(out, snapshot);
    device_exits(out, snapshot);
    queue_stats(out, snapshot);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    if (length)
        *length = size;
    return text;
}
