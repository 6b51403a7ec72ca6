#include "vmm_net.h"

#include <stdlib.h>
#include <string.h>

#include "backends/net_slirp.h"
#include "backends/net_tap.h"
#include "cli_net.h"
#include "pci/pci_ioeventfd.h"
#include "util/log.h"

void vmm_net_default_mac(const struct net_spec *spec, unsigned index, uint8_t mac[6])
{
    /* FNV-1a over what names the NIC on this command line: the same command gets the same address. */
    uint32_t hash = 2166136261u;
    const char *name = spec->backend == NET_BACKEND_TAP ? (spec->ifname ? spec->ifname : "tap") : "user";
    for (const char *c = name; *c; c++)
        hash = (hash ^ (uint8_t)*c) * 16777619u;
    hash = (hash ^ index) * 16777619u;
    /* 52:54:00 is the prefix Linux hosts already expect of a VM's locally administered addresses. */
    mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
    mac[3] = (uint8_t)(hash >> 16), mac[4] = (uint8_t)(hash >> 8), mac[5] = (uint8_t)hash;
}

static bool address_taken(const struct vmm_net_devices *nets, const struct vm_config *config, unsigned index,
                          const uint8_t mac[6])
{
    for (unsigned i = 0; i < config->net_count; i++)
        if (i != index && config->nets[i].mac_given && memcmp(config->nets[i].mac, mac, 6) == 0)
            return true;
    for (unsigned i = 0; i < index; i++)
        if (memcmp(nets->devices[i].mac, mac, 6) == 0)
            return true;
    return false;
}

/* A default address never equals another NIC's, given or derived: the last byte moves on until it is free. */
static void choose_mac(struct vmm_net_devices *nets, const struct vm_config *config, unsigned index, uint8_t mac[6])
{
    const struct net_spec *spec = &config->nets[index];
    if (spec->mac_given) {
        memcpy(mac, spec->mac, 6);
        return;
    }
    vmm_net_default_mac(spec, index, mac);
    for (unsigned attempt = 0; attempt < 256 && address_taken(nets, config, index, mac); attempt++)
        mac[5]++;
}

_Static_assert(CLI_NET_MAX_QUEUE_PAIRS == VIRTIO_NET_MAX_PAIRS, "the parser's queue pair limit is the device's");

static int open_vhost(struct vmm_net_device *net, const struct guest_memory *memory, struct error *error)
{
    if (net->spec->vhost == NET_VHOST_OFF)
        return 0;
    struct error vhost_error;
    if (virtio_net_vhost_open(&net->vhost, net->pair_count, net->backend.tap_fds, memory, &vhost_error) == 0) {
        net->vhost_open = true;
        return 0;
    }
    if (net->spec->vhost == NET_VHOST_ON)
        return error_set(error, EXIT_STATUS_USAGE, "--net tap,vhost=on: %s", vhost_error.message);
    log_warn("--net tap: vhost-net unavailable (%s); frames go through kestrel in user space", vhost_error.message);
    return 0;
}

static int open_one(struct vmm_net_devices *nets, const struct vm_config *config, unsigned index,
                    const struct guest_memory *memory, struct error *error)
{
    struct vmm_net_device *net = &nets->devices[index];
    const struct net_spec *spec = &config->nets[index];
    net->spec = spec;
    net->pair_count = cli_net_queue_pairs(spec, config->cpu_count);
    choose_mac(nets, config, index, net->mac);
    if (spec->backend == NET_BACKEND_USER) {
        const struct net_slirp_options options = {
            .hostfwds = spec->hostfwds,
            .hostfwd_count = spec->hostfwd_count,
            .mtu = VIRTIO_NET_USER_MTU,
        };
        if (net_slirp_open(&net->backend, &options, error) < 0)
            return -1;
        net->backend_open = true;
        return 0;
    }
    const struct net_tap_options options = {.ifname = spec->ifname, .pair_count = net->pair_count};
    if (net_tap_open(&net->backend, &options, error) < 0)
        return -1;
    net->backend_open = true;
    return open_vhost(net, memory, error);
}

int vmm_net_open(struct vmm_net_devices *nets, const struct vm_config *config, const struct guest_memory *memory,
                 struct error *error)
{
    memset(nets, 0, sizeof(*nets));
    if (config->net_count == 0)
        return 0;
    nets->devices = calloc(config->net_count, sizeof(*nets->devices));
    if (!nets->devices)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for %u NICs", config->net_count);
    for (unsigned i = 0; i < config->net_count; i++) {
        nets->count = i + 1;
        if (open_one(nets, config, i, memory, error) < 0)
            return -1;
    }
    return 0;
}

