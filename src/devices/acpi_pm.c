#include "devices/acpi_pm.h"

#include <string.h>

#include "arch/x86/layout.h"

/* Bytes of a little-endian register image, for accesses narrower than the register. */
static uint8_t register_byte(uint32_t image, uint64_t index)
{
    return index < 4 ? (uint8_t)(image >> (8 * index)) : 0xff;
}

static void acpi_pm_request_stop(struct acpi_pm *pm, enum platform_stop_reason reason)
{
    if (pm->platform && pm->platform->request_stop)
        pm->platform->request_stop(pm->platform->opaque, reason);
}

/* Lock held. The SCI follows "an enabled event is pending"; the power button is the only event. */
static void update_sci(struct acpi_pm *pm)
{
    bool level = (pm->status & pm->enable & ACPI_PM1_STATUS_PWRBTN) != 0;
    if (level == pm->sci_level)
        return;
    pm->sci_level = level;
    if (pm->platform && pm->platform->set_irq_level)
        pm->platform->set_irq_level(pm->platform->opaque, LAYOUT_ACPI_SCI_IRQ, level);
}

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->status |= ACPI_PM1_STATUS_PWRBTN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_event_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    struct acpi_pm *pm = device;
    uint8_t *bytes = data;
    pthread_mutex_lock(&pm->lock);
    uint32_t image = pm->status | (uint32_t)pm->enable << 16;
    for (uint32_t i = 0; i < size; i++)
        bytes[i] = register_byte(image, offset + i);
    pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_event_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct acpi_pm *pm = device;
    const uint8_t *bytes = data;
    pthread_mutex_lock(&pm->lock);
    for (uint32_t i = 0; i < size; i++) {
        uint64_t index = offset + i;
        if (index < 2) /* PM1_STS bits are cleared by writing 1 */
            pm->status &= (uint16_t)~((uint16_t)bytes[i] << (8 * index));
        else if (index < 4)
            pm->enable = (uint16_t)((pm->enable & ~(0xffu << (8 * (index - 2)))) |
                                    ((uint16_t)bytes[i] << (8 * (index - 2))));
    }
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_control_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    struct acpi_pm *pm = device;
    uint8_t *bytes = data;
    pthread_mutex_lock(&pm->lock);
    uint32_t image = pm->control | ACPI_PM1_CONTROL_SCI_EN;
    for (uint32_t i = 0; i < size; i++)
        bytes[i] = offset + i < 2 ? register_byte(image, offset + i) : 0xff;
    pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_control_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct acpi_pm *pm = device;
    const uint8_t *bytes = data;
    pthread_mutex_lock(&pm->lock);
    uint32_t value = pm->control;
    for (uint32_t i = 0; i < size; i++) {
        uint64_t index = offset + i;
        if (index < 2)
            value = (value & ~(0xffu << (8 * index))) | ((uint32_t)bytes[i] << (8 * index));
    }
    /* SLP_EN is write-only and SCI_EN is stuck at 1: the machine never leaves ACPI mode. */
    pm->control = (uint16_t)((value & ~ACPI_PM1_CONTROL_SLP_EN) | ACPI_PM1_CONTROL_SCI_EN);
    bool sleep = value & ACPI_PM1_CONTROL_SLP_EN;
    unsigned sleep_type = (value & ACPI_PM1_CONTROL_SLP_TYP_MASK) >> ACPI_PM1_CONTROL_SLP_TYP_SHIFT;
    bool power_off = sleep && sleep_type == LAYOUT_ACPI_S5_SLEEP_TYPE;
    if (sleep && !power_off)
        log_ratelimited(&pm->sleep_log_limit, "acpi: guest asked for sleep type %u, which is not supported",
                        sleep_type);
    if (power_off)
        log_ratelimited(&pm->power_off_log_limit, "acpi: guest powered off (S5)");
    pthread_mutex_unlock(&pm->lock);
    if (power_off)
        acpi_pm_request_stop(pm, PLATFORM_STOP_POWER_OFF);
}

static const struct io_device_ops acpi_pm_event_ops = {
    .read = acpi_pm_event_read,
    .write = acpi_pm_event_write,
};

static const struct io_device_ops acpi_pm_control_ops = {
    .read = acpi_pm_control_read,
    .write = acpi_pm_control_write,
};

int acpi_pm_create(struct acpi_pm *pm, const struct platform *platform, struct error *error)
{
    memset(pm, 0, sizeof(*pm));
    int result = pthread_mutex_init(&pm->lock, NULL);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "acpi: mutex: %s", strerror(result));
    pm->platform = platform;
    pm->control = ACPI_PM1_CONTROL_SCI_EN;
    return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    pthread_mutex_destroy(&pm->lock);
}

int acpi_pm_attach(struct acpi_pm *pm, struct io_bus *pio, struct error *error)
{
    if (io_bus_register(pio, LAYOUT_ACPI_PM1A_EVENT_PORT, LAYOUT_ACPI_PM1A_EVENT_LEN, "acpi-pm1a-event",
                        &acpi_pm_event_ops, pm, error) < 0)
        return -1;
    return io_bus_register(pio, LAYOUT_ACPI_PM1A_CONTROL_PORT, LAYOUT_ACPI_PM1A_CONTROL_LEN, "acpi-pm1a-control",
                           &acpi_pm_control_ops, pm, error);
}
