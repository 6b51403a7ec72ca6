#include "devices/serial.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
    REG_DATA = 0,          /* RBR read, THR write, DLL with DLAB */
    REG_INTERRUPT_ENABLE = 1, /* IER, DLM with DLAB */
    REG_INTERRUPT_ID = 2,  /* IIR read, FCR write */
    REG_LINE_CONTROL = 3,
    REG_MODEM_CONTROL = 4,
    REG_LINE_STATUS = 5,
    REG_MODEM_STATUS = 6,
    REG_SCRATCH = 7,
};

enum {
    IER_RX_DATA = 0x01,
    IER_THR_EMPTY = 0x02,
    IER_LINE_STATUS = 0x04,
    IER_MODEM_STATUS = 0x08,
    IER_MASK = 0x0f, /* a 16550A has no bits above 3; Linux probes that */

    IIR_NONE = 0x01,
    IIR_MODEM_STATUS = 0x00,
    IIR_THR_EMPTY = 0x02,
    IIR_RX_DATA = 0x04,
    IIR_LINE_STATUS = 0x06,
    IIR_RX_TIMEOUT = 0x0c,
    IIR_FIFO_ENABLED = 0xc0,

    FCR_ENABLE = 0x01,
    FCR_CLEAR_RX = 0x02,
    FCR_CLEAR_TX = 0x04,
    FCR_TRIGGER_SHIFT = 6,
    FCR_KEPT = 0xc1, /* enable and trigger level; the clear bits self-clear */

    LCR_DLAB = 0x80,

    MCR_DTR = 0x01,
    MCR_RTS = 0x02,
    MCR_OUT1 = 0x04,
    MCR_OUT2 = 0x08,
    MCR_LOOP = 0x10,
    MCR_MASK = 0x1f,

    LSR_DATA_READY = 0x01,
    LSR_OVERRUN = 0x02,
    LSR_ERRORS = 0x1e, /* overrun, parity, framing, break */
    LSR_THR_EMPTY = 0x20,
    LSR_TRANSMITTER_EMPTY = 0x40,

    MSR_CTS = 0x10,
    MSR_DSR = 0x20,
    MSR_RI = 0x40,
    MSR_DCD = 0x80,
    MSR_DELTA_CTS = 0x01,
    MSR_DELTA_DSR = 0x02,
    MSR_TRAILING_RI = 0x04,
    MSR_DELTA_DCD = 0x08,
};

/* How long a transmitted byte may wait for a full, non-blocking output fd. */
enum { SERIAL_OUTPUT_WAIT_MS = 1000 };

/* A console cable is always "connected": carrier, data set ready, clear to send. */
static const uint8_t MSR_LINES_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS;

static bool serial_fifo_enabled(const struct serial *serial)
{
    return serial->fifo_control & FCR_ENABLE;
}

/* Without FIFOs the receiver holds one byte, as a 16450 does. */
static unsigned serial_rx_capacity(const struct serial *serial)
{
    return serial_fifo_enabled(serial) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned serial_rx_trigger_level(const struct serial *serial)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    return levels[(serial->fifo_control >> FCR_TRIGGER_SHIFT) & 3];
}

/* The modem input lines, looped back from MCR in loopback mode. */
static uint8_t serial_modem_lines(const struct serial *serial)
{
    uint8_t mcr = serial->modem_control;
    if (!(mcr & MCR_LOOP))
        return MSR_LINES_CONNECTED;
    uint8_t lines = 0;
    if (mcr & MCR_RTS)
        lines |= MSR_CTS;
    if (mcr & MCR_DTR)
        lines |= MSR_DSR;
    if (mcr & MCR_OUT1)
        lines |= MSR_RI;
    if (mcr & MCR_OUT2)
        lines |= MSR_DCD;
    return lines;
}

