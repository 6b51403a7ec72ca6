#ifndef KESTREL_VMM_NET_H
#define KESTREL_VMM_NET_H

/*
 * The VMM's NICs, one virtio-net per --net, in two steps. The backends
 * (a tap with vhost-net when it can be had, or libslirp) open while the VMM
 * checks its input, before the VM exists: a tap that cannot be made, a port
 * already taken or vhost=on without /dev/vhost-net is a usage error that
 * leaves nothing behind. The devices come later, on PCI bus 0 after the
 * disks, with MSI-X through KVM as virtio-blk's.
 */

#include <stdio.h>

#include "backends/net_backend.h"
#include "cli.h"
#include "devices/virtio_net.h"
#include "devices/virtio_net_vhost.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_vm.h"
#include "mem/guest_memory.h"
#include "pci/msix_kvm.h"
#include "pci/pci_bus.h"
#include "util/error.h"

struct vmm_net_device {
    const struct net_spec *spec;
    unsigned pair_count;
    uint8_t mac[6];
    struct net_backend backend;
    bool backend_open;
    struct virtio_net_vhost vhost;
    bool vhost_open;
    struct msix_kvm delivery;
    bool delivery_ready;
    struct virtio_net device;
    bool device_ready;
};

struct vmm_net_devices {
    struct vmm_net_device *devices;
    unsigned count;
};

/* The default address of NIC `index` when no mac= is given: locally administered, stable for the same command. */
void vmm_net_default_mac(const struct net_spec *spec, unsigned index, uint8_t mac[6]);

/* Opens every --net's backend (and vhost-net) over `memory`; what was opened is left for vmm_net_destroy. */
int vmm_net_open(struct vmm_net_devices *nets, const struct vm_config *config, const struct guest_memory *memory,
                 struct error *error);

/* The devices, at PCI device numbers first_slot, first_slot + 1, ... */
int vmm_net_create(struct vmm_net_devices *nets, const struct guest_memory *memory, struct kvm_vm *vm,
                   struct gsi_routing *routing, struct pci_bus *bus, unsigned first_slot, struct error *error);

/* --stats: per NIC, frames and bytes each way, drops and queue interrupts. */
void vmm_net_print_stats(const struct vmm_net_devices *nets, FILE *out);

/* After the vCPUs stopped: the devices (their threads stopped, vhost-net stopped); the backends stay open. */
void vmm_net_destroy_devices(struct vmm_net_devices *nets);

/*
 * A VM reset, after vmm_net_destroy_devices: what a backend holds for the last boot's guest goes (libslirp is made
 * afresh, net_slirp_reset); a tap and vhost-net keep their fds. -1 with `error` set when a NIC cannot go on.
 */
int vmm_net_reset_backends(struct vmm_net_devices *nets, struct error *error);

/* After the vCPUs stopped and before guest memory goes: the devices, then the backends. */
void vmm_net_destroy(struct vmm_net_devices *nets);

/* A VM pause or resume of every NIC's queue-pair threads; vhost-net's kernel threads keep running. */
void vmm_net_pause(const struct vmm_net_devices *nets, bool pause);

#endif
