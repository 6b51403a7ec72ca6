#ifndef KESTREL_VM_CONTROL_H
#define KESTREL_VM_CONTROL_H

/*
 * The VMM's side of the control API (api/api_server.h's struct api_vm_ops):
 * pause and resume of the vCPUs and the devices' I/O threads with the guest's
 * kvmclock held still, Stop (the ACPI power button, then a forced stop after
 * a timeout), SendCtrlAltDel (the keys on the i8042's keyboard) and the live
 * statistics (vmm_stats.h) for GET /stats and /metrics.
 *
 * A guest reboot re-creates the VM, the devices and the statistics the
 * pointers below name, in place: the main thread holds `lock` from
 * vm_control_begin_reset to vm_control_end_reset, and every operation that
 * touches them takes `lock`, so an API call made during a reset waits for
 * the new boot and then acts on it.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api_server.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "kvm/kvm_vm.h"
#include "vm_pause.h"
#include "vm_stop.h"
#include "vmm_stats.h"

#define VM_CONTROL_STOP_TIMEOUT_NS (10ull * 1000000000ull)

struct vm_control {
    struct vm_stop *stop;
    struct vm_pause *pause;
    struct kvm_vm *vm;
    struct acpi_pm *acpi_pm;
    struct i8042 *i8042;                 /* SendCtrlAltDel's keyboard */
    /* Pause or resume every device's I/O threads. */
    void (*devices_pause)(void *opaque, bool pause);
    void *devices_opaque;
    unsigned vcpu_count;
    struct vmm_stats *live_stats;        /* opened before the API starts, closed after it stops */
    uint64_t start_ns;                   /* CLOCK_MONOTONIC at start, for the uptime */

    pthread_mutex_t lock;                /* serialises pause, resume, stop, the keys, stats and a reset */
    bool paused;
    bool vm_gone;                        /* a reset failed: no boot to act on until kestrel exits */
    bool clock_saved;
    uint64_t clock_ns;                   /* the kvmclock at pause */
    _Atomic uint64_t stop_deadline_ns;   /* CLOCK_MONOTONIC; 0: no Stop pending */
    int wake_fd;                         /* eventfd: the main thread recomputes its wait */
};

extern const struct api_vm_ops vm_control_api_ops;

int vm_control_init(struct vm_control *control, struct error *error);

/*
 * The main thread, around a reset (a paused VM is resumed first: its vCPUs
 * must be joined). `booted` false: the new boot failed, and every call that
 * would touch it fails from now on ("the VM is stopping").
 */
void vm_control_begin_reset(struct vm_control *control);
void vm_control_end_reset(struct vm_control *control, bool booted);
void vm_control_destroy(struct vm_control *control);

/*
 * The main thread's wait: ms until a pending Stop must be forced (-1: none);
 * then whether it is due, draining wake_fd when `woken`.
 */
int vm_control_stop_wait_ms(struct vm_control *control);
bool vm_control_stop_due(struct vm_control *control, bool woken);

/*
 * The main thread's wait for a stop request: SIGINT/SIGTERM/SIGHUP (blocked,
 * read through `signal_fd`) become one, as does a Stop's timeout when the
 * API is served (`control` non-NULL).
 */
void vm_control_wait_for_stop(struct vm_stop *stop, struct vm_control *control, int signal_fd);

#endif
