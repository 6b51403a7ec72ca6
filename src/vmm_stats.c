#include "vmm_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* KVM's stats for one VM or vCPU fd, or none: only a malformed file is worth a line. */
static void open_kvm_stats(struct kvm_binary_stats *stats, int fd, const char *what)
{
    struct error error = {0};
    if (kvm_binary_stats_open(stats, fd, &error) == 0)
        return;
    if (errno != ENOTTY && errno != EINVAL)
        log_error("%s: %s; counting exits in kestrel instead", what, error.message);
    stats->fd = -1;
}

static void add_device(struct vmm_stats *stats, const char *kind, unsigned index, const struct virtio_pci *transport)
{
    unsigned slot = stats->sources.device_count++;
    snprintf(stats->device_names[slot], sizeof(stats->device_names[slot]), "%s%u", kind, index);
    stats->devices[slot] = (struct vm_stats_device_source){.name = stats->device_names[slot], .transport = transport};
}

int vmm_stats_open(struct vmm_stats *stats, const struct vmm_stats_inputs *inputs, struct error *error)
{
    memset(stats, 0, sizeof(*stats));
    stats->vm_kvm.fd = -1;
    unsigned device_count = (inputs->blk ? inputs->blk->count : 0) + (inputs->net ? inputs->net->count : 0);
    stats->vcpu_kvm = calloc(inputs->vcpu_count ? inputs->vcpu_count : 1, sizeof(*stats->vcpu_kvm));
    stats->vcpus = calloc(inputs->vcpu_count ? inputs->vcpu_count : 1, sizeof(*stats->vcpus));
    stats->devices = calloc(device_count ? device_count : 1, sizeof(*stats->devices));
    stats->device_names = calloc(device_count ? device_count : 1, sizeof(*stats->device_names));
    if (!stats->vcpu_kvm || !stats->vcpus || !stats->devices || !stats->device_names) {
        vmm_stats_close(stats);
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for the statistics");
    }
    /* Closed by vmm_stats_close from here on, opened or not: never a stray fd 0. */
    for (unsigned i = 0; i < inputs->vcpu_count; i++)
        stats->vcpu_kvm[i].fd = -1;
    stats->sources.vcpu_count = inputs->vcpu_count;
    open_kvm_stats(&stats->vm_kvm, inputs->vm->fd, "KVM VM stats");
    bool all_kvm = stats->vm_kvm.fd >= 0;
    for (unsigned i = 0; i < inputs->vcpu_count; i++) {
        open_kvm_stats(&stats->vcpu_kvm[i], inputs->vcpus[i].fd, "KVM vCPU stats");
        all_kvm &= stats->vcpu_kvm[i].fd >= 0;
        stats->vcpus[i] = (struct vm_stats_vcpu_source){.exits = &inputs->loops[i].stats, .kvm = &stats->vcpu_kvm[i]};
    }
    stats->kvm_source = all_kvm ? "kvm" : "kestrel";
    for (unsigned i = 0; inputs->blk && i < inputs->blk->count; i++)
        if (inputs->blk->devices[i].device_ready)
            add_device(stats, "virtio-blk", i, &inputs->blk->devices[i].device.transport);
    for (unsigned i = 0; inputs->net && i < inputs->net->count; i++)
        if (inputs->net->devices[i].device_ready)
            add_device(stats, "virtio-net", i, &inputs->net->devices[i].device.transport);
    stats->created_ns = inputs->created_ns;
    stats->sources.vm_kvm = &stats->vm_kvm;
    stats->sources.vcpus = stats->vcpus;
    stats->sources.pio = inputs->pio;
    stats->sources.mmio = inputs->mmio;
    stats->sources.devices = stats->devices;
    stats->sources.landlock = inputs->landlock;
    return 0;
}

char *vmm_stats_render(struct vmm_stats *stats, enum vm_stats_format format, size_t *length)
{
    /* Each call renders from its own copy: callers on several threads never share the uptime field. */
    struct vm_stats_sources sources = stats->sources;
    uint64_t now = monotonic_ns();
    sources.uptime_ns = now > stats->created_ns ? now - stats->created_ns : 0;
    return vm_stats_render(&sources, format, length);
}

void vmm_stats_close(struct vmm_stats *stats)
{
    kvm_binary_stats_close(&stats->vm_kvm);
    for (unsigned i = 0; stats->vcpu_kvm && i < stats->sources.vcpu_count; i++)
        kvm_binary_stats_close(&stats->vcpu_kvm[i]);
    free(stats->vcpu_kvm);
    free(stats->vcpus);
    free(stats->devices);
    free(stats->device_names);
    memset(stats, 0, sizeof(*stats));
    stats->vm_kvm.fd = -1;
}
