#ifndef KESTREL_DEVICES_PVPANIC_H
#define KESTREL_DEVICES_PVPANIC_H

/*
 * The pvpanic I/O port (ACPI _HID QEMU0001). Reads return the events the
 * device supports; a write with PANICKED set requests PLATFORM_STOP_PANIC,
 * CRASH_LOADED is only logged (a kdump kernel is taking over).
 */

#include <pthread.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "devices/platform.h"
#include "util/error.h"
#include "util/log.h"

enum {
    PVPANIC_PANICKED = 1u << 0,
    PVPANIC_CRASH_LOADED = 1u << 1,
    PVPANIC_SUPPORTED_EVENTS = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED,
};

struct pvpanic {
    const struct platform *platform;
    pthread_mutex_t lock; /* guards log_limit */
    struct log_ratelimit log_limit;
};

int pvpanic_create(struct pvpanic *pvpanic, const struct platform *platform, struct error *error);
void pvpanic_destroy(struct pvpanic *pvpanic);
/* Claims LAYOUT_PVPANIC_PORT (1 byte). */
int pvpanic_attach(struct pvpanic *pvpanic, struct io_bus *pio, struct error *error);

#endif
