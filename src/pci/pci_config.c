#include "pci/pci_config.h"

#include <string.h>

#include "util/checked_math.h"

enum { PCI_BAR_END = PCI_BASE_ADDRESS_0 + 4 * PCI_BAR_COUNT };

static bool is_bar_dword(uint32_t offset)
{
    return offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BAR_END;
}

/* The BAR whose upper half is BAR `index`, or -1. */
static int upper_half_of(const struct pci_device *device, unsigned index)
{
    return index > 0 && device->bars[index - 1].is_64bit ? (int)index - 1 : -1;
}

static uint32_t bar_dword_read(const struct pci_device *device, unsigned index)
{
    const struct pci_bar *bar = &device->bars[index];
    if (bar->size) {
        return ((uint32_t)bar->address & 0xfffffff0u) | (bar->is_64bit ? PCI_BAR_MEMORY_64 : 0) |
               (bar->prefetchable ? PCI_BAR_PREFETCHABLE : 0);
    }
    int lower = upper_half_of(device, index);
    return lower >= 0 ? (uint32_t)(device->bars[lower].address >> 32) : 0;
}

/* `value` is the whole dword after merging the enabled bytes into what the guest would read. */
static void bar_dword_write(struct pci_device *device, unsigned index, uint32_t value)
{
    struct pci_bar *bar = &device->bars[index];
    if (bar->size) {
        uint64_t upper = bar->is_64bit ? bar->address & 0xffffffff00000000ull : 0;
        /* Sizing: the bits below the size read back as zero, so all ones reads back as ~(size - 1). */
        bar->address = (upper | (value & 0xfffffff0u)) & ~(bar->size - 1);
        return;
    }
    int lower = upper_half_of(device, index);
    if (lower >= 0) {
        struct pci_bar *low = &device->bars[lower];
        low->address = (((uint64_t)value << 32) | (low->address & 0xffffffffu)) & ~(low->size - 1);
    }
}

static uint32_t dword_read(const struct pci_device *device, uint32_t offset)
{
    if (offset >= PCI_CONFIG_SPACE_SIZE)
        return 0;
    if (is_bar_dword(offset))
        return bar_dword_read(device, (offset - PCI_BASE_ADDRESS_0) / 4);
    return pci_config_get32(device, offset);
}

/* Applies one dword with byte enables; returns true when decoding may have changed. */
static bool dword_write(struct pci_device *device, uint32_t offset, uint32_t value, uint32_t byte_enables)
{
    if (offset >= PCI_CONFIG_SPACE_SIZE)
        return false;
    uint32_t enabled = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (byte_enables & (1u << i))
            enabled |= 0xffu << (8 * i);
    }
    if (is_bar_dword(offset)) {
        uint32_t merged = (dword_read(device, offset) & ~enabled) | (value & enabled);
        bar_dword_write(device, (offset - PCI_BASE_ADDRESS_0) / 4, merged);
        return true;
    }
    for (unsigned i = 0; i < 4; i++) {
        if (!(byte_enables & (1u << i)))
            continue;
        uint8_t mask = device->write_mask[offset + i];
        uint8_t byte = (uint8_t)(value >> (8 * i));
        device->config[offset + i] = (uint8_t)((device->config[offset + i] & ~mask) | (byte & mask));
    }
    return offset == PCI_COMMAND;
}

void pci_config_read(struct pci_device *device, uint32_t offset, void *data, uint32_t size)
{
    uint8_t *out = data;
    uint64_t end;
    if (device->ops->config_reading && checked_add_u64(offset, size, &end) && end > PCI_CAPABILITY_START &&
        offset < PCI_CONFIG_SPACE_SIZE) {
        uint32_t first = offset < PCI_CAPABILITY_START ? PCI_CAPABILITY_START : offset;
        uint32_t last = end > PCI_CONFIG_SPACE_SIZE ? PCI_CONFIG_SPACE_SIZE : (uint32_t)end;
        device->ops->config_reading(device, first, last - first);
    }
    for (uint32_t i = 0; i < size; i++) {
        uint64_t at;
        if (!checked_add_u64(offset, i, &at) || at >= PCI_ECAM_FUNCTION_SIZE) {
            out[i] = 0xff;
            continue;
        }
        uint32_t dword = dword_read(device, (uint32_t)at & ~3u);
        out[i] = (uint8_t)(dword >> (8 * (at & 3)));
    }
}

bool pci_config_write(struct pci_device *device, uint32_t offset, const void *data, uint32_t size)
{
    const uint8_t *in = data;
    bool decoding_changed = false;
    uint32_t capability_first = UINT32_MAX, capability_end = 0;
    uint32_t i = 0;
    while (i < size) {
        uint64_t at;
        if (!checked_add_u64(offset, i, &at) || at >= PCI_ECAM_FUNCTION_SIZE)
            break;
        uint32_t dword_offset = (uint32_t)at & ~3u;
        uint32_t value = 0, byte_enables = 0;
        /* Gather the bytes of this access that fall into this dword. */
        for (; i < size && (offset + i) / 4 == dword_offset / 4 && offset + i >= offset; i++) {
            uint32_t lane = (offset + i) & 3;
            value |= (uint32_t)in[i] << (8 * lane);
            byte_enables |= 1u << lane;
        }
        decoding_changed |= dword_write(device, dword_offset, value, byte_enables);
        if (dword_offset >= PCI_CAPABILITY_START && dword_offset < PCI_CONFIG_SPACE_SIZE) {
            uint32_t first = dword_offset + (uint32_t)__builtin_ctz(byte_enables);
            uint32_t end = dword_offset + 32u - (uint32_t)__builtin_clz(byte_enables);
            if (first < capability_first)
                capability_first = first;
            if (end > capability_end)
                capability_end = end;
        }
    }
    if (capability_end > capability_first && device->ops->config_written)
        device->ops->config_written(device, capability_first, capability_end - capability_first);
    return decoding_changed;
}

void pci_config_reset(struct pci_device *device)
{
    memcpy(device->config, device->power_on_config, sizeof(device->config));
    for (unsigned i = 0; i < PCI_BAR_COUNT; i++)
        device->bars[i].address = 0;
}