/* Highest-priority pending interrupt, as IIR bits 0-3. */
static uint8_t serial_pending_interrupt(const struct serial *serial)
{
    uint8_t ier = serial->interrupt_enable;
    if ((ier & IER_LINE_STATUS) && (serial->line_status_errors & LSR_ERRORS))
        return IIR_LINE_STATUS;
    if ((ier & IER_RX_DATA) && serial->rx_count) {
        /* No character timer: data below the trigger level is reported at
         * once as a timeout, which the driver treats the same way. */
        if (serial_fifo_enabled(serial) && serial->rx_count < serial_rx_trigger_level(serial))
            return IIR_RX_TIMEOUT;
        return IIR_RX_DATA;
    }
    if ((ier & IER_THR_EMPTY) && serial->thr_empty_interrupt)
        return IIR_THR_EMPTY;
    if ((ier & IER_MODEM_STATUS) && (serial->modem_status_deltas & 0x0f))
        return IIR_MODEM_STATUS;
    return IIR_NONE;
}

/* ISA lines are edge-triggered: high while any enabled interrupt is pending. */
static void serial_update_irq_locked(struct serial *serial)
{
    bool level = serial_pending_interrupt(serial) != IIR_NONE;
    if (level == serial->irq_level)
        return;
    serial->irq_level = level;
    if (serial->platform && serial->platform->set_irq_level)
        serial->platform->set_irq_level(serial->platform->opaque, serial->irq, level);
}

static void serial_notify_rx_space_locked(struct serial *serial)
{
    if (!serial->rx_space_wanted || serial->rx_count >= serial_rx_capacity(serial))
        return;
    serial->rx_space_wanted = false;
    if (serial->rx_space_callback)
        serial->rx_space_callback(serial->rx_space_opaque);
}

static void serial_clear_rx_locked(struct serial *serial)
{
    serial->rx_head = 0;
    serial->rx_count = 0;
    serial_notify_rx_space_locked(serial);
}

/* Returns false (and counts an overrun) when the receiver is full. */
static bool serial_push_rx_locked(struct serial *serial, uint8_t byte)
{
    if (serial->rx_count >= serial_rx_capacity(serial))
        return false;
    serial->rx_fifo[(serial->rx_head + serial->rx_count) % SERIAL_FIFO_SIZE] = byte;
    serial->rx_count++;
    return true;
}

static void serial_set_modem_status_deltas(struct serial *serial, uint8_t old_lines, uint8_t new_lines)
{
    uint8_t changed = old_lines ^ new_lines;
    if (changed & MSR_CTS)
        serial->modem_status_deltas |= MSR_DELTA_CTS;
    if (changed & MSR_DSR)
        serial->modem_status_deltas |= MSR_DELTA_DSR;
    if (changed & MSR_DCD)
        serial->modem_status_deltas |= MSR_DELTA_DCD;
    if ((old_lines & MSR_RI) && !(new_lines & MSR_RI))
        serial->modem_status_deltas |= MSR_TRAILING_RI;
}

static void serial_output_byte_locked(struct serial *serial, uint8_t byte)
{
    if (serial->output_fd < 0)
        return;
    /* Bounded: a host fd that keeps failing loses the byte, not the vCPU. */
    for (int attempt = 0; attempt < 8; attempt++) {
        ssize_t written = write(serial->output_fd, &byte, 1);
        if (written == 1)
            return;
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A non-blocking stdout: wait a little for the reader, as a
             * blocking one would, but never forever. */
            struct pollfd writable = {.fd = serial->output_fd, .events = POLLOUT};
            if (poll(&writable, 1, SERIAL_OUTPUT_WAIT_MS) > 0)
                continue;
        }
        if (written < 0 && errno == EPIPE) {
            /* The reader is gone for good: say so once, then stop paying a syscall per byte. */
            log_warn("serial: console output closed (%s); further guest output is discarded", strerror(errno));
            serial->output_fd = -1;
            return;
        }
        if (written < 0)
            log_ratelimited(&serial->output_error_limit, "serial: console output failed: %s", strerror(errno));
        return;
    }
}

