#ifndef KESTREL_VMM_H
#define KESTREL_VMM_H

/*
 * `kestrel run`: config -> guest memory -> kernel loaded -> KVM VM ->
 * devices -> vCPU threads -> wait for a stop -> exit status.
 *
 * User-input problems (memory size, kernel/initrd files, command line,
 * --cpus against KVM's limit) are found before anything host-specific is
 * refused, so they read the same on every host. Returns the process exit
 * status; everything it reports goes to stderr.
 */

#include "cli.h"
#include "util/startup_clock.h"

/* Cap from the guest's xAPIC ids (8 bits, 0xff is broadcast) in CPUID leaf 1 and the MADT. */
#define VMM_MAX_CPUS 254u

/* `origin`: what --stats measures the first KVM_RUN from (exec or main()'s entry). */
int vmm_run(const struct vm_config *config, const struct startup_origin *origin);

#endif
