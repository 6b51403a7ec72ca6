#include "stats/vm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kvm_snapshot_free(struct vm_stats_kvm_snapshot *kvm)
{
    free(kvm->values);
    *kvm = (struct vm_stats_kvm_snapshot){0};
}

/* A failed read (the fd gone, a short pread) falls back to kestrel's counts rather than failing the render. */
static int kvm_snapshot_take(const struct kvm_binary_stats *stats, struct vm_stats_kvm_snapshot *kvm)
{
    *kvm = (struct vm_stats_kvm_snapshot){0};
    if (!stats || stats->fd < 0)
        return 0;
    const struct kvm_binary_stats_schema *schema = &stats->schema;
    kvm->values = calloc(schema->field_count ? schema->field_count : 1, sizeof(*kvm->values));
    uint8_t *scratch = malloc(schema->data_size ? schema->data_size : 1);
    if (!kvm->values || !scratch) {
        free(scratch);
        kvm_snapshot_free(kvm);
        return -1;
    }
    if (kvm_binary_stats_read(stats, kvm->values, scratch) == 0) {
        kvm->present = true;
        kvm->fields = schema->fields;
        kvm->count = schema->field_count;
    } else {
        kvm_snapshot_free(kvm);
    }
    free(scratch);
    return 0;
}

static void vcpu_snapshot_take(const struct vm_stats_vcpu_source *source, struct vm_stats_vcpu_snapshot *vcpu)
{
    vcpu->exits_total = 0;
    for (unsigned reason = 0; reason <= EXIT_STATS_REASONS; reason++) {
        vcpu->exits[reason] = source->exits ? exit_stats_read(source->exits, reason) : 0;
        vcpu->exits_total += vcpu->exits[reason];
    }
}

/* The device named `name`, appended when new; the caller sized the array for every name. */
static struct vm_stats_device_snapshot *device_named(struct vm_stats_snapshot *snapshot, const char *name)
{
    for (unsigned i = 0; i < snapshot->device_count; i++)
        if (strcmp(snapshot->devices[i].name, name) == 0)
            return &snapshot->devices[i];
    struct vm_stats_device_snapshot *device = &snapshot->devices[snapshot->device_count++];
    *device = (struct vm_stats_device_snapshot){.name = name};
    return device;
}

static void bus_ranges_take(struct vm_stats_snapshot *snapshot, const struct io_bus *bus, bool is_pio)
{
    if (!bus)
        return;
    for (unsigned i = 0; i < bus->range_count && i < IO_BUS_MAX_RANGES; i++) {
        const struct io_bus_range *range = &bus->ranges[i];
        struct vm_stats_device_snapshot *device = device_named(snapshot, range->name);
        uint64_t exits = atomic_load_explicit(&range->exit_count, memory_order_relaxed);
        if (is_pio)
            device->pio_exits += exits;
        else
            device->mmio_exits += exits;
    }
}

static int virtio_device_take(struct vm_stats_snapshot *snapshot, const struct vm_stats_device_source *source)
{
    struct vm_stats_device_snapshot *device = device_named(snapshot, source->name);
    const struct virtio_pci *transport = source->transport;
    if (!transport)
        return 0;
    device->mmio_exits += __atomic_load_n(&transport->pci.bar_exits, __ATOMIC_RELAXED);
    unsigned count = transport->info.queue_count;
    if (count > VIRTIO_PCI_MAX_QUEUES)
        count = VIRTIO_PCI_MAX_QUEUES;
    free(device->queues);
    device->queues = calloc(count ? count : 1, sizeof(*device->queues));
    if (!device->queues)
        return -1;
    device->queue_count = count;
    for (unsigned i = 0; i < count; i++)
        virtq_stats_snapshot(virtq_stats_of(&transport->queues[i]), &device->queues[i]);
    return 0;
}

int vm_stats_snapshot_take(const struct vm_stats_sources *sources, struct vm_stats_snapshot *snapshot)
{
    *snapshot = (struct vm_stats_snapshot){.uptime_ns = sources->uptime_ns, .landlock = sources->landlock};
    unsigned names = sources->device_count + (sources->pio ? sources->pio->range_count : 0) +
                     (sources->mmio ? sources->mmio->range_count : 0);
    snapshot->vcpus = calloc(sources->vcpu_count ? sources->vcpu_count : 1, sizeof(*snapshot->vcpus));
    snapshot->devices = calloc(names ? names : 1, sizeof(*snapshot->devices));
    if (!snapshot->vcpus || !snapshot->devices || kvm_snapshot_take(sources->vm_kvm, &snapshot->vm_kvm) < 0)
        goto fail;
    for (unsigned i = 0; i < sources->vcpu_count; i++) {
        struct vm_stats_vcpu_snapshot *vcpu = &snapshot->vcpus[i];
        vcpu->index = i;
        snapshot->vcpu_count = i + 1;
        vcpu_snapshot_take(&sources->vcpus[i], vcpu);
        if (kvm_snapshot_take(sources->vcpus[i].kvm, &vcpu->kvm) < 0)
            goto fail;
    }
    bus_ranges_take(snapshot, sources->pio, true);
    bus_ranges_take(snapshot, sources->mmio, false);
    for (unsigned i = 0; i < sources->device_count; i++)
        if (virtio_device_take(snapshot, &sources->devices[i]) < 0)
            goto fail;
    return 0;
fail:
    vm_stats_snapshot_free(snapshot);
    return -1;
}

void vm_stats_snapshot_free(struct vm_stats_snapshot *snapshot)
{
    kvm_snapshot_free(&snapshot->vm_kvm);
    for (unsigned i = 0; snapshot->vcpus && i < snapshot->vcpu_count; i++)
        kvm_snapshot_free(&snapshot->vcpus[i].kvm);
    for (unsigned i = 0; snapshot->devices && i < snapshot->device_count; i++)
        free(snapshot->devices[i].queues);
    free(snapshot->vcpus);
    free(snapshot->devices);
    *snapshot = (struct vm_stats_snapshot){0};
}

void vm_stats_reason_name(unsigned reason, char *name, size_t size)
{
    const char *known = reason < EXIT_STATS_REASONS ? exit_stats_reason_name(reason) : "other";
    if (known)
        snprintf(name, size, "%s", known);
    else
        snprintf(name, size, "reason_%u", reason);
}

char *vm_stats_render(const struct vm_stats_sources *sources, enum vm_stats_format format, size_t *length)
{
    struct vm_stats_snapshot snapshot;
    if (vm_stats_snapshot_take(sources, &snapshot) < 0)
        return NULL;
    char *text = format == VM_STATS_PROMETHEUS ? vm_stats_render_prometheus(&snapshot, length)
                                               : vm_stats_render_json(&snapshot, length);
    vm_stats_snapshot_free(&snapshot);
    return text;
}
