#ifndef KESTREL_DEVICES_PLATFORM_H
#define KESTREL_DEVICES_PLATFORM_H

/*
 * What a device model may ask of the machine around it. The VMM core fills
 * this with KVM-backed functions; unit tests fill it with recorders, so the
 * device models run natively without KVM.
 */

#include <stdbool.h>

enum platform_stop_reason {
    PLATFORM_STOP_POWER_OFF, /* ACPI S5: exit status 0 */
    PLATFORM_STOP_RESET,     /* i8042 reset pulse or similar: kestrel exits (documented) */
    PLATFORM_STOP_PANIC,     /* pvpanic: the guest kernel panicked: exit status 1 */
    PLATFORM_STOP_QUIT,      /* the user pressed Ctrl-A x on the console */
};

struct platform {
    void *opaque;
    /* Drive an ISA interrupt line (GSI 0-15) to a level. */
    void (*set_irq_level)(void *opaque, unsigned irq, bool level);
    /* Ask the VMM to stop all vCPUs and exit; safe from any thread. */
    void (*request_stop)(void *opaque, enum platform_stop_reason reason);
};

#endif
