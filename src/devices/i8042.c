#include "devices/i8042.h"

#include <string.h>

#include "arch/x86/layout.h"
#include "util/log.h"

enum {
    STATUS_OUTPUT_FULL = 0x01,
    STATUS_SYSTEM_FLAG = 0x04,
    STATUS_LAST_WRITE_COMMAND = 0x08,
    STATUS_NOT_INHIBITED = 0x10,
    STATUS_AUX_DATA = 0x20,
    STATUS_TIMEOUT = 0x40,

    CONTROL_KEYBOARD_INTERRUPT = 0x01,
    CONTROL_AUX_INTERRUPT = 0x02,
    CONTROL_SYSTEM_FLAG = 0x04,
    CONTROL_KEYBOARD_DISABLE = 0x10,
    CONTROL_AUX_DISABLE = 0x20,
    CONTROL_TRANSLATE = 0x40,

    COMMAND_READ_CONTROL = 0x20,
    COMMAND_WRITE_CONTROL = 0x60,
    COMMAND_AUX_DISABLE = 0xa7,
    COMMAND_AUX_ENABLE = 0xa8,
    COMMAND_AUX_TEST = 0xa9,
    COMMAND_SELF_TEST = 0xaa,
    COMMAND_KEYBOARD_TEST = 0xab,
    COMMAND_KEYBOARD_DISABLE = 0xad,
    COMMAND_KEYBOARD_ENABLE = 0xae,
    COMMAND_READ_INPUT_PORT = 0xc0,
    COMMAND_READ_OUTPUT_PORT = 0xd0,
    COMMAND_WRITE_OUTPUT_PORT = 0xd1,
    COMMAND_WRITE_KEYBOARD_BUFFER = 0xd2,
    COMMAND_WRITE_AUX_BUFFER = 0xd3,
    COMMAND_WRITE_AUX_DEVICE = 0xd4,
    COMMAND_PULSE_FIRST = 0xf0, /* 0xf0-0xff pulse output-port lines whose bit is 0 */

    OUTPUT_PORT_RESET_HIGH = 0x01, /* 0 holds the CPU in reset */
    OUTPUT_PORT_A20 = 0x02,

    SELF_TEST_PASSED = 0x55,
    INTERFACE_TEST_PASSED = 0x00,
    /* What the AUX port answers, with no mouse plugged in: resend, with the timeout flag. */
    NO_DEVICE_RESPONSE = 0xfe,
};

/* Per-byte flags kept with each queued byte. */
enum { QUEUED_AUX = 1, QUEUED_TIMEOUT = 2 };

static void i8042_queue_push(struct i8042 *controller, uint8_t byte, unsigned flags)
{
    /* A guest that never reads cannot grow the queue: extra bytes are lost. */
    if (controller->queue_count >= I8042_QUEUE_SIZE)
        return;
    unsigned slot = (controller->queue_head + controller->queue_count) % I8042_QUEUE_SIZE;
    controller->queue[slot] = byte;
    controller->queue_flags[slot] = (uint8_t)flags;
    controller->queue_count++;
}

static unsigned i8042_head_flags(const struct i8042 *controller)
{
    return controller->queue_count ? controller->queue_flags[controller->queue_head] : 0;
}

static void i8042_set_line(struct i8042 *controller, unsigned irq, bool *current, bool level)
{
    if (*current == level)
        return;
    *current = level;
    if (controller->platform && controller->platform->set_irq_level)
        controller->platform->set_irq_level(controller->platform->opaque, irq, level);
}

/* IRQ 1 / 12 are high while a byte for that port waits and its interrupt is enabled. */
static void i8042_update_irqs_locked(struct i8042 *controller)
{
    bool waiting = controller->queue_count != 0;
    bool aux = i8042_head_flags(controller) & QUEUED_AUX;
    i8042_set_line(controller, I8042_KEYBOARD_IRQ, &controller->keyboard_irq_level,
                   waiting && !aux && (controller->command_byte & CONTROL_KEYBOARD_INTERRUPT));
    i8042_set_line(controller, I8042_AUX_IRQ, &controller->aux_irq_level,
                   waiting && aux && (controller->command_byte & CONTROL_AUX_INTERRUPT));
}

