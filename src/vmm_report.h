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

#endif
