#include "kvm/kvm_irq_routing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int gsi_routing_init(struct gsi_routing *routing, gsi_routing_submit_fn submit, void *opaque, struct error *error)
{
    memset(routing->msi, 0, sizeof(routing->msi));
    routing->submit = submit;
    routing->submit_opaque = opaque;
    routing->table = calloc(1, sizeof(*routing->table) + GSI_ROUTING_MAX_ENTRIES * sizeof(routing->table->entries[0]));
    if (!routing->table)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory for the GSI routing table");
    pthread_mutex_init(&routing->lock, NULL);
    return 0;
}

void gsi_routing_destroy(struct gsi_routing *routing)
{
    if (!routing->table)
        return;
    pthread_mutex_destroy(&routing->lock);
    free(routing->table);
    routing->table = NULL;
}

static void add_irqchip(struct kvm_irq_routing *table, unsigned gsi, unsigned chip, unsigned pin)
{
    table->entries[table->nr++] = (struct kvm_irq_routing_entry){
        .gsi = gsi,
        .type = KVM_IRQ_ROUTING_IRQCHIP,
        .u.irqchip = {.irqchip = chip, .pin = pin},
    };
}

void gsi_routing_build(struct gsi_routing *routing, struct kvm_irq_routing *table)
{
    table->nr = 0;
    table->flags = 0;
    /* KVM's default (kvm_setup_default_irq_routing): a legacy line drives both PIC and IOAPIC. */
    for (unsigned gsi = 0; gsi < GSI_ROUTING_IOAPIC_PINS; gsi++) {
        if (gsi < 8)
            add_irqchip(table, gsi, KVM_IRQCHIP_PIC_MASTER, gsi);
        else if (gsi < GSI_ROUTING_PIC_PINS)
            add_irqchip(table, gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8);
        add_irqchip(table, gsi, KVM_IRQCHIP_IOAPIC, gsi);
    }
    for (unsigned i = 0; i < GSI_ROUTING_MAX_MSI; i++) {
        const struct gsi_msi_route *route = &routing->msi[i];
        if (!route->allocated)
            continue;
        table->entries[table->nr++] = (struct kvm_irq_routing_entry){
            .gsi = GSI_ROUTING_FIRST_MSI + i,
            .type = KVM_IRQ_ROUTING_MSI,
            .u.msi = {
                .address_lo = (uint32_t)route->address,
                .address_hi = (uint32_t)(route->address >> 32),
                .data = route->data,
            },
        };
    }
}

/* Called with the lock held, so submissions reach KVM in the order the table changed. */
static int submit_locked(struct gsi_routing *routing)
{
    gsi_routing_build(routing, routing->table);
    return routing->submit(routing->submit_opaque, routing->table);
}

int gsi_routing_commit(struct gsi_routing *routing)
{
    pthread_mutex_lock(&routing->lock);
    int result = submit_locked(routing);
    pthread_mutex_unlock(&routing->lock);
    return result;
}

int gsi_routing_allocate_msi(struct gsi_routing *routing)
{
    int gsi = -1;
    pthread_mutex_lock(&routing->lock);
    for (unsigned i = 0; i < GSI_ROUTING_MAX_MSI; i++) {
        if (!routing->msi[i].allocated) {
            /* Address 0 is no valid MSI target (not 0xfeexxxxx): a stray signal goes nowhere. */
            routing->msi[i] = (struct gsi_msi_route){.allocated = true};
            gsi = (int)(GSI_ROUTING_FIRST_MSI + i);
            break;
        }
    }
    pthread_mutex_unlock(&routing->lock);
    return gsi;
}

static struct gsi_msi_route *msi_route(struct gsi_routing *routing, unsigned gsi)
{
    if (gsi < GSI_ROUTING_FIRST_MSI || gsi - GSI_ROUTING_FIRST_MSI >= GSI_ROUTING_MAX_MSI)
        return NULL;
    struct gsi_msi_route *route = &routing->msi[gsi - GSI_ROUTING_FIRST_MSI];
    return route->allocated ? route : NULL;
}

void gsi_routing_release_msi(struct gsi_routing *routing, unsigned gsi)
{
    pthread_mutex_lock(&routing->lock);
    struct gsi_msi_route *route = msi_route(routing, gsi);
    if (route)
        route->allocated = false;
    pthread_mutex_unlock(&routing->lock);
}

int gsi_routing_set_msi(struct gsi_routing *routing, unsigned gsi, uint64_t address, uint32_t data)
{
    pthread_mutex_lock(&routing->lock);
    int result = -EINVAL;
    struct gsi_msi_route *route = msi_route(routing, gsi);
    if (route) {
        result = 0;
        if (route->address != address || route->data != data) {
            route->address = address;
            route->data = data;
            result = submit_locked(routing);
        }
    }
    pthread_mutex_unlock(&routing->lock);
    return result;
}

int gsi_routing_submit_to_kvm(void *opaque, const struct kvm_irq_routing *table)
{
    int vm_fd = *(const int *)opaque;
    return ioctl(vm_fd, KVM_SET_GSI_ROUTING, table) < 0 ? -errno : 0;
}
