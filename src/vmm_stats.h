#ifndef KESTREL_VMM_STATS_H
#define KESTREL_VMM_STATS_H

/*
 * The VMM's side of the live statistics: opens KVM's binary stats files for
 * the VM and each vCPU (where the host has them; else kestrel's own counts)
 * and describes every counter of the running VM to vm_stats_render, for the
 * control API's GET /stats and GET /metrics (docs/stats.md).
 */

#include <stdint.h>

#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "stats/vm_stats.h"
#include "vcpu_loop.h"
#include "vmm_blk.h"
#include "vmm_net.h"

/* What the VMM has built; everything must outlive the vmm_stats. */
struct vmm_stats_inputs {
    const struct kvm_vm *vm;
    const struct kvm_vcpu *vcpus;
    const struct vcpu_loop *loops; /* loops[i].stats: vCPU i's exit counts */
    unsigned vcpu_count;
    const struct io_bus *pio, *mmio;
    const struct vmm_blk_devices *blk;
    const struct vmm_net_devices *net;
    uint64_t created_ns; /* CLOCK_MONOTONIC when the VM was created: uptime's origin */
    const char *landlock; /* GET /stats' "landlock" (vm_landlock.h); lives as long as the VM */
};

struct vmm_stats {
    struct kvm_binary_stats vm_kvm;
    struct kvm_binary_stats *vcpu_kvm;
    struct vm_stats_vcpu_source *vcpus;
    struct vm_stats_device_source *devices;
    char (*device_names)[24];
    struct vm_stats_sources sources;
    uint64_t created_ns;
    const char *kvm_source; /* "kvm" or "kestrel", for the one line at startup */
};

/*
 * Never fails the VM for want of KVM stats: a host without them (or a file
 * kestrel refuses, with one line saying why) leaves kestrel's counts. -1
 * only when out of memory.
 */
int vmm_stats_open(struct vmm_stats *stats, const struct vmm_stats_inputs *inputs, struct error *error);
/* From any thread, while the VM runs: vm_stats_render's text, malloc'd. */
char *vmm_stats_render(struct vmm_stats *stats, enum vm_stats_format format, size_t *length);
void vmm_stats_close(struct vmm_stats *stats);

#endif