/*
 * A real controller takes the keyboard's next byte only into an empty output
 * buffer and not while the port is disabled; the keyboard keeps the rest.
 * Bounded: each turn takes a byte from the keyboard's bounded queue.
 */
static void i8042_pull_keyboard_locked(struct i8042 *controller)
{
    while (controller->queue_count == 0 && !(controller->command_byte & CONTROL_KEYBOARD_DISABLE) &&
           ps2_keyboard_has_output(&controller->keyboard)) {
        uint8_t byte = ps2_keyboard_take(&controller->keyboard);
        if (!(controller->command_byte & CONTROL_TRANSLATE))
            i8042_queue_push(controller, byte, 0);
        else if (i8042_translate(&controller->translator, byte, &byte))
            i8042_queue_push(controller, byte, 0);
    }
}

static void i8042_settle_locked(struct i8042 *controller)
{
    i8042_pull_keyboard_locked(controller);
    i8042_update_irqs_locked(controller);
}

static void i8042_request_reset(struct i8042 *controller)
{
    log_ratelimited(&controller->reset_log_limit, "i8042: guest pulsed the reset line");
    if (controller->platform && controller->platform->request_stop)
        controller->platform->request_stop(controller->platform->opaque, PLATFORM_STOP_RESET);
}

static uint8_t i8042_read_data_locked(struct i8042 *controller)
{
    if (!controller->queue_count)
        return controller->last_read; /* real controllers repeat the last byte */
    uint8_t byte = controller->queue[controller->queue_head];
    controller->queue_head = (controller->queue_head + 1) % I8042_QUEUE_SIZE;
    controller->queue_count--;
    controller->last_read = byte;
    return byte;
}

static uint8_t i8042_read_status_locked(struct i8042 *controller)
{
    uint8_t status = STATUS_NOT_INHIBITED;
    if (controller->command_byte & CONTROL_SYSTEM_FLAG)
        status |= STATUS_SYSTEM_FLAG;
    if (controller->last_write_was_command)
        status |= STATUS_LAST_WRITE_COMMAND;
    if (controller->queue_count) {
        unsigned flags = i8042_head_flags(controller);
        status |= STATUS_OUTPUT_FULL;
        if (flags & QUEUED_AUX)
            status |= STATUS_AUX_DATA;
        if (flags & QUEUED_TIMEOUT)
            status |= STATUS_TIMEOUT;
    }
    return status;
}

static void i8042_write_output_port(struct i8042 *controller, uint8_t value)
{
    controller->output_port = value;
    if (!(value & OUTPUT_PORT_RESET_HIGH))
        i8042_request_reset(controller);
}

static void i8042_write_data_locked(struct i8042 *controller, uint8_t value)
{
    controller->last_write_was_command = false;
    uint8_t command = controller->pending_command;
    controller->pending_command = 0;
    switch (command) {
    case COMMAND_WRITE_CONTROL:
        controller->command_byte = value;
        break;
    case COMMAND_WRITE_OUTPUT_PORT:
        i8042_write_output_port(controller, value);
        break;
    case COMMAND_WRITE_KEYBOARD_BUFFER:
        i8042_queue_push(controller, value, 0);
        break;
    case COMMAND_WRITE_AUX_BUFFER:
        i8042_queue_push(controller, value, QUEUED_AUX);
        break;
    case COMMAND_WRITE_AUX_DEVICE:
        /* No mouse: the port reports a timeout at once, so drivers give up fast. */
        i8042_queue_push(controller, NO_DEVICE_RESPONSE, QUEUED_AUX | QUEUED_TIMEOUT);
        break;
    case 0:
        /* A byte for the keyboard. Sending to it re-enables the port, as on real controllers. */
        controller->command_byte &= (uint8_t)~CONTROL_KEYBOARD_DISABLE;
        ps2_keyboard_write(&controller->keyboard, value);
        break;
    default:
        /* Other controller-RAM writes (0x61-0x7f): accepted and forgotten. */
        break;
    }
}

