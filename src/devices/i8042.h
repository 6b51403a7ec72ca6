#ifndef KESTREL_DEVICES_I8042_H
#define KESTREL_DEVICES_I8042_H

/*
 * The i8042 keyboard controller (ports 0x60 data, 0x64 status/command) with
 * a PS/2 keyboard on its first port (ps2_keyboard.h) and nothing on the AUX
 * port: bytes sent to the mouse come back as 0xFE with the timeout status
 * bit, so Linux gives up at once. The AUX loop command (0xD3) works, with
 * IRQ 12, so Linux's AUX probe does not stall. The keyboard's bytes reach the
 * output buffer one at a time, only while it is empty and the port enabled,
 * translated to set 1 while the CTR's translate bit is set (i8042_translate.h).
 * Command 0xFE, or 0xD1 with output-port bit 0 clear, asks the platform for
 * PLATFORM_STOP_RESET. IRQ 1/12 follow "byte for that port waiting and its
 * interrupt enabled", dropped and raised again after each read of 0x60 so
 * every byte has its edge.
 *
 * One lock guards the controller and its keyboard: vCPU threads (port I/O)
 * and the API thread (i8042_send_ctrl_alt_del) may call in at once.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "devices/i8042_translate.h"
#include "devices/platform.h"
#include "devices/ps2_keyboard.h"
#include "util/error.h"
#include "util/log.h"

enum {
    I8042_KEYBOARD_IRQ = 1,
    I8042_AUX_IRQ = 12,
    I8042_QUEUE_SIZE = 8,
};

struct i8042 {
    pthread_mutex_t lock;
    const struct platform *platform;
    uint8_t command_byte;  /* "CTR": interrupt enables, port disables, SYS flag */
    uint8_t output_port;
    uint8_t pending_command; /* command waiting for its data byte, 0 if none */
    bool last_write_was_command; /* status bit 3 */
    uint8_t queue[I8042_QUEUE_SIZE]; /* bytes waiting to be read at 0x60 */
    uint8_t queue_flags[I8042_QUEUE_SIZE]; /* from the AUX port; with timeout status */
    unsigned queue_head;
    unsigned queue_count;
    bool keyboard_irq_level;
    bool aux_irq_level;
    struct log_ratelimit reset_log_limit;
    uint8_t last_read; /* what the data port repeats when nothing is queued */
    struct ps2_keyboard keyboard;
    struct i8042_translator translator;
};

int i8042_create(struct i8042 *controller, const struct platform *platform, struct error *error);
void i8042_destroy(struct i8042 *controller);
/* Claims LAYOUT_I8042_DATA_PORT and LAYOUT_I8042_COMMAND_PORT. */
int i8042_attach(struct i8042 *controller, struct io_bus *pio, struct error *error);

uint8_t i8042_read_data(struct i8042 *controller);
uint8_t i8042_read_status(struct i8042 *controller);
void i8042_write_data(struct i8042 *controller, uint8_t value);
void i8042_write_command(struct i8042 *controller, uint8_t value);

/*
 * Presses Ctrl, Alt and Delete on the keyboard and releases them (Firecracker's
 * SendCtrlAltDel), raising IRQ 1 as the bytes reach the guest. Refused (-1,
 * `error` says why) when the guest would never see them: its keyboard port is
 * disabled, its keyboard not enabled (no driver), or the keyboard's buffer too
 * full (the guest is not reading; the sequence is dropped and counted).
 */
int i8042_send_ctrl_alt_del(struct i8042 *controller, struct error *error);
/* Bytes the keyboard lost to a full buffer (replies and key sequences). */
uint64_t i8042_keyboard_dropped_bytes(struct i8042 *controller);

#endif