static void serial_transmit_locked(struct serial *serial, uint8_t byte)
{
    if (serial->modem_control & MCR_LOOP) {
        if (!serial_push_rx_locked(serial, byte)) {
            serial->line_status_errors |= LSR_OVERRUN;
            serial->rx_overruns++;
        }
    } else {
        serial_output_byte_locked(serial, byte);
        serial->bytes_transmitted++;
    }
    /* Transmission is instantaneous: the holding register is empty again. */
    serial->thr_empty_interrupt = true;
}

static uint8_t serial_read_locked(struct serial *serial, unsigned offset)
{
    bool dlab = serial->line_control & LCR_DLAB;
    switch (offset) {
    case REG_DATA: {
        if (dlab)
            return serial->divisor_low;
        if (serial->rx_count) {
            serial->last_rx = serial->rx_fifo[serial->rx_head];
            serial->rx_head = (serial->rx_head + 1) % SERIAL_FIFO_SIZE;
            serial->rx_count--;
            serial_notify_rx_space_locked(serial);
        }
        return serial->last_rx;
    }
    case REG_INTERRUPT_ENABLE:
        return dlab ? serial->divisor_high : serial->interrupt_enable;
    case REG_INTERRUPT_ID: {
        uint8_t id = serial_pending_interrupt(serial);
        /* Reading IIR acknowledges a THR-empty interrupt. */
        if (id == IIR_THR_EMPTY)
            serial->thr_empty_interrupt = false;
        return id | (serial_fifo_enabled(serial) ? IIR_FIFO_ENABLED : 0);
    }
    case REG_LINE_CONTROL:
        return serial->line_control;
    case REG_MODEM_CONTROL:
        return serial->modem_control;
    case REG_LINE_STATUS: {
        uint8_t lsr = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | serial->line_status_errors;
        if (serial->rx_count)
            lsr |= LSR_DATA_READY;
        serial->line_status_errors = 0;
        return lsr;
    }
    case REG_MODEM_STATUS: {
        uint8_t msr = serial_modem_lines(serial) | serial->modem_status_deltas;
        serial->modem_status_deltas = 0;
        return msr;
    }
    case REG_SCRATCH:
        return serial->scratch;
    default:
        return 0xff;
    }
}

static void serial_write_locked(struct serial *serial, unsigned offset, uint8_t value)
{
    bool dlab = serial->line_control & LCR_DLAB;
    switch (offset) {
    case REG_DATA:
        if (dlab)
            serial->divisor_low = value;
        else
            serial_transmit_locked(serial, value);
        break;
    case REG_INTERRUPT_ENABLE: {
        if (dlab) {
            serial->divisor_high = value;
            break;
        }
        uint8_t old = serial->interrupt_enable;
        serial->interrupt_enable = value & IER_MASK;
        /* A 16550 raises THR-empty again whenever the enable bit goes on
         * while the holding register is empty (always, here); Linux's
         * start_tx and its THRE test depend on that. */
        if ((serial->interrupt_enable & IER_THR_EMPTY) && !(old & IER_THR_EMPTY))
            serial->thr_empty_interrupt = true;
        break;
    }
    case REG_INTERRUPT_ID: {
        bool was_enabled = serial_fifo_enabled(serial);
        /* The other FCR bits only take effect together with the enable bit. */
        serial->fifo_control = (value & FCR_ENABLE) ? value & FCR_KEPT : 0;
        /* Switching FIFO mode on or off empties the FIFOs. */
        if (((value & FCR_ENABLE) && (value & FCR_CLEAR_RX)) || was_enabled != serial_fifo_enabled(serial))
            serial_clear_rx_locked(serial);
        /* FCR_CLEAR_TX: nothing is ever waiting to be sent. */
        break;
    }
    case REG_LINE_CONTROL:
        serial->line_control = value;
        break;
    case REG_MODEM_CONTROL: {
        uint8_t old_lines = serial_modem_lines(serial);
        serial->modem_control = value & MCR_MASK;
        serial_set_modem_status_deltas(serial, old_lines, serial_modem_lines(serial));
        break;
    }
    case REG_LINE_STATUS:
    case REG_MODEM_STATUS:
        /* Read-only on a 16550A (factory test mode is not modelled). */
        break;
    case REG_SCRATCH:
        serial->scratch = value;
        break;
    default:
        break;
    }
}

