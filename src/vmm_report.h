#ifndef KESTREL_VMM_REPORT_H
#define KESTREL_VMM_REPORT_H

/*
 * --stats' last lines: when the first KVM_RUN came (from exec or main()), and
 * the process's memory split into guest RAM touched and the VMM's own, now
 * and at its peak while the images were loaded.
 */

#include <stdint.h>

#include "boot/boot.h"
#include "mem/guest_memory.h"
#include "util/startup_clock.h"

/* `first_run_ns`: 0 when no KVM_RUN was reached. */
void vmm_report_startup_and_memory(const struct startup_origin *origin, uint64_t first_run_ns,
                                   const struct guest_memory *memory, const struct boot_peak_memory *peak);

/* How long resets took: from the main thread's start of a reset to the new boot's first KVM_RUN. */
struct vmm_reboot_times {
    unsigned reboots;
    unsigned measured; /* resets whose boot reached KVM_RUN */
    uint64_t total_ns;
    uint64_t max_ns;
};

/* One reset, once its boot is over (first_run_ns 0: it never reached KVM_RUN). */
void vmm_reboot_times_add(struct vmm_reboot_times *times, uint64_t reset_started_ns, uint64_t first_run_ns);

/* "reboots: N; reset -> first KVM_RUN: mean X ms, max Y ms"; nothing when the guest never rebooted. */
void vmm_report_reboots(const struct vmm_reboot_times *times);

#endif
