#include "pci/pci_bus.h"

#include <inttypes.h>
#include <string.h>

#include "pci/pci_config.h"
#include "util/checked_math.h"

/* 0xCF8: enable bit, bus, device, function and dword-aligned register. */
#define CONFIG_ADDRESS_ENABLE 0x80000000u
enum { CONFIG_PORTS_LENGTH = 8, CONFIG_DATA_OFFSET = 4 };

int pci_bus_init(struct pci_bus *bus, const struct pci_bus_layout *layout, struct error *error)
{
    memset(bus, 0, sizeof(*bus));
    uint64_t end;
    if (layout->ecam_size < (1u << 20) || layout->mmio32_size == 0 ||
        !checked_add_u64(layout->mmio32_base, layout->mmio32_size, &end) || end > 0x100000000ull ||
        !checked_add_u64(layout->mmio64_base, layout->mmio64_size, &end))
        return error_set(error, EXIT_STATUS_FAILURE, "PCI: bad window layout");
    bus->layout = *layout;
    pthread_mutex_init(&bus->config_lock, NULL);
    pthread_rwlock_init(&bus->decode_lock, NULL);
    return 0;
}

void pci_bus_destroy(struct pci_bus *bus)
{
    pthread_rwlock_destroy(&bus->decode_lock);
    pthread_mutex_destroy(&bus->config_lock);
}

/* --- decoding ------------------------------------------------------------- */

static bool inside(uint64_t base, uint64_t size, uint64_t window_base, uint64_t window_size)
{
    return window_size && range_within(base, size, window_base, window_size);
}

static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    /* Both lie inside a window, so neither end wraps. */
    return a < b + b_size && b < a + a_size;
}

/* Where every BAR should decode now, into `new_decoded[slot][bar]`, and the dispatch table. */
static unsigned compute_decoding(struct pci_bus *bus, uint64_t new_decoded[][PCI_BAR_COUNT],
                                 struct pci_decoded_bar *table)
{
    const struct pci_bus_layout *layout = &bus->layout;
    unsigned count = 0;
    for (unsigned slot = 0; slot < PCI_BUS_MAX_DEVICES; slot++) {
        struct pci_device *device = bus->devices[slot];
        for (unsigned index = 0; index < PCI_BAR_COUNT; index++) {
            new_decoded[slot][index] = PCI_BAR_UNMAPPED;
            if (!device || !device->bars[index].size)
                continue;
            const struct pci_bar *bar = &device->bars[index];
            if (!(pci_config_get16(device, PCI_COMMAND) & PCI_COMMAND_MEMORY))
                continue;
            bool in_window = inside(bar->address, bar->size, layout->mmio32_base, layout->mmio32_size) ||
                             (bar->is_64bit && inside(bar->address, bar->size, layout->mmio64_base,
                                                      layout->mmio64_size));
            if (!in_window)
                continue;
            bool clash = false;
            for (unsigned i = 0; i < count && !clash; i++)
                clash = overlaps(bar->address, bar->size, table[i].base, table[i].size);
            if (clash)
                continue;
            table[count++] = (struct pci_decoded_bar){
                .base = bar->address, .size = bar->size, .device = device, .bar = index};
            new_decoded[slot][index] = bar->address;
        }
    }
    return count;
}

/* With the configuration lock held: swap in the new dispatch table, then tell the devices what moved. */
static void update_decoding(struct pci_bus *bus)
{
    uint64_t new_decoded[PCI_BUS_MAX_DEVICES][PCI_BAR_COUNT];
    struct pci_decoded_bar table[PCI_BUS_MAX_DECODED];
    unsigned count = compute_decoding(bus, new_decoded, table);

    pthread_rwlock_wrlock(&bus->decode_lock);
    memcpy(bus->decoded, table, count * sizeof(table[0]));
    bus->decoded_count = count;
    pthread_rwlock_unlock(&bus->decode_lock);

    /* Every unmap before any map, so a device never has two ioeventfds on one address. */
    for (unsigned slot = 0; slot < PCI_BUS_MAX_DEVICES; slot++) {
        struct pci_device *device = bus->devices[slot];
        for (unsigned index = 0; device && index < PCI_BAR_COUNT; index++) {
            uint64_t old = device->bars[index].decoded;
            if (old != new_decoded[slot][index] && old != PCI_BAR_UNMAPPED && device->ops->bar_unmapped)
                device->ops->bar_unmapped(device, index, old);
        }
    }
    for (unsigned slot = 0; slot < PCI_BUS_MAX_DEVICES; slot++) {
        struct pci_device *device = bus->devices[slot];
        for (unsigned index = 0; device && index < PCI_BAR_COUNT; index++) {
            uint64_t old = device->bars[index].decoded;
            uint64_t now = new_decoded[slot][index];
            device->bars[index].decoded = now;
            if (old != now && now != PCI_BAR_UNMAPPED && device->ops->bar_mapped)
                device->ops->bar_mapped(device, index, now);
        }
    }
}

