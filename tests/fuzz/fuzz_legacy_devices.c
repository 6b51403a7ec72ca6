/*
 * Guest register accesses are a parser too: this feeds an arbitrary sequence
 * of port reads and writes (any size, any port near the devices, straddling
 * range ends) to the UART, i8042, RTC, ACPI PM block and pvpanic over one
 * io_bus, interleaved with host-side console input and arbitrary clock
 * values for the RTC, and checks the models' invariants after every step.
 *
 * Input: records of
 *   op      bits 0-1 kind (0 read, 1 write, 2 console input, 3 set RTC clock)
 *           bits 2-3 log2 access size, bits 4-7 target port
 *   offset  added to the target port (low 4 bits)
 *   value   `size` bytes for a write; for console input a length byte
 *           (at most 32) and the bytes; for the clock 8 bytes of seconds
 *           (the last byte's low bit picks the nanoseconds: 0 or 0.9999 s)
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "util/log.h"

static int null_fd = -1;
static struct timespec fuzz_time;
static bool irq_levels[256];
static unsigned stop_requests;

static void fuzz_set_irq_level(void *opaque, unsigned irq, bool level)
{
    (void)opaque;
    if (irq >= 16)
        __builtin_trap(); /* devices only drive ISA lines */
    /* Level changes only: a repeated level means the model lost track. */
    if (irq_levels[irq] == level)
        __builtin_trap();
    irq_levels[irq] = level;
}

static void fuzz_request_stop(void *opaque, enum platform_stop_reason reason)
{
    (void)opaque;
    if (reason > PLATFORM_STOP_QUIT)
        __builtin_trap();
    stop_requests++;
}

static unsigned rx_space_wakeups;

static void fuzz_rx_space(void *opaque)
{
    (void)opaque;
    rx_space_wakeups++;
}

static void fuzz_clock(struct timespec *now)
{
    *now = fuzz_time;
}

static const uint16_t targets[16] = {
    LAYOUT_COM1_PORT,              LAYOUT_COM1_PORT + 2,     LAYOUT_COM1_PORT + 5,
    LAYOUT_I8042_DATA_PORT,        LAYOUT_I8042_COMMAND_PORT, LAYOUT_I8042_COMMAND_PORT - 3,
    LAYOUT_RTC_PORT,               LAYOUT_RTC_PORT + 1,       LAYOUT_ACPI_PM1A_EVENT_PORT,
    LAYOUT_ACPI_PM1A_EVENT_PORT + 2, LAYOUT_ACPI_PM1A_CONTROL_PORT, LAYOUT_PVPANIC_PORT,
    LAYOUT_PVPANIC_PORT - 1,       LAYOUT_COM1_PORT - 1,     LAYOUT_COM1_PORT + 7,
    LAYOUT_RTC_PORT - 2,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_set_level(LOG_ERROR); /* keep the pvpanic/acpi/i8042 info lines out of the way */
    return 0;
}

static void check_invariants(const struct serial *serial, const struct i8042 *controller, const struct rtc *rtc)
{
    if (serial->rx_count > SERIAL_FIFO_SIZE || serial->rx_head >= SERIAL_FIFO_SIZE)
        __builtin_trap();
    if (serial->interrupt_enable & 0xf0 || serial->modem_control & 0xe0)
        __builtin_trap();
    if (serial->irq_level != irq_levels[LAYOUT_COM1_IRQ])
        __builtin_trap();
    if (controller->queue_count > I8042_QUEUE_SIZE || controller->queue_head >= I8042_QUEUE_SIZE)
        __builtin_trap();
    if (rtc->index >= RTC_CMOS_SIZE || rtc->irq_level != irq_levels[LAYOUT_RTC_IRQ])
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct platform platform = {
        .opaque = NULL,
        .set_irq_level = fuzz_set_irq_level,
        .request_stop = fuzz_request_stop,
    };
    memset(irq_levels, 0, sizeof(irq_levels));
    stop_requests = 0;
    fuzz_time.tv_sec = 1764000000;
    fuzz_time.tv_nsec = 0;

    struct io_bus pio;
    io_bus_init(&pio, "pio");
    static struct serial serial;
    static struct i8042 controller;
    static struct rtc rtc;
    static struct acpi_pm pm;
    static struct pvpanic pvpanic;
    struct error error;
    if (serial_create(&serial, &platform, LAYOUT_COM1_IRQ, null_fd, &error) < 0 ||
        serial_attach(&serial, &pio, LAYOUT_COM1_PORT, &error) < 0 ||
        i8042_create(&controller, &platform, &error) < 0 || i8042_attach(&controller, &pio, &error) < 0 ||
        rtc_create(&rtc, &error) < 0 || rtc_attach(&rtc, &pio, &error) < 0 ||
        acpi_pm_create(&pm, &platform, &error) < 0 || acpi_pm_attach(&pm, &pio, &error) < 0 ||
        pvpanic_create(&pvpanic, &platform, &error) < 0 || pvpanic_attach(&pvpanic, &pio, &error) < 0)
        __builtin_trap();
    rtc.clock_now = fuzz_clock;
    /* Interrupt delivery without the timer thread: flags advance on register access. */
    rtc.platform = &platform;
    rtc.irq = LAYOUT_RTC_IRQ;
    serial_set_rx_space_callback(&serial, fuzz_rx_space, NULL);

    size_t position = 0;
    while (position + 2 <= size) {
        uint8_t op = data[position];
        uint16_t port = (uint16_t)(targets[op >> 4] + (data[position + 1] & 0x0f));
        position += 2;
        uint32_t width = 1u << ((op >> 2) & 3);
        switch (op & 3) {
        case 0: {
            uint8_t value[8];
            io_bus_read(&pio, port, value, width);
            break;
        }
        case 1: {
            if (position + width > size)
                goto done;
            io_bus_write(&pio, port, data + position, width);
            position += width;
            break;
        }
        case 2: {
            if (position >= size)
                goto done;
            size_t length = data[position++] % 33;
            if (position + length > size)
                length = size - position;
            /* The host side's flow control: what rx_space promised must fit, exactly. */
            size_t space = serial_rx_space(&serial);
            size_t accepted = serial_receive(&serial, data + position, length);
            if (accepted != (length < space ? length : space))
                __builtin_trap();
            position += length;
            break;
        }
        case 3: {
            if (position + 8 > size)
                goto done;
            int64_t seconds;
            memcpy(&seconds, data + position, sizeof(seconds));
            position += 8;
            fuzz_time.tv_sec = (time_t)seconds;
            fuzz_time.tv_nsec = (long)(data[position - 1] % 2) * 999900000L; /* both sides of UIP */
            break;
        }
        }
        check_invariants(&serial, &controller, &rtc);
    }
done:
    serial_destroy(&serial);
    i8042_destroy(&controller);
    rtc_destroy(&rtc);
    acpi_pm_destroy(&pm);
    pvpanic_destroy(&pvpanic);
    return 0;
}