static int create_one(struct vmm_net_device *net, const struct guest_memory *memory, struct kvm_vm *vm,
                      struct gsi_routing *routing, struct pci_bus *bus, unsigned slot, struct error *error)
{
    /* One vector per queue (two per pair and the control queue) and one for configuration changes. */
    if (msix_kvm_init(&net->delivery, vm, routing, net->pair_count * 2 + 2, error) < 0)
        return -1;
    net->delivery_ready = true;
    bool user = net->spec->backend == NET_BACKEND_USER;
    struct virtio_net_options options = {
        .backend = &net->backend,
        .pair_count = net->pair_count,
        .io_threads = net->spec->io_threads,
        .queue_size = VIRTIO_NET_DEFAULT_QUEUE_SIZE,
        .mtu = user ? VIRTIO_NET_USER_MTU : 0,
        /* vhost-net does not do the packed ring; kestrel's own data path does. */
        .packed = !net->vhost_open,
        .data_valid = user,
        .vhost = net->vhost_open ? &net->vhost : NULL,
    };
    memcpy(options.mac, net->mac, sizeof(net->mac));
    if (virtio_net_init(&net->device, &options, memory, &pci_ioeventfd_kvm_ops, vm, &msix_kvm_delivery,
                        &net->delivery, error) < 0)
        return -1;
    net->device_ready = true;
    return pci_bus_add_device(bus, &net->device.transport.pci, slot, error);
}

int vmm_net_create(struct vmm_net_devices *nets, const struct guest_memory *memory, struct kvm_vm *vm,
                   struct gsi_routing *routing, struct pci_bus *bus, unsigned first_slot, struct error *error)
{
    for (unsigned i = 0; i < nets->count; i++)
        if (create_one(&nets->devices[i], memory, vm, routing, bus, first_slot + i, error) < 0)
            return -1;
    return 0;
}

void vmm_net_print_stats(const struct vmm_net_devices *nets, FILE *out)
{
    for (unsigned i = 0; i < nets->count; i++) {
        const struct vmm_net_device *net = &nets->devices[i];
        if (!net->device_ready)
            continue;
        const struct virtio_net_shared *shared = &net->device.shared;
        fprintf(out,
                "virtio-net 00:%02x.0 (%s%s): %llu frames sent (%llu bytes), %llu received (%llu bytes), "
                "%llu dropped, %llu queue interrupts\n",
                net->device.transport.pci.slot, net->backend.ops->name, net->vhost_open ? "+vhost" : "",
                (unsigned long long)atomic_load(&shared->frames_sent),
                (unsigned long long)atomic_load(&shared->bytes_sent),
                (unsigned long long)atomic_load(&shared->frames_received),
                (unsigned long long)atomic_load(&shared->bytes_received),
                (unsigned long long)atomic_load(&shared->frames_dropped),
                (unsigned long long)__atomic_load_n(&net->device.transport.queue_interrupts, __ATOMIC_RELAXED));
    }
}

void vmm_net_destroy_devices(struct vmm_net_devices *nets)
{
    for (unsigned i = 0; i < nets->count; i++) {
        struct vmm_net_device *net = &nets->devices[i];
        if (net->device_ready)
            virtio_net_destroy(&net->device);
        net->device_ready = false;
        if (net->delivery_ready)
            msix_kvm_destroy(&net->delivery);
        net->delivery_ready = false;
    }
}

int vmm_net_reset_backends(struct vmm_net_devices *nets, struct error *error)
{
    for (unsigned i = 0; i < nets->count; i++) {
        struct vmm_net_device *net = &nets->devices[i];
        if (net->backend_open && net->spec->backend == NET_BACKEND_USER && net_slirp_reset(&net->backend, error) < 0)
            return -1;
    }
    return 0;
}

void vmm_net_destroy(struct vmm_net_devices *nets)
{
    vmm_net_destroy_devices(nets);
    for (unsigned i = 0; i < nets->count; i++) {
        struct vmm_net_device *net = &nets->devices[i];
        if (net->vhost_open)
            virtio_net_vhost_close(&net->vhost);
        if (net->backend_open) {
            if (net->spec->backend == NET_BACKEND_USER)
                net_slirp_close(&net->backend);
            else
                net_tap_close(&net->backend);
        }
    }
    free(nets->devices);
    nets->devices = NULL;
    nets->count = 0;
}

void vmm_net_pause(const struct vmm_net_devices *nets, bool pause)
{
    for (unsigned i = 0; i < nets->count; i++) {
        if (!nets->devices[i].device_ready)
            continue;
        if (pause)
            virtio_pci_pause(&nets->devices[i].device.transport);
        else
            virtio_pci_resume(&nets->devices[i].device.transport);
    }
}
