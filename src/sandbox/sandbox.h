#ifndef KESTREL_SANDBOX_SANDBOX_H
#define KESTREL_SANDBOX_SANDBOX_H

/*
 * System call filters, one per kind of thread (docs/seccomp.md).
 *
 * Every thread kestrel starts calls sandbox_thread_enter with its kind as the
 * first thing its thread function does; the main thread is THREAD_KIND_VMM and
 * enters once its set-up is done, before it starts the vCPUs. A filter is
 * inherited by the threads its thread creates (their filter is the
 * intersection), which is why vCPU threads never create device threads: device
 * activation and reset requested by a vCPU run on the device set-up thread
 * (sandbox_run_for_vcpu), whose list is the VMM's.
 *
 * A forbidden call kills kestrel with one line naming the thread kind and the
 * call, and exit status 1.
 */

#include <stdbool.h>

#include "util/error.h"

enum thread_kind {
    THREAD_KIND_VMM,
    THREAD_KIND_VCPU,
    THREAD_KIND_BLOCK_IO,
    THREAD_KIND_NET,
    THREAD_KIND_CONSOLE,
    THREAD_KIND_API,
    THREAD_KIND_RTC,
    THREAD_KIND_TRACE_WRITER,
    THREAD_KIND_COUNT,
};

/* "vmm", "vcpu", "block-io", "net", "console", "api", "rtc", "trace-writer". */
const char *thread_kind_name(enum thread_kind kind);

/*
 * Optional, first thing on the main thread: when enabled, a thread builds the
 * filters while the main thread goes on with its set-up (about 1 ms of
 * kestrel's start). sandbox_configure takes its result; sandbox_compile_wait
 * joins it on a path that ends before sandbox_configure (a refused input).
 */
void sandbox_compile_start(bool enabled);
void sandbox_compile_wait(void);

/*
 * Once, on the main thread, before any other thread starts: whether filters are
 * installed (--seccomp on|off; off prints one warning line), and the SIGSYS
 * handler. In KESTREL_TEST_SEAMS builds it also reads KESTREL_TEST_SECCOMP_VIOLATE
 * (a kind's name): a thread of that kind makes a forbidden call once filtered.
 */
int sandbox_configure(bool enabled, struct error *error);

/*
 * Names the calling thread's kind and installs its filter (when enabled). A
 * thread that cannot be filtered must not run: the failure is one line and
 * exit status 1.
 */
void sandbox_thread_enter(enum thread_kind kind);

/* The calling thread's kind (THREAD_KIND_VMM until it entered one). */
enum thread_kind sandbox_thread_kind(void);

/*
 * The device set-up thread: started by the main thread before the vCPUs, stopped
 * after they are joined. sandbox_run_for_vcpu runs `work(argument)` there when
 * the caller is a vCPU thread (and waits), and in place on any other thread.
 * Once a stop began, a vCPU's request fails (-1) rather than wait.
 */
int sandbox_setup_thread_start(struct error *error);
/* Before each boot's vCPUs start: start the set-up thread; on the first call also filter the main thread (VMM). */
int sandbox_main_thread_enter(struct error *error);
void sandbox_setup_thread_stop(void);
int sandbox_run_for_vcpu(int (*work)(void *argument), void *argument);

#endif
