#ifndef KESTREL_DEVICES_I8042_H
#define KESTREL_DEVICES_I8042_H

/*
 * Enough of the i8042 keyboard controller (ports 0x60 data, 0x64
 * status/command) for Linux to probe it quietly and to reboot through it.
 * It behaves as a controller with keyboard and AUX ports but nothing plugged
 * into them: bytes sent to either device come back as 0xFE with the timeout
 * status bit, so drivers give up at once instead of waiting. The AUX loop
 * command (0xD3) works, with IRQ 12, so Linux's AUX probe does not stall.
 * Command 0xFE, or 0xD1 with output-port bit 0 clear, asks the platform for
 * PLATFORM_STOP_RESET. IRQ 1/12 follow "byte for that port waiting and its interrupt enabled".
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "devices/platform.h"
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
};

int i8042_create(struct i8042 *controller, const struct platform *platform, struct error *error);
void i8042_destroy(struct i8042 *controller);
/* Claims LAYOUT_I8042_DATA_PORT and LAYOUT_I8042_COMMAND_PORT. */
int i8042_attach(struct i8042 *controller, struct io_bus *pio, struct error *error);

uint8_t i8042_read_data(struct i8042 *controller);
uint8_t i8042_read_status(struct i8042 *controller);
void i8042_write_data(struct i8042 *controller, uint8_t value);
void i8042_write_command(struct i8042 *controller, uint8_t value);

#endif