static void i8042_write_command_locked(struct i8042 *controller, uint8_t command)
{
    controller->last_write_was_command = true;
    controller->pending_command = 0;
    if (command >= COMMAND_PULSE_FIRST) {
        if (!(command & OUTPUT_PORT_RESET_HIGH))
            i8042_request_reset(controller);
        return;
    }
    switch (command) {
    case COMMAND_READ_CONTROL:
        i8042_queue_push(controller, controller->command_byte, 0);
        break;
    case COMMAND_WRITE_CONTROL:
    case COMMAND_WRITE_OUTPUT_PORT:
    case COMMAND_WRITE_KEYBOARD_BUFFER:
    case COMMAND_WRITE_AUX_BUFFER:
    case COMMAND_WRITE_AUX_DEVICE:
        controller->pending_command = command;
        break;
    case COMMAND_AUX_DISABLE:
        controller->command_byte |= CONTROL_AUX_DISABLE;
        break;
    case COMMAND_AUX_ENABLE:
        controller->command_byte &= (uint8_t)~CONTROL_AUX_DISABLE;
        break;
    case COMMAND_AUX_TEST:
    case COMMAND_KEYBOARD_TEST:
        i8042_queue_push(controller, INTERFACE_TEST_PASSED, 0);
        break;
    case COMMAND_SELF_TEST:
        controller->command_byte |= CONTROL_SYSTEM_FLAG;
        i8042_queue_push(controller, SELF_TEST_PASSED, 0);
        break;
    case COMMAND_KEYBOARD_DISABLE:
        controller->command_byte |= CONTROL_KEYBOARD_DISABLE;
        break;
    case COMMAND_KEYBOARD_ENABLE:
        controller->command_byte &= (uint8_t)~CONTROL_KEYBOARD_DISABLE;
        break;
    case COMMAND_READ_INPUT_PORT:
        /* Keyboard not inhibited; nothing else of interest. */
        i8042_queue_push(controller, 0x80, 0);
        break;
    case COMMAND_READ_OUTPUT_PORT:
        i8042_queue_push(controller, controller->output_port, 0);
        break;
    default:
        if (command > COMMAND_READ_CONTROL && command < COMMAND_WRITE_CONTROL) {
            /* Reads of the rest of controller RAM. */
            i8042_queue_push(controller, 0, 0);
        } else if (command > COMMAND_WRITE_CONTROL && command < 0x80) {
            controller->pending_command = command;
        }
        /* Anything else is ignored, like an unknown command on real parts. */
        break;
    }
}

uint8_t i8042_read_data(struct i8042 *controller)
{
    pthread_mutex_lock(&controller->lock);
    bool consumed = controller->queue_count != 0;
    uint8_t value = i8042_read_data_locked(controller);
    if (consumed) {
        /* Every byte gets its own edge: ISA IRQs 1 and 12 are edge-triggered and Linux reads one byte per interrupt. */
        i8042_set_line(controller, I8042_KEYBOARD_IRQ, &controller->keyboard_irq_level, false);
        i8042_set_line(controller, I8042_AUX_IRQ, &controller->aux_irq_level, false);
    }
    i8042_settle_locked(controller);
    pthread_mutex_unlock(&controller->lock);
    return value;
}

uint8_t i8042_read_status(struct i8042 *controller)
{
    pthread_mutex_lock(&controller->lock);
    uint8_t value = i8042_read_status_locked(controller);
    pthread_mutex_unlock(&controller->lock);
    return value;
}

void i8042_write_data(struct i8042 *controller, uint8_t value)
{
    pthread_mutex_lock(&controller->lock);
    i8042_write_data_locked(controller, value);
    i8042_settle_locked(controller);
    pthread_mutex_unlock(&controller->lock);
}

void i8042_write_command(struct i8042 *controller, uint8_t value)
{
    pthread_mutex_lock(&controller->lock);
    i8042_write_command_locked(controller, value);
    i8042_settle_locked(controller);
    pthread_mutex_unlock(&controller->lock);
}