/* --- configuration -------------------------------------------------------- */

static struct pci_device *function_at(struct pci_bus *bus, unsigned slot, unsigned function)
{
    /* Single-function devices: function 1-7 reads all ones, which ends the guest's scan of the slot. */
    if (slot >= PCI_BUS_MAX_DEVICES || function != 0)
        return NULL;
    return bus->devices[slot];
}

static void config_read_locked(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset, void *data,
                               uint32_t size)
{
    struct pci_device *device = function_at(bus, slot, function);
    if (device)
        pci_config_read(device, offset, data, size);
    else
        memset(data, 0xff, size);
}

static void config_write_locked(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset,
                                const void *data, uint32_t size)
{
    struct pci_device *device = function_at(bus, slot, function);
    if (device && pci_config_write(device, offset, data, size))
        update_decoding(bus);
}

void pci_bus_config_read(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset, void *data,
                         uint32_t size)
{
    pthread_mutex_lock(&bus->config_lock);
    config_read_locked(bus, slot, function, offset, data, size);
    pthread_mutex_unlock(&bus->config_lock);
}

void pci_bus_config_write(struct pci_bus *bus, unsigned slot, unsigned function, uint32_t offset, const void *data,
                          uint32_t size)
{
    pthread_mutex_lock(&bus->config_lock);
    config_write_locked(bus, slot, function, offset, data, size);
    pthread_mutex_unlock(&bus->config_lock);
}

/* 0xCF8-0xCFF. Only a dword at 0xCF8 is the address register; 0xCFC-0xCFF is the data window. */
static void config_ports_access(struct pci_bus *bus, uint64_t offset, void *data, uint32_t size, bool write)
{
    pthread_mutex_lock(&bus->config_lock);
    if (offset == 0 && size == 4) {
        if (write) {
            uint32_t value;
            memcpy(&value, data, 4);
            bus->config_address = value & (CONFIG_ADDRESS_ENABLE | 0x00fffffcu);
        } else {
            memcpy(data, &bus->config_address, 4);
        }
    } else if (offset >= CONFIG_DATA_OFFSET && (bus->config_address & CONFIG_ADDRESS_ENABLE) &&
               ((bus->config_address >> 16) & 0xff) == 0) {
        unsigned slot = (bus->config_address >> 11) & 0x1f;
        unsigned function = (bus->config_address >> 8) & 0x7;
        uint32_t reg = (bus->config_address & 0xfc) + (uint32_t)(offset - CONFIG_DATA_OFFSET);
        if (write)
            config_write_locked(bus, slot, function, reg, data, size);
        else
            config_read_locked(bus, slot, function, reg, data, size);
    }
    /* Anything else (bytes of 0xCF8, a disabled latch, another bus): reads stay all ones, writes drop. */
    pthread_mutex_unlock(&bus->config_lock);
}

static void config_ports_read(void *opaque, uint64_t offset, void *data, uint32_t size)
{
    config_ports_access(opaque, offset, data, size, false);
}

static void config_ports_write(void *opaque, uint64_t offset, const void *data, uint32_t size)
{
    config_ports_access(opaque, offset, (void *)data, size, true);
}

/* ECAM: offset = bus << 20 | device << 15 | function << 12 | register. */
static void ecam_read(void *opaque, uint64_t offset, void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    if (offset >> 20)
        return;
    pci_bus_config_read(bus, (offset >> 15) & 0x1f, (offset >> 12) & 0x7, offset & 0xfff, data, size);
}

static void ecam_write(void *opaque, uint64_t offset, const void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    if (offset >> 20)
        return;
    pci_bus_config_write(bus, (offset >> 15) & 0x1f, (offset >> 12) & 0x7, offset & 0xfff, data, size);
}

/* --- MMIO dispatch -------------------------------------------------------- */

