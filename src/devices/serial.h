#ifndef KESTREL_DEVICES_SERIAL_H
#define KESTREL_DEVICES_SERIAL_H

/*
 * A 16550A UART (COM1 on a PC) as Linux's 8250 driver drives it: interrupt
 * driven transmit and receive, 16-byte receive FIFO, divisor latch, loopback.
 * Transmitted bytes go straight to an output fd (or nowhere); received bytes
 * come from the console's input thread through serial_receive().
 *
 * Thread safety: every entry point takes the UART's mutex, so vCPU threads
 * and the console input thread may call them concurrently.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/io_bus.h"
#include "devices/platform.h"
#include "util/error.h"
#include "util/log.h"

enum {
    SERIAL_PORT_COUNT = 8, /* I/O ports the UART decodes */
    SERIAL_FIFO_SIZE = 16,
};

struct serial {
    pthread_mutex_t lock;
    const struct platform *platform;
    unsigned irq;
    int output_fd; /* -1: transmitted bytes are discarded */

    uint8_t rx_fifo[SERIAL_FIFO_SIZE];
    unsigned rx_head;  /* index of the oldest byte */
    unsigned rx_count; /* bytes queued */
    uint8_t last_rx;   /* what RBR reads when the FIFO is empty */

    uint8_t interrupt_enable; /* IER */
    uint8_t fifo_control;     /* FCR as last written (FIFO enable, trigger level) */
    uint8_t line_control;     /* LCR */
    uint8_t modem_control;    /* MCR */
    uint8_t line_status_errors; /* sticky LSR error bits (overrun), cleared by reading LSR */
    uint8_t modem_status_deltas; /* MSR bits 0-3, cleared by reading MSR */
    uint8_t scratch;          /* SCR */
    uint8_t divisor_low;      /* DLL */
    uint8_t divisor_high;     /* DLM */
    bool thr_empty_interrupt; /* THRE interrupt pending (cleared by IIR read or THR write) */
    bool irq_level;           /* what we last drove the IRQ line to */

    /* Called (under the lock) when the receive FIFO gains room after a
     * serial_receive() or serial_rx_space() found it full; the console uses
     * it to resume reading its input. Must not call back into the UART. */
    void (*rx_space_callback)(void *opaque);
    void *rx_space_opaque;
    bool rx_space_wanted;

    uint64_t bytes_transmitted;
    uint64_t rx_overruns;
    struct log_ratelimit output_error_limit;
};

/* Creates the UART; `output_fd` stays owned by the caller and must outlive it. */
int serial_create(struct serial *serial, const struct platform *platform, unsigned irq, int output_fd,
                  struct error *error);
void serial_destroy(struct serial *serial);

/* Claims the 8 ports at `base` (LAYOUT_COM1_PORT for COM1) on the PIO bus. */
int serial_attach(struct serial *serial, struct io_bus *pio, uint64_t base, struct error *error);

/* Register access at offset 0-7 (the io_bus ops call these; tests may too). */
uint8_t serial_read_register(struct serial *serial, unsigned offset);
void serial_write_register(struct serial *serial, unsigned offset, uint8_t value);

/* Host side of the line. serial_receive queues as many of `length` bytes as
 * the receive FIFO has room for and returns that count (never overruns);
 * when it cannot take them all, the rx_space_callback fires once room appears. */
size_t serial_receive(struct serial *serial, const uint8_t *data, size_t length);
/* Free room in the receive FIFO; 0 arms the rx_space_callback. */
size_t serial_rx_space(struct serial *serial);
void serial_set_rx_space_callback(struct serial *serial, void (*callback)(void *opaque), void *opaque);

#endif