uint8_t serial_read_register(struct serial *serial, unsigned offset)
{
    pthread_mutex_lock(&serial->lock);
    uint8_t value = serial_read_locked(serial, offset);
    serial_update_irq_locked(serial);
    pthread_mutex_unlock(&serial->lock);
    return value;
}

void serial_write_register(struct serial *serial, unsigned offset, uint8_t value)
{
    pthread_mutex_lock(&serial->lock);
    serial_write_locked(serial, offset, value);
    serial_update_irq_locked(serial);
    pthread_mutex_unlock(&serial->lock);
}

/* Wider accesses act like the ISA bus splitting them into byte cycles. */
static void serial_bus_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    struct serial *serial = device;
    uint8_t *bytes = data;
    pthread_mutex_lock(&serial->lock);
    for (uint32_t i = 0; i < size; i++)
        bytes[i] = offset + i < SERIAL_PORT_COUNT ? serial_read_locked(serial, (unsigned)(offset + i)) : 0xff;
    serial_update_irq_locked(serial);
    pthread_mutex_unlock(&serial->lock);
}

static void serial_bus_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct serial *serial = device;
    const uint8_t *bytes = data;
    pthread_mutex_lock(&serial->lock);
    for (uint32_t i = 0; i < size; i++)
        if (offset + i < SERIAL_PORT_COUNT)
            serial_write_locked(serial, (unsigned)(offset + i), bytes[i]);
    serial_update_irq_locked(serial);
    pthread_mutex_unlock(&serial->lock);
}

static const struct io_device_ops serial_ops = {
    .read = serial_bus_read,
    .write = serial_bus_write,
};

int serial_create(struct serial *serial, const struct platform *platform, unsigned irq, int output_fd,
                  struct error *error)
{
    memset(serial, 0, sizeof(*serial));
    int result = pthread_mutex_init(&serial->lock, NULL);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "serial: mutex: %s", strerror(result));
    serial->platform = platform;
    serial->irq = irq;
    serial->output_fd = output_fd;
    /* Power-on state: 8N1 at 115200 baud with DLAB clear, as firmware leaves it. */
    serial->line_control = 0x03;
    serial->divisor_low = 1;
    serial->modem_control = MCR_OUT2;
    return 0;
}

void serial_destroy(struct serial *serial)
{
    pthread_mutex_destroy(&serial->lock);
}

int serial_attach(struct serial *serial, struct io_bus *pio, uint64_t base, struct error *error)
{
    return io_bus_register(pio, base, SERIAL_PORT_COUNT, "serial", &serial_ops, serial, error);
}

size_t serial_receive(struct serial *serial, const uint8_t *data, size_t length)
{
    pthread_mutex_lock(&serial->lock);
    size_t accepted = 0;
    while (accepted < length && serial_push_rx_locked(serial, data[accepted]))
        accepted++;
    if (accepted < length)
        serial->rx_space_wanted = true;
    serial_update_irq_locked(serial);
    pthread_mutex_unlock(&serial->lock);
    return accepted;
}

size_t serial_rx_space(struct serial *serial)
{
    pthread_mutex_lock(&serial->lock);
    unsigned capacity = serial_rx_capacity(serial);
    size_t space = serial->rx_count < capacity ? capacity - serial->rx_count : 0;
    if (space == 0)
        serial->rx_space_wanted = true;
    pthread_mutex_unlock(&serial->lock);
    return space;
}

void serial_set_rx_space_callback(struct serial *serial, void (*callback)(void *opaque), void *opaque)
{
    pthread_mutex_lock(&serial->lock);
    serial->rx_space_callback = callback;
    serial->rx_space_opaque = opaque;
    pthread_mutex_unlock(&serial->lock);
}
