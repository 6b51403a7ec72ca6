/*
 * The byte streams a guest writes to the i8042 and its keyboard, interleaved
 * with the host's SendCtrlAltDel (i8042_send_ctrl_alt_del) as the API thread
 * would inject it. After every step: both queues bounded, the output buffer
 * filled from the keyboard whenever it is empty and the port enabled, IRQ 1
 * and 12 exactly "a byte for that port waiting and its interrupt enabled",
 * the keyboard's scancode set valid.
 *
 * Input: records of one op byte, then its operand if it has one:
 *   op % 5 == 0  write the next byte to port 0x60 (the keyboard, or a command's data)
 *   op % 5 == 1  write the next byte to port 0x64 (a controller command)
 *   op % 5 == 2  read port 0x60
 *   op % 5 == 3  read port 0x64
 *   op % 5 == 4  SendCtrlAltDel
 */
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/i8042.h"
#include "util/log.h"

enum { CTR_KEYBOARD_INTERRUPT = 0x01, CTR_AUX_INTERRUPT = 0x02, CTR_KEYBOARD_DISABLE = 0x10 };

static bool irq_levels[16];

static void fuzz_set_irq_level(void *opaque, unsigned irq, bool level)
{
    (void)opaque;
    if (irq >= 16)
        __builtin_trap();
    irq_levels[irq] = level;
}

static void fuzz_request_stop(void *opaque, enum platform_stop_reason reason)
{
    (void)opaque;
    if (reason != PLATFORM_STOP_RESET)
        __builtin_trap();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR); /* the reset line's info lines */
    return 0;
}

static void check_invariants(const struct i8042 *controller)
{
    const struct ps2_keyboard *keyboard = &controller->keyboard;
    if (controller->queue_count > I8042_QUEUE_SIZE || keyboard->queue_count > PS2_KEYBOARD_QUEUE_SIZE)
        __builtin_trap();
    if (keyboard->scancode_set < 1 || keyboard->scancode_set > 3)
        __builtin_trap();
    if (controller->queue_count == 0 && !(controller->command_byte & CTR_KEYBOARD_DISABLE) &&
        ps2_keyboard_has_output(keyboard))
        __builtin_trap();
    bool waiting = controller->queue_count != 0;
    bool aux = waiting && (controller->queue_flags[controller->queue_head] & 1);
    if (irq_levels[I8042_KEYBOARD_IRQ] != (waiting && !aux && (controller->command_byte & CTR_KEYBOARD_INTERRUPT)))
        __builtin_trap();
    if (irq_levels[I8042_AUX_IRQ] != (waiting && aux && (controller->command_byte & CTR_AUX_INTERRUPT)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct platform platform = {.set_irq_level = fuzz_set_irq_level, .request_stop = fuzz_request_stop};
    for (unsigned i = 0; i < 16; i++)
        irq_levels[i] = false;
    struct io_bus pio;
    io_bus_init(&pio, "pio");
    static struct i8042 controller;
    struct error error;
    if (i8042_create(&controller, &platform, &error) < 0 || i8042_attach(&controller, &pio, &error) < 0)
        __builtin_trap();
    size_t position = 0;
    while (position < size) {
        uint8_t op = data[position++];
        uint8_t value = 0;
        switch (op % 5) {
        case 0:
        case 1:
            if (position >= size)
                goto done;
            value = data[position++];
            io_bus_write(&pio, op % 5 == 0 ? LAYOUT_I8042_DATA_PORT : LAYOUT_I8042_COMMAND_PORT, &value, 1);
            break;
        case 2:
            io_bus_read(&pio, LAYOUT_I8042_DATA_PORT, &value, 1);
            break;
        case 3:
            io_bus_read(&pio, LAYOUT_I8042_COMMAND_PORT, &value, 1);
            break;
        case 4: {
            uint64_t dropped = controller.keyboard.dropped_bytes;
            unsigned queued = controller.keyboard.queue_count;
            if (i8042_send_ctrl_alt_del(&controller, &error) < 0 &&
                (controller.keyboard.queue_count != queued || controller.keyboard.dropped_bytes < dropped))
                __builtin_trap(); /* a refusal queues nothing */
            break;
        }
        }
        check_invariants(&controller);
    }
done:
    i8042_destroy(&controller);
    return 0;
}
