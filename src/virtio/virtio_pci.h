#ifndef KESTREL_VIRTIO_VIRTIO_PCI_H
#define KESTREL_VIRTIO_VIRTIO_PCI_H

/*
 * The virtio 1.x modern PCI transport (virtio 1.2, 4.1), legacy-free: one
 * PCI function on kestrel's bus whose 64-bit memory BAR 0 holds the common
 * configuration, the ISR, the device-specific configuration, the notify
 * region (one doorbell per queue, each also an ioeventfd) and the MSI-X
 * table and PBA. docs/virtio-pci.md has the layout and the rules.
 *
 * A device model (virtio-blk, virtio-net) plugs in through one table,
 * struct virtio_device_ops, and a description, struct virtio_device_info.
 * The transport owns the virtqueues: it checks every register the driver
 * writes, enables a queue (virtq_enable on guest memory) when the driver
 * sets queue_enable, and hands the queues to the device at DRIVER_OK.
 *
 * The driver is hostile: every write is checked, nothing it does can make
 * the transport exit or crash. A queue that cannot be enabled or that the
 * device finds broken sets DEVICE_NEEDS_RESET and raises a configuration
 * change interrupt; the other queues keep working.
 *
 * Locking: one mutex guards the register file; reset and activate run with
 * it held, the other ops without. The calls a device makes from its I/O
 * threads (virtio_pci_queue_interrupt, _config_changed, _queue_broken) never
 * take it: they touch only the status, ISR, generation and vector fields,
 * which are accessed atomically. So a reset op may join I/O threads that are
 * about to raise an interrupt without deadlocking.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_memory.h"
#include "pci/msix.h"
#include "pci/pci_device.h"
#include "pci/pci_ioeventfd.h"
#include "util/error.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

enum {
    VIRTIO_PCI_VENDOR_ID = 0x1af4,
    VIRTIO_PCI_DEVICE_ID_BASE = 0x1040, /* + the virtio device type */
    VIRTIO_PCI_MAX_QUEUES = 64,         /* one ioeventfd each (PCI_IOEVENTFD_MAX) */
    VIRTIO_PCI_BAR = 0,

    /* BAR 0 layout: every region starts on a 4 KiB page. */
    VIRTIO_PCI_COMMON_OFFSET = 0x0000,
    VIRTIO_PCI_COMMON_SIZE = 0x38,      /* struct virtio_pci_common_cfg */
    VIRTIO_PCI_ISR_OFFSET = 0x1000,
    VIRTIO_PCI_DEVICE_OFFSET = 0x2000,
    VIRTIO_PCI_DEVICE_CONFIG_MAX = 0x1000,
    VIRTIO_PCI_NOTIFY_OFFSET = 0x3000,
    VIRTIO_PCI_NOTIFY_MULTIPLIER = 4,
    VIRTIO_PCI_MSIX_TABLE_OFFSET = 0x4000,
    VIRTIO_PCI_MSIX_PBA_OFFSET = 0x6000,
    VIRTIO_PCI_BAR_SIZE = 0x8000,
};

/* What a device is: fixed for its lifetime. */
struct virtio_device_info {
    uint16_t device_type;     /* virtio device id: 2 block, 1 net */
    uint32_t class_code;      /* PCI class: 0x018000 storage, 0x020000 network */
    uint16_t queue_count;     /* 1 .. VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_max_size;  /* 1 .. VIRTQ_MAX_SIZE; the driver may choose smaller */
    uint32_t config_size;     /* bytes of the device-specific configuration, <= VIRTIO_PCI_DEVICE_CONFIG_MAX */
    /*
     * Feature bits the device offers. The transport adds VIRTIO_F_VERSION_1;
     * VIRTIO_F_RING_PACKED, VIRTIO_RING_F_EVENT_IDX and
     * VIRTIO_RING_F_INDIRECT_DESC are honoured by the virtqueue core, so a
     * device may offer them. Other transport bits (ACCESS_PLATFORM, RING_RESET,
     * NOTIFICATION_DATA...) are removed: this transport does not implement them.
     */
    uint64_t features;
};

/*
 * A device model's side of the transport. `opaque` is the device's own state.
 * Every hook is required.
 */
struct virtio_device_ops {
    /* The device-config region: [offset, offset + size) lies within config_size. */
    void (*config_read)(void *opaque, uint32_t offset, void *data, uint32_t size);
    void (*config_write)(void *opaque, uint32_t offset, const void *data, uint32_t size);
    /*
     * DRIVER_OK was accepted: `features` are the negotiated ones and the
     * enabled queues in `queues` (queues[i] for i < queue_count; check
     * virtio_pci_queue_is_enabled) may be used from now on. A device that
     * cannot start returns -1: the transport sets DEVICE_NEEDS_RESET.
     */
    int (*activate)(void *opaque, uint64_t features, struct virtq *queues, uint16_t queue_count);
    /*
     * The driver notified queue `index` through the notify region by MMIO (the
     * slow path: under KVM the queue's ioeventfd, virtio_pci_queue_kick_fd,
     * takes the write without an exit). Called only after activation.
     */
    void (*kick)(void *opaque, uint16_t index);
    /*
     * The driver reset the device (device_status 0, or a PCI reset). The device
     * must stop its I/O threads and drain or cancel in-flight I/O before it
     * returns: the transport then resets every queue, and a completion that
     * still arrived would be refused by virtq_push's generation check anyway.
     */
    void (*reset)(void *opaque);
    /*
     * A VM pause (virtio_pci_pause): stop taking requests from the queues and
     * finish the ones in flight, their completions and interrupts delivered,
     * before returning. resume serves the queues again, including what the
     * driver added meanwhile: nothing is lost or done twice. Called only
     * between activate and reset, with the transport's lock held.
     */
    void (*pause)(void *opaque);
    void (*resume)(void *opaque);
};