/* Calls the BAR decoding [address, address+size) under the decode lock; nothing when none does. */
static void mmio_dispatch(struct pci_bus *bus, uint64_t address, void *data, uint32_t size, bool write)
{
    pthread_rwlock_rdlock(&bus->decode_lock);
    for (unsigned i = 0; i < bus->decoded_count; i++) {
        const struct pci_decoded_bar *entry = &bus->decoded[i];
        if (!range_within(address, size, entry->base, entry->size))
            continue;
        struct pci_device *device = entry->device;
        uint64_t offset = address - entry->base;
        /* Several vCPUs may exit on one function at once: an atomic add, not a single-writer counter. */
        __atomic_fetch_add(&device->bar_exits, 1, __ATOMIC_RELAXED);
        if (write && device->ops->bar_write)
            device->ops->bar_write(device, entry->bar, offset, data, size);
        else if (!write && device->ops->bar_read)
            device->ops->bar_read(device, entry->bar, offset, data, size);
        break;
    }
    pthread_rwlock_unlock(&bus->decode_lock);
}

void pci_bus_mmio_read(struct pci_bus *bus, uint64_t address, void *data, uint32_t size)
{
    mmio_dispatch(bus, address, data, size, false);
}

void pci_bus_mmio_write(struct pci_bus *bus, uint64_t address, const void *data, uint32_t size)
{
    mmio_dispatch(bus, address, (void *)data, size, true);
}

static void mmio32_read(void *opaque, uint64_t offset, void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    pci_bus_mmio_read(bus, bus->layout.mmio32_base + offset, data, size);
}

static void mmio32_write(void *opaque, uint64_t offset, const void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    pci_bus_mmio_write(bus, bus->layout.mmio32_base + offset, data, size);
}

static void mmio64_read(void *opaque, uint64_t offset, void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    pci_bus_mmio_read(bus, bus->layout.mmio64_base + offset, data, size);
}

static void mmio64_write(void *opaque, uint64_t offset, const void *data, uint32_t size)
{
    struct pci_bus *bus = opaque;
    pci_bus_mmio_write(bus, bus->layout.mmio64_base + offset, data, size);
}

static const struct io_device_ops config_ports_ops = {.read = config_ports_read, .write = config_ports_write};
static const struct io_device_ops ecam_ops = {.read = ecam_read, .write = ecam_write};
static const struct io_device_ops mmio32_ops = {.read = mmio32_read, .write = mmio32_write};
static const struct io_device_ops mmio64_ops = {.read = mmio64_read, .write = mmio64_write};

int pci_bus_attach(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio, struct error *error)
{
    const struct pci_bus_layout *layout = &bus->layout;
    if (io_bus_register(pio, 0xcf8, CONFIG_PORTS_LENGTH, "pci-config", &config_ports_ops, bus, error) < 0 ||
        io_bus_register(mmio, layout->ecam_base, layout->ecam_size, "pci-ecam", &ecam_ops, bus, error) < 0 ||
        io_bus_register(mmio, layout->mmio32_base, layout->mmio32_size, "pci-mmio32", &mmio32_ops, bus, error) < 0)
        return -1;
    if (layout->mmio64_size &&
        io_bus_register(mmio, layout->mmio64_base, layout->mmio64_size, "pci-mmio64", &mmio64_ops, bus, error) < 0)
        return -1;
    return 0;
}

int pci_bus_add_device(struct pci_bus *bus, struct pci_device *device, unsigned slot, struct error *error)
{
    if (slot >= PCI_BUS_MAX_DEVICES || bus->devices[slot])
        return error_set(error, EXIT_STATUS_FAILURE, "PCI: slot %u for %s is %s", slot, device->name,
                         slot >= PCI_BUS_MAX_DEVICES ? "out of range" : "taken");
    pthread_mutex_lock(&bus->config_lock);
    device->slot = slot;
    bus->devices[slot] = device;
    pthread_mutex_unlock(&bus->config_lock);
    return 0;
}

void pci_bus_reset(struct pci_bus *bus)
{
    pthread_mutex_lock(&bus->config_lock);
    for (unsigned slot = 0; slot < PCI_BUS_MAX_DEVICES; slot++) {
        struct pci_device *device = bus->devices[slot];
        if (!device)
            continue;
        pci_config_reset(device);
        if (device->ops->reset)
            device->ops->reset(device);
    }
    bus->config_address = 0;
    update_decoding(bus);
    pthread_mutex_unlock(&bus->config_lock);
}
