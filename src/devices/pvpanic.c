#include "devices/pvpanic.h"

#include <string.h>

#include "arch/x86/layout.h"

static void pvpanic_bus_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    memset(data, 0, size);
    *(uint8_t *)data = PVPANIC_SUPPORTED_EVENTS;
}

static void pvpanic_bus_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct pvpanic *pvpanic = device;
    (void)offset;
    (void)size;
    uint8_t events = *(const uint8_t *)data;
    /* The guest may write as often as it likes: every line is rate-limited. */
    pthread_mutex_lock(&pvpanic->lock);
    if (events & PVPANIC_CRASH_LOADED)
        log_ratelimited(&pvpanic->log_limit, "pvpanic: guest kernel crashed; its crash kernel is taking over");
    if (events & PVPANIC_PANICKED)
        log_ratelimited(&pvpanic->log_limit, "pvpanic: guest kernel panicked");
    pthread_mutex_unlock(&pvpanic->lock);
    if (events & PVPANIC_PANICKED) {
        if (pvpanic->platform && pvpanic->platform->request_stop)
            pvpanic->platform->request_stop(pvpanic->platform->opaque, PLATFORM_STOP_PANIC);
    }
}

static const struct io_device_ops pvpanic_ops = {
    .read = pvpanic_bus_read,
    .write = pvpanic_bus_write,
};

int pvpanic_create(struct pvpanic *pvpanic, const struct platform *platform, struct error *error)
{
    memset(pvpanic, 0, sizeof(*pvpanic));
    int result = pthread_mutex_init(&pvpanic->lock, NULL);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "pvpanic: mutex: %s", strerror(result));
    pvpanic->platform = platform;
    return 0;
}

void pvpanic_destroy(struct pvpanic *pvpanic)
{
    pthread_mutex_destroy(&pvpanic->lock);
}

int pvpanic_attach(struct pvpanic *pvpanic, struct io_bus *pio, struct error *error)
{
    return io_bus_register(pio, LAYOUT_PVPANIC_PORT, 1, "pvpanic", &pvpanic_ops, pvpanic, error);
}
