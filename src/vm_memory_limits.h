#ifndef KESTREL_VM_MEMORY_LIMITS_H
#define KESTREL_VM_MEMORY_LIMITS_H

/*
 * Whether a --memory size can work on this host, checked before any guest
 * RAM is mapped, so a refusal is one line and exit status 2 rather than a
 * guest that cannot address its RAM or a host driven into the OOM killer.
 */

#include <stdint.h>

#include "cli.h"
#include "util/error.h"
#include "util/host_memory.h"

/*
 * The highest guest physical address kestrel's layout uses with `ram_size`
 * of RAM, plus one: RAM (split around the 32-bit PCI hole) and then the
 * 64-bit PCI window above it. 0 when that would overflow.
 */
uint64_t vm_memory_limits_address_end(uint64_t ram_size);

/* Refuses (status 2) a layout that does not fit in `physical_address_bits` (the vCPU's CPUID 0x80000008). */
int vm_memory_limits_check_address_width(uint64_t ram_size, unsigned physical_address_bits, struct error *error);

/* Refuses (status 2) more RAM than MemAvailable plus SwapFree. */
int vm_memory_limits_check_host(uint64_t ram_size, const struct host_memory *host, struct error *error);

/*
 * For hugepages=on: refuses (status 2) a host without hugetlbfs, a size
 * that is not a whole number of its default huge pages, and more RAM than
 * the pool's free pages that no other mapping has reserved.
 */
int vm_memory_limits_check_huge_pages(uint64_t ram_size, const struct host_memory *host, struct error *error);

/*
 * Both checks for `config` on this host, as kestrel runs them before mapping
 * guest RAM: the address width from the host's CPUID (KVM's supported CPUID
 * is checked again once /dev/kvm is open), then the huge page pool with
 * hugepages=on, else the host's memory unless overcommit=on.
 */
int vm_memory_limits_check_config(const struct vm_config *config, struct error *error);

#endif
