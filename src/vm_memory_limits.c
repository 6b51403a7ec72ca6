#include "vm_memory_limits.h"

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "mem/guest_memory.h"
#include "util/checked_math.h"

uint64_t vm_memory_limits_address_end(uint64_t ram_size)
{
    uint64_t ram_end = ram_size;
    if (ram_size > GUEST_MMIO_HOLE_START &&
        !checked_add_u64(GUEST_HIGH_RAM_START, ram_size - GUEST_MMIO_HOLE_START, &ram_end))
        return 0;
    /* layout_pci_mmio64_start rounds up to the window's alignment: keep that from wrapping. */
    if (ram_end > UINT64_MAX - LAYOUT_PCI_MMIO64_ALIGNMENT)
        return 0;
    uint64_t end;
    if (!checked_add_u64(layout_pci_mmio64_start(ram_end), LAYOUT_PCI_MMIO64_SIZE, &end))
        return 0;
    return end;
}

int vm_memory_limits_check_address_width(uint64_t ram_size, unsigned physical_address_bits, struct error *error)
{
    uint64_t end = vm_memory_limits_address_end(ram_size);
    uint64_t limit = physical_address_bits >= 64 ? UINT64_MAX : (1ull << physical_address_bits);
    if (end == 0 || end > limit)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--memory %llu MiB does not fit the guest's %u-bit physical address space: its RAM and "
                         "the 32 GiB PCI window above it would pass %llu GiB",
                         (unsigned long long)(ram_size >> 20), physical_address_bits,
                         (unsigned long long)(limit >> 30));
    return 0;
}

int vm_memory_limits_check_host(uint64_t ram_size, const struct host_memory *host, struct error *error)
{
    uint64_t backable_kib;
    if (!checked_add_u64(host->available_kib, host->swap_free_kib, &backable_kib))
        backable_kib = UINT64_MAX;
    if ((ram_size >> 10) > backable_kib)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--memory %llu MiB is more than this host can back now (MemAvailable %llu MiB + free swap "
                         "%llu MiB); add ,overcommit=on to start anyway",
                         (unsigned long long)(ram_size >> 20), (unsigned long long)(host->available_kib >> 10),
                         (unsigned long long)(host->swap_free_kib >> 10));
    return 0;
}

int vm_memory_limits_check_huge_pages(uint64_t ram_size, const struct host_memory *host, struct error *error)
{
    if (host->huge_page_size_kib == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--memory ...,hugepages=on: this host's kernel has no hugetlbfs");
    uint64_t page_size = host->huge_page_size_kib << 10;
    if (ram_size % page_size != 0)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--memory ...,hugepages=on: %llu KiB is not a multiple of the host's %llu KiB huge pages",
                         (unsigned long long)(ram_size >> 10), (unsigned long long)host->huge_page_size_kib);
    uint64_t usable = host->huge_pages_free > host->huge_pages_reserved
                          ? host->huge_pages_free - host->huge_pages_reserved
                          : 0;
    if (ram_size / page_size > usable)
        return error_set(error, EXIT_STATUS_USAGE,
                         "--memory ...,hugepages=on: %llu MiB needs %llu huge pages of %llu KiB, and the host has %llu "
                         "free (raise /proc/sys/vm/nr_hugepages)",
                         (unsigned long long)(ram_size >> 20), (unsigned long long)(ram_size / page_size),
                         (unsigned long long)host->huge_page_size_kib, (unsigned long long)usable);
    return 0;
}

int vm_memory_limits_check_config(const struct vm_config *config, struct error *error)
{
    if (vm_memory_limits_check_address_width(config->memory_size, cpuid_host_physical_address_bits(), error) < 0)
        return -1;
    if (config->memory_overcommit && !config->memory_huge_pages)
        return 0;
    struct host_memory host;
    if (host_memory_read(&host, error) < 0)
        return -1;
    /* Huge pages come from their own pool, which MemAvailable does not count: overcommit cannot apply. */
    if (config->memory_huge_pages)
        return vm_memory_limits_check_huge_pages(config->memory_size, &host, error);
    return vm_memory_limits_check_host(config->memory_size, &host, error);
}