struct virtio_pci_queue_registers {
    uint16_t size;          /* as the driver wrote it (power-on: the device's maximum) */
    uint16_t msix_vector;
    bool enabled;
    uint64_t desc, driver, device;
};

struct virtio_pci {
    struct pci_device pci;
    struct msix msix;
    struct pci_bar_ioeventfds ioeventfds;
    const struct guest_memory *memory;
    const struct virtio_device_ops *ops;
    void *opaque;
    struct virtio_device_info info;
    uint64_t offered;             /* info.features + VERSION_1, less what the transport lacks */

    pthread_mutex_t lock;         /* guards everything below */
    uint32_t device_feature_select;
    uint32_t driver_feature_select;
    uint64_t driver_features;     /* masked to `offered` */
    bool driver_asked_unoffered;  /* the driver set a bit never offered: FEATURES_OK is refused */
    uint8_t status;
    uint8_t config_generation;
    uint8_t isr;
    bool activated;
    uint16_t config_msix_vector;
    uint16_t queue_select;
    struct virtio_pci_queue_registers queue_registers[VIRTIO_PCI_MAX_QUEUES];
    struct virtq queues[VIRTIO_PCI_MAX_QUEUES];
    int kick_fds[VIRTIO_PCI_MAX_QUEUES];
    uint8_t pci_cfg_capability;   /* offset of the PCI_CFG capability in config space */
    uint64_t queue_interrupts;    /* queue interrupts raised (atomic; --stats): with irqfd they cost no exit */
    struct log_ratelimit log_limit;
};

/*
 * Builds the PCI function (not yet on a bus: pci_bus_add_device(&transport->pci)).
 * `ioeventfd_ops` registers the queues' kick eventfds (pci_ioeventfd_kvm_ops
 * with the struct kvm_vm in the VMM, a recorder in tests); `delivery` takes
 * the MSI-X messages (msix_kvm.h). One MSI-X vector per queue plus one for
 * configuration changes. Fails for an impossible description (a VMM bug).
 */
int virtio_pci_init(struct virtio_pci *transport, const struct virtio_device_info *info,
                    const struct virtio_device_ops *ops, void *opaque, const struct guest_memory *memory,
                    const struct pci_ioeventfd_ops *ioeventfd_ops, void *ioeventfd_opaque,
                    const struct msix_delivery_ops *delivery, void *delivery_opaque, struct error *error);
void virtio_pci_destroy(struct virtio_pci *transport);

/* The eventfd the guest's notify writes for queue `index` signal under KVM; the device's I/O thread polls it. */
int virtio_pci_queue_kick_fd(const struct virtio_pci *transport, uint16_t index);
/*
 * A device's kick op for a notification that came by MMIO (no KVM ioeventfd
 * took it): signals the queue's kick eventfd, so that the thread that serves
 * the queue sees it exactly as it sees KVM's.
 */
void virtio_pci_queue_kick_forward(const struct virtio_pci *transport, uint16_t index);
/*
 * The thread serving queue `index` read `kicks` from its kick eventfd (the
 * eventfd's value is the number of notifications since the last read, by
 * ioeventfd and MMIO alike): counted in the queue's statistics. Only that
 * thread may call it (virtq_stats.h: one writer per queue).
 */
void virtio_pci_queue_kicks_received(struct virtio_pci *transport, uint16_t index, uint64_t kicks);
/* Reads queue `index`'s kick eventfd (non-blocking) and counts what it held, as above. */
void virtio_pci_queue_kick_drain(struct virtio_pci *transport, uint16_t index);

/*
 * An eventfd whose writes raise queue `index`'s interrupt without kestrel
 * (KVM's irqfd for its MSI-X vector), for vhost-net's call fd; -1 when the
 * queue has no vector or the delivery has no such fd. See
 * msix_vector_direct_fd for what it means for masking.
 */
int virtio_pci_queue_call_fd(struct virtio_pci *transport, uint16_t index);

/*
 * Device → driver: interrupt for queue `index` (after virtq_should_notify said so).
 * Counted in the queue's statistics: call it only from the thread serving the queue.
 */
void virtio_pci_queue_interrupt(struct virtio_pci *transport, uint16_t index);
/* The device changed its configuration: new config_generation, configuration interrupt. */
void virtio_pci_config_changed(struct virtio_pci *transport);
/* The device found queue `index` broken (virtq_pop returned VIRTQ_POP_BROKEN): DEVICE_NEEDS_RESET. */
void virtio_pci_queue_broken(struct virtio_pci *transport, uint16_t index);

/*
 * The VM is pausing (vCPUs already parked) or resuming: the device's pause or
 * resume op, when the device is activated. A reset cannot run meanwhile (it
 * needs a vCPU); the lock is taken anyway, so the order is the transport's.
 */
void virtio_pci_pause(struct virtio_pci *transport);
void virtio_pci_resume(struct virtio_pci *transport);

/* The register file (virtio_pci_common.c), with the transport's lock held: offsets within the common region. */
void virtio_pci_common_read(struct virtio_pci *transport, uint32_t offset, void *data, uint32_t size);
void virtio_pci_common_write(struct virtio_pci *transport, uint32_t offset, const void *data, uint32_t size);
/* Sets DEVICE_NEEDS_RESET and raises the configuration interrupt; lock held. */
void virtio_pci_needs_reset_locked(struct virtio_pci *transport, const char *why);
/* Back to power-on state (the device's reset op runs first); lock held. */
void virtio_pci_reset_locked(struct virtio_pci *transport);
/* The registers and queues at power-on, without calling the device. */
void virtio_pci_power_on_locked(struct virtio_pci *transport);

#endif
