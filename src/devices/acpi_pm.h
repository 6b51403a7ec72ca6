#ifndef KESTREL_DEVICES_ACPI_PM_H
#define KESTREL_DEVICES_ACPI_PM_H

/*
 * ACPI fixed hardware: the PM1a event block (PM1_STS, PM1_EN) and the PM1a
 * control block. The machine is always in ACPI mode (SCI_EN reads 1). Writing
 * SLP_EN with SLP_TYP == LAYOUT_ACPI_S5_SLEEP_TYPE powers off
 * (PLATFORM_STOP_POWER_OFF); other sleep types are refused (logged, ignored).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "devices/platform.h"
#include "util/error.h"
#include "util/log.h"

enum {
    ACPI_PM1_STATUS_PWRBTN = 1u << 8, /* PM1_STS.PWRBTN_STS and PM1_EN.PWRBTN_EN */
    ACPI_PM1_CONTROL_SCI_EN = 1u << 0,
    ACPI_PM1_CONTROL_SLP_TYP_SHIFT = 10,
    ACPI_PM1_CONTROL_SLP_TYP_MASK = 7u << 10,
    ACPI_PM1_CONTROL_SLP_EN = 1u << 13,
};

struct acpi_pm {
    pthread_mutex_t lock;
    const struct platform *platform;
    uint16_t status;  /* PM1_STS, write 1 to clear */
    uint16_t enable;  /* PM1_EN */
    uint16_t control; /* PM1_CNT without the write-only SLP_EN */
    bool sci_level;   /* as last driven: only changes are sent */
    struct log_ratelimit sleep_log_limit;
    struct log_ratelimit power_off_log_limit;
};

int acpi_pm_create(struct acpi_pm *pm, const struct platform *platform, struct error *error);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Claims the PM1a event block and control block ports from layout.h. */
int acpi_pm_attach(struct acpi_pm *pm, struct io_bus *pio, struct error *error);

/*
 * The fixed-feature power button is pressed: PWRBTN_STS is set and the SCI
 * (level, LAYOUT_ACPI_SCI_IRQ) raised while PWRBTN_EN is set; the guest's
 * ACPI driver clears the status, which lowers it.
 */
void acpi_pm_press_power_button(struct acpi_pm *pm);

#endif
