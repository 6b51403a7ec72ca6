#ifndef KESTREL_PCI_MSIX_H
#define KESTREL_PCI_MSIX_H

/*
 * An MSI-X capability with its table and PBA (PCI Local Bus 3.0, 6.8.2), as
 * a component a PCI device embeds: the device adds the capability, forwards
 * its config_written hook and the BAR accesses that hit the table or PBA,
 * and calls msix_vector_fire when it wants to interrupt.
 *
 * Semantics: after reset MSI-X is disabled, the function is unmasked and
 * every vector is masked with address and data zero. A vector fired while
 * the function or the vector is masked sets its pending bit instead of
 * being delivered; unmasking either delivers every pending message that is
 * now unmasked and clears its bit. Firing while MSI-X is disabled does
 * nothing (the device would use INTx, which kestrel's PCI devices lack).
 * Table accesses are dword or aligned qword; any other width or alignment
 * reads as all ones and is ignored on write, as are writes to the PBA and to
 * reserved vector-control bits.
 *
 * Delivery goes through an injectable backend: the VMM's routes each vector
 * through a GSI with an irqfd (msix_kvm.h); tests record the calls.
 * Thread-safe: one lock per MSI-X instance.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci_device.h"
#include "util/error.h"

enum {
    MSIX_MAX_VECTORS = 2048,
    MSIX_ENTRY_SIZE = 16,
    MSIX_CAPABILITY_ID = 0x11,
    MSIX_CAPABILITY_LENGTH = 12,
    MSIX_CONTROL_ENABLE = 0x8000,
    MSIX_CONTROL_FUNCTION_MASK = 0x4000,
    MSIX_VECTOR_MASKED = 0x1,
};

struct msix_delivery_ops {
    /*
     * The vector's message is (now) this one: point its route there. Called
     * before the first delivery of a message, and again when the guest
     * rewrites a deliverable vector.
     */
    void (*vector_configure)(void *opaque, unsigned vector, uint64_t address, uint32_t data);
    /* Deliver the vector's message now (its route is configured). */
    void (*vector_signal)(void *opaque, unsigned vector, uint64_t address, uint32_t data);
    /*
     * Optional: an eventfd whose every write delivers the vector's message
     * (KVM's irqfd), for an agent outside kestrel that signals the guest
     * itself (vhost-net's call fd); -1 when there is none.
     */
    int (*vector_event_fd)(void *opaque, unsigned vector);
};

struct msix_entry {
    uint32_t address_low;
    uint32_t address_high;
    uint32_t data;
    uint32_t control;
};

struct msix {
    pthread_mutex_t lock;
    unsigned vector_count;
    struct msix_entry *table;
    uint64_t *pending;          /* the PBA: one bit per vector */
    bool *routed;               /* the backend has been given the entry's current message */
    bool enabled;
    bool function_masked;
    unsigned table_bar, pba_bar;
    uint32_t table_offset, pba_offset;
    uint8_t capability;         /* offset in the device's configuration space */
    struct pci_device *device;
    const struct msix_delivery_ops *delivery;
    void *delivery_opaque;
};

enum msix_fire_result {
    MSIX_DELIVERED,
    MSIX_PENDING,   /* masked: the pending bit is set */
    MSIX_DISABLED,  /* MSI-X is off */
    MSIX_NO_VECTOR, /* no such vector (a device bug or a guest-chosen index out of range) */
};

/*
 * `table_offset` and `pba_offset` are 8-byte aligned offsets in BARs
 * `table_bar` and `pba_bar`; the regions must not overlap when in one BAR.
 */
int msix_init(struct msix *msix, unsigned vector_count, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
              uint32_t pba_offset, const struct msix_delivery_ops *delivery, void *delivery_opaque,
              struct error *error);
void msix_destroy(struct msix *msix);

/* Adds the capability to `device` and makes Message Control's enable and function-mask bits writable. */
int msix_add_capability(struct msix *msix, struct pci_device *device, struct error *error);

/* Bytes of the table and of the PBA, for sizing the BAR that holds them. */
uint32_t msix_table_size(unsigned vector_count);
uint32_t msix_pba_size(unsigned vector_count);

/* Forward of the device's config_written hook. */
void msix_config_written(struct msix *msix, uint32_t offset, uint32_t size);

/* Forward of bar_read/bar_write: true when the access hit the table or PBA (and was handled). */
bool msix_bar_read(struct msix *msix, unsigned bar, uint64_t offset, void *data, uint32_t size);
bool msix_bar_write(struct msix *msix, unsigned bar, uint64_t offset, const void *data, uint32_t size);

enum msix_fire_result msix_vector_fire(struct msix *msix, unsigned vector);

/* State queries (tests, future device models). */
bool msix_is_enabled(struct msix *msix);
/*
 * The eventfd that raises `vector` without kestrel (delivery's
 * vector_event_fd), with the vector's route configured now; -1 when MSI-X is
 * off, the vector does not exist or the delivery has no such fd. Writes to it
 * bypass the vector's mask bit: a masked vector is delivered rather than
 * marked pending (Linux masks a virtio vector only while it moves it).
 */
int msix_vector_direct_fd(struct msix *msix, unsigned vector);
bool msix_is_pending(struct msix *msix, unsigned vector);

/* Power-on state; the capability's Message Control is reset by the bus with the rest of config space. */
void msix_reset(struct msix *msix);

#endif