/* Both ranges are one port wide, so io_bus only ever passes size 1, offset 0. */
static void i8042_data_bus_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)offset;
    (void)size;
    *(uint8_t *)data = i8042_read_data(device);
}

static void i8042_data_bus_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    (void)offset;
    (void)size;
    i8042_write_data(device, *(const uint8_t *)data);
}

static void i8042_command_bus_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)offset;
    (void)size;
    *(uint8_t *)data = i8042_read_status(device);
}

static void i8042_command_bus_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    (void)offset;
    (void)size;
    i8042_write_command(device, *(const uint8_t *)data);
}

static const struct io_device_ops i8042_data_ops = {
    .read = i8042_data_bus_read,
    .write = i8042_data_bus_write,
};

static const struct io_device_ops i8042_command_ops = {
    .read = i8042_command_bus_read,
    .write = i8042_command_bus_write,
};

int i8042_create(struct i8042 *controller, const struct platform *platform, struct error *error)
{
    memset(controller, 0, sizeof(*controller));
    int result = pthread_mutex_init(&controller->lock, NULL);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "i8042: mutex: %s", strerror(result));
    controller->platform = platform;
    /* As firmware leaves it: keyboard interrupt on, POST passed, scancode translation. */
    controller->command_byte = CONTROL_KEYBOARD_INTERRUPT | CONTROL_SYSTEM_FLAG | CONTROL_TRANSLATE;
    controller->output_port = OUTPUT_PORT_RESET_HIGH | OUTPUT_PORT_A20;
    ps2_keyboard_init(&controller->keyboard);
    return 0;
}

int i8042_send_ctrl_alt_del(struct i8042 *controller, struct error *error)
{
    static const enum ps2_key keys[] = {PS2_KEY_LEFT_CTRL, PS2_KEY_LEFT_ALT, PS2_KEY_DELETE};
    pthread_mutex_lock(&controller->lock);
    int result = 0;
    if (controller->command_byte & CONTROL_KEYBOARD_DISABLE) {
        result = error_set(error, EXIT_STATUS_FAILURE,
                           "the guest has disabled its keyboard port (i8042 CTR): it would not see Ctrl-Alt-Del");
    } else {
        switch (ps2_keyboard_press(&controller->keyboard, keys, sizeof(keys) / sizeof(keys[0]))) {
        case PS2_KEYBOARD_PRESSED:
            break;
        case PS2_KEYBOARD_NOT_SCANNING:
            result = error_set(error, EXIT_STATUS_FAILURE,
                               "the guest has no keyboard enabled (no keyboard driver, or it disabled the "
                               "keyboard): nothing would read Ctrl-Alt-Del");
            break;
        case PS2_KEYBOARD_QUEUE_FULL:
            result = error_set(error, EXIT_STATUS_FAILURE,
                               "the guest is not reading its keyboard: the keyboard's buffer is full, so "
                               "Ctrl-Alt-Del was dropped (%llu bytes dropped so far)",
                               (unsigned long long)controller->keyboard.dropped_bytes);
            break;
        }
    }
    i8042_settle_locked(controller);
    pthread_mutex_unlock(&controller->lock);
    return result;
}

uint64_t i8042_keyboard_dropped_bytes(struct i8042 *controller)
{
    pthread_mutex_lock(&controller->lock);
    uint64_t dropped = controller->keyboard.dropped_bytes;
    pthread_mutex_unlock(&controller->lock);
    return dropped;
}

void i8042_destroy(struct i8042 *controller)
{
    pthread_mutex_destroy(&controller->lock);
}

int i8042_attach(struct i8042 *controller, struct io_bus *pio, struct error *error)
{
    if (io_bus_register(pio, LAYOUT_I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops, controller, error) < 0)
        return -1;
    return io_bus_register(pio, LAYOUT_I8042_COMMAND_PORT, 1, "i8042-command", &i8042_command_ops, controller,
                           error);
}
