#ifndef KESTREL_STATS_VM_STATS_H
#define KESTREL_STATS_VM_STATS_H

/*
 * The live statistics of a running VM, rendered as JSON (GET /stats) or as
 * Prometheus text (GET /metrics); docs/stats.md has every counter, the JSON
 * shape and the metric names.
 *
 * The VMM describes where the counters live (struct vm_stats_sources: the
 * vCPUs' exit counters and KVM stats files, the buses, the virtio devices'
 * transports) and calls vm_stats_render from any thread, as often as it
 * likes: every counter is read with relaxed loads (or a pread of KVM's data
 * block), so rendering never stalls a vCPU or an I/O thread. Nothing below
 * src/stats/ includes this module.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "kvm/exit_stats.h"
#include "kvm/kvm_binary_stats.h"
#include "virtio/virtio_pci.h"

enum vm_stats_format {
    VM_STATS_JSON,
    VM_STATS_PROMETHEUS,
};

struct vm_stats_vcpu_source {
    const struct exit_stats *exits;    /* the vCPU thread's own counts */
    const struct kvm_binary_stats *kvm; /* NULL (or fd < 0) when the host has no binary stats */
};

struct vm_stats_device_source {
    const char *name;                    /* "virtio-blk0" */
    const struct virtio_pci *transport;  /* its queues and its BAR exits */
};

struct vm_stats_sources {
    uint64_t uptime_ns;
    const struct kvm_binary_stats *vm_kvm; /* NULL when absent */
    const struct vm_stats_vcpu_source *vcpus;
    unsigned vcpu_count;
    /* Each registered range is a device of its own name (serial, rtc, pci-config...); either may be NULL. */
    const struct io_bus *pio;
    const struct io_bus *mmio;
    const struct vm_stats_device_source *devices;
    unsigned device_count;
    const char *landlock; /* the sandbox's state ("ABI 4, on", "not available (ENOSYS)", "off"); NULL: not said */
};

/* malloc'd text (NUL-terminated; *length excludes the NUL), or NULL when out of memory. */
char *vm_stats_render(const struct vm_stats_sources *sources, enum vm_stats_format format, size_t *length);

/* --- the snapshot both renderers format (vm_stats_snapshot.c) ---------------------- */

struct vm_stats_kvm_snapshot {
    bool present;                               /* false: "source":"kestrel" */
    const struct kvm_binary_stats_field *fields;
    uint64_t *values;
    unsigned count;
};

struct vm_stats_vcpu_snapshot {
    unsigned index;
    uint64_t exits[EXIT_STATS_REASONS + 1]; /* by reason; the last is "other" */
    uint64_t exits_total;
    struct vm_stats_kvm_snapshot kvm;
};

struct vm_stats_device_snapshot {
    const char *name;
    uint64_t pio_exits, mmio_exits;
    unsigned queue_count;
    struct virtq_stats_snapshot *queues;
};

struct vm_stats_snapshot {
    uint64_t uptime_ns;
    struct vm_stats_kvm_snapshot vm_kvm;
    unsigned vcpu_count;
    struct vm_stats_vcpu_snapshot *vcpus;
    unsigned device_count;
    struct vm_stats_device_snapshot *devices;
    const char *landlock; /* as in the sources; fixed for the VM's life */
};

/* Reads every source once. -1 when out of memory (nothing to free then). */
int vm_stats_snapshot_take(const struct vm_stats_sources *sources, struct vm_stats_snapshot *snapshot);
void vm_stats_snapshot_free(struct vm_stats_snapshot *snapshot);

/* The exit reason's name for rendering: "io", "mmio", ..., "reason_N" for an unnamed one, "other". */
void vm_stats_reason_name(unsigned reason, char *name, size_t size);

char *vm_stats_render_json(const struct vm_stats_snapshot *snapshot, size_t *length);
char *vm_stats_render_prometheus(const struct vm_stats_snapshot *snapshot, size_t *length);

#endif
