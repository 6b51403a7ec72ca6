/* KESTREL_TSAN_TEST: the concurrency test runs under ThreadSanitizer too. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/layout.h"
#include "bus/io_bus.h"
#include "devices/serial.h"
#include "util/log.h"
#include "unit/recording_platform.h"
#include "unit/port_io.h"

enum {
    COM1 = LAYOUT_COM1_PORT,
    RBR = COM1 + 0,
    THR = COM1 + 0,
    DLL = COM1 + 0,
    IER = COM1 + 1,
    DLM = COM1 + 1,
    IIR = COM1 + 2,
    FCR = COM1 + 2,
    LCR = COM1 + 3,
    MCR = COM1 + 4,
    LSR = COM1 + 5,
    MSR = COM1 + 6,
    SCR = COM1 + 7,
    IRQ = LAYOUT_COM1_IRQ,
};

struct fixture {
    struct recording_platform recorder;
    struct io_bus pio;
    struct serial serial;
    int output[2]; /* pipe: [0] is where the test reads what the guest sent */
    unsigned space_callbacks;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    recording_platform_init(&f->recorder);
    io_bus_init(&f->pio, "pio");
    assert_int_equal(pipe2(f->output, O_NONBLOCK | O_CLOEXEC), 0);
    struct error error = {0};
    assert_int_equal(serial_create(&f->serial, &f->recorder.platform, IRQ, f->output[1], &error), 0);
    assert_int_equal(serial_attach(&f->serial, &f->pio, COM1, &error), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    serial_destroy(&f->serial);
    close(f->output[0]);
    close(f->output[1]);
    recording_platform_destroy(&f->recorder);
    free(f);
    return 0;
}

static size_t drain_output(struct fixture *f, char *buffer, size_t size)
{
    ssize_t count = read(f->output[0], buffer, size);
    return count < 0 ? 0 : (size_t)count;
}

static void count_space_callback(void *opaque)
{
    struct fixture *f = opaque;
    f->space_callbacks++;
}

/* The checks Linux's 8250 autoconfig makes, in its order. */
static void test_linux_probe_sequence(void **state)
{
    struct fixture *f = *state;
    /* IER: bits 0-3 exist, nothing above. */
    port_out8(&f->pio, IER, 0);
    assert_int_equal(port_in8(&f->pio, IER) & 0x0f, 0);
    port_out8(&f->pio, IER, 0x0f);
    assert_int_equal(port_in8(&f->pio, IER), 0x0f);
    port_out8(&f->pio, IER, 0xff);
    assert_int_equal(port_in8(&f->pio, IER), 0x0f);
    port_out8(&f->pio, IER, 0);

    /* Loopback: RTS->CTS, OUT2->DCD, DTR->DSR, OUT1->RI. */
    uint8_t saved_mcr = port_in8(&f->pio, MCR);
    port_out8(&f->pio, MCR, 0x10 | 0x0a);
    assert_int_equal(port_in8(&f->pio, MSR) & 0xf0, 0x90);
    port_out8(&f->pio, MCR, 0x1f);
    assert_int_equal(port_in8(&f->pio, MSR) & 0xf0, 0xf0);
    port_out8(&f->pio, MCR, 0x10);
    assert_int_equal(port_in8(&f->pio, MSR) & 0xf0, 0x00);
    port_out8(&f->pio, MCR, saved_mcr);
    assert_int_equal(port_in8(&f->pio, MSR) & 0xf0, 0xb0); /* the console is "connected" */

    /* FIFO detection: 16550A reports both FIFO bits, and no 64-byte FIFO (bit 5). */
    port_out8(&f->pio, LCR, 0xbf);
    port_out8(&f->pio, FCR, 0);
    port_out8(&f->pio, LCR, 0);
    port_out8(&f->pio, FCR, 0x01);
    assert_int_equal(port_in8(&f->pio, IIR) >> 6, 3);
    port_out8(&f->pio, FCR, 0x01 | 0x20);
    assert_int_equal(port_in8(&f->pio, IIR) & 0x20, 0);
    /* With LCR 0xbf there is no EFR: offset 2 still reads IIR, never 0. */
    port_out8(&f->pio, LCR, 0xbf);
    assert_int_not_equal(port_in8(&f->pio, IIR), 0);
    port_out8(&f->pio, LCR, 0x03);

    /* The startup sanity check: LSR is never 0xff; transmitter empty. */
    uint8_t lsr = port_in8(&f->pio, LSR);
    assert_int_not_equal(lsr, 0xff);
    assert_int_equal(lsr & 0x60, 0x60);

    /* Loopback data goes to the receiver, not to the host. */
    port_out8(&f->pio, MCR, 0x10);
    port_out8(&f->pio, THR, 'Q');
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0x01);
    assert_int_equal(port_in8(&f->pio, RBR), 'Q');
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0);
    port_out8(&f->pio, MCR, 0x0b);
    char buffer[8];
    assert_int_equal(drain_output(f, buffer, sizeof(buffer)), 0);
}

static void test_transmit_goes_to_output(void **state)
{
    struct fixture *f = *state;
    const char *text = "hello\r\n";
    for (const char *p = text; *p; p++)
        port_out8(&f->pio, THR, (uint8_t)*p);
    char buffer[32] = {0};
    assert_int_equal(drain_output(f, buffer, sizeof(buffer)), strlen(text));
    assert_string_equal(buffer, text);
    assert_int_equal(f->serial.bytes_transmitted, strlen(text));
    /* No interrupt was enabled, so the line never rose. */
    assert_int_equal(f->recorder.rising_edges[IRQ], 0);
}

static void test_receive_raises_interrupt(void **state)
{
    struct fixture *f = *state;
    port_out8(&f->pio, FCR, 0x01 | 0x06); /* FIFO on, trigger level 1, clear both */
    port_out8(&f->pio, IER, 0x01);
    assert_false(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR), 0xc1);

    assert_int_equal(serial_receive(&f->serial, (const uint8_t *)"ab", 2), 2);
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR), 0xc4);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0x01);
    assert_int_equal(port_in8(&f->pio, RBR), 'a');
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, RBR), 'b');
    assert_false(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR), 0xc1);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0);
    assert_int_equal(f->recorder.rising_edges[IRQ], 1);

    /* Below a higher trigger level the data is reported as a character timeout. */
    port_out8(&f->pio, FCR, 0x81);
    assert_int_equal(serial_receive(&f->serial, (const uint8_t *)"c", 1), 1);
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR), 0xcc);
    assert_int_equal(serial_receive(&f->serial, (const uint8_t *)"1234567", 7), 7);
    assert_int_equal(port_in8(&f->pio, IIR), 0xc4);
    /* Masking the interrupt lowers the line but keeps the data. */
    port_out8(&f->pio, IER, 0);
    assert_false(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, RBR), 'c');
}

static void test_interrupt_priority(void **state)
{
    struct fixture *f = *state;
    port_out8(&f->pio, FCR, 0); /* 16450 mode: a one-byte receiver, easy to overrun */
    port_out8(&f->pio, MCR, 0x10); /* loopback: modem lines drop, setting delta bits */
    port_out8(&f->pio, THR, 'x');
    port_out8(&f->pio, THR, 'y'); /* overrun: 'y' is lost */
    port_out8(&f->pio, IER, 0x0f);
    assert_true(recording_irq(&f->recorder, IRQ));

    assert_int_equal(port_in8(&f->pio, IIR), 0x06); /* line status first */
    uint8_t lsr = port_in8(&f->pio, LSR);
    assert_int_equal(lsr & 0x03, 0x03); /* overrun + data ready */
    assert_int_equal(port_in8(&f->pio, LSR) & 0x02, 0); /* overrun clears on read */
    assert_int_equal(port_in8(&f->pio, IIR), 0x04); /* then received data */
    assert_int_equal(port_in8(&f->pio, RBR), 'x');
    assert_int_equal(port_in8(&f->pio, IIR), 0x02); /* then THR empty, acknowledged by this read */
    assert_int_equal(port_in8(&f->pio, IIR), 0x00); /* then modem status */
    assert_true(recording_irq(&f->recorder, IRQ));
    uint8_t msr = port_in8(&f->pio, MSR);
    assert_int_equal(msr & 0x0f, 0x0b); /* delta CTS, DSR, DCD */
    assert_int_equal(port_in8(&f->pio, IIR), 0x01);
    assert_false(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, MSR) & 0x0f, 0);
}

static void test_thre_interrupt_reraised_on_enable(void **state)
{
    struct fixture *f = *state;
    port_out8(&f->pio, IER, 0x02);
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x02);
    assert_false(recording_irq(&f->recorder, IRQ)); /* the IIR read acknowledged it */
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x01);

    /* Linux's THRE test: disabling and re-enabling raises it again. */
    port_out8(&f->pio, IER, 0);
    port_out8(&f->pio, IER, 0x02);
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x02);
    assert_int_equal(f->recorder.rising_edges[IRQ], 2);

    /* Each transmitted byte empties the holding register again. */
    port_out8(&f->pio, THR, 'z');
    assert_true(recording_irq(&f->recorder, IRQ));
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x02);
    /* Re-writing IER with the bit already set does not re-raise. */
    port_out8(&f->pio, IER, 0x02);
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x01);
    assert_false(recording_irq(&f->recorder, IRQ));
    char buffer[4];
    assert_int_equal(drain_output(f, buffer, sizeof(buffer)), 1);
}

static void test_divisor_latch(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(serial_receive(&f->serial, (const uint8_t *)"r", 1), 1);
    port_out8(&f->pio, LCR, 0x83);
    port_out8(&f->pio, DLL, 0x0c);
    port_out8(&f->pio, DLM, 0x01);
    assert_int_equal(port_in8(&f->pio, DLL), 0x0c);
    assert_int_equal(port_in8(&f->pio, DLM), 0x01);
    assert_int_equal(port_in8(&f->pio, LCR), 0x83);
    /* With DLAB set, offset 0 does not consume received data. */
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0x01);
    port_out8(&f->pio, LCR, 0x03);
    assert_int_equal(port_in8(&f->pio, IER), 0); /* the divisor write did not reach IER */
    assert_int_equal(port_in8(&f->pio, RBR), 'r');
    port_out8(&f->pio, THR, 'o');
    char buffer[4];
    assert_int_equal(drain_output(f, buffer, sizeof(buffer)), 1);
    assert_int_equal(buffer[0], 'o');
    port_out8(&f->pio, LCR, 0x80);
    assert_int_equal(port_in8(&f->pio, DLL), 0x0c); /* the THR write did not reach DLL */
    /* A 16-bit access covers both latch bytes. */
    uint16_t divisor = 0x0203;
    io_bus_write(&f->pio, DLL, &divisor, 2);
    divisor = 0;
    io_bus_read(&f->pio, DLL, &divisor, 2);
    assert_int_equal(divisor, 0x0203);
    port_out8(&f->pio, LCR, 0x03);
}

static void test_fifo_overflow_and_flow_control(void **state)
{
    struct fixture *f = *state;
    serial_set_rx_space_callback(&f->serial, count_space_callback, f);
    port_out8(&f->pio, FCR, 0x07);
    uint8_t data[20];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)('A' + i);
    /* The host side never overruns: it is told how much fits. */
    assert_int_equal(serial_receive(&f->serial, data, sizeof(data)), SERIAL_FIFO_SIZE);
    assert_int_equal(serial_rx_space(&f->serial), 0);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x03, 0x01);
    assert_int_equal(f->space_callbacks, 0);
    assert_int_equal(port_in8(&f->pio, RBR), 'A');
    assert_int_equal(f->space_callbacks, 1);
    assert_int_equal(port_in8(&f->pio, RBR), 'B');
    assert_int_equal(f->space_callbacks, 1); /* once per "full" episode */
    assert_int_equal(serial_receive(&f->serial, data + 16, 4), 2);
    for (unsigned i = 2; i < 18; i++)
        assert_int_equal(port_in8(&f->pio, RBR), 'A' + i);
    assert_int_equal(f->space_callbacks, 2);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0);

    /* The guest's own loopback can overrun: the 17th byte is lost and flagged. */
    port_out8(&f->pio, MCR, 0x10);
    for (unsigned i = 0; i < 17; i++)
        port_out8(&f->pio, THR, (uint8_t)('a' + i));
    assert_int_equal(port_in8(&f->pio, LSR) & 0x03, 0x03);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x02, 0);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(port_in8(&f->pio, RBR), 'a' + i);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0);
    assert_int_equal(f->serial.rx_overruns, 1);

    /* Without FIFOs the receiver holds one byte. */
    port_out8(&f->pio, MCR, 0x0b);
    port_out8(&f->pio, FCR, 0);
    assert_int_equal(serial_rx_space(&f->serial), 1);
    assert_int_equal(serial_receive(&f->serial, data, 3), 1);
    /* Clearing the FIFO (re-enabling it) discards data and makes room. */
    port_out8(&f->pio, FCR, 0x03);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x01, 0);
    assert_int_equal(serial_rx_space(&f->serial), SERIAL_FIFO_SIZE);
    serial_set_rx_space_callback(&f->serial, NULL, NULL);
}

static void test_scratch_and_readonly_registers(void **state)
{
    struct fixture *f = *state;
    port_out8(&f->pio, SCR, 0xa5);
    assert_int_equal(port_in8(&f->pio, SCR), 0xa5);
    port_out8(&f->pio, LSR, 0xff); /* read-only */
    assert_int_equal(port_in8(&f->pio, LSR) & 0x9f, 0);
    port_out8(&f->pio, MSR, 0x0f);
    assert_int_equal(port_in8(&f->pio, MSR) & 0x0f, 0);
    port_out8(&f->pio, MCR, 0xff);
    assert_int_equal(port_in8(&f->pio, MCR), 0x1f);
}

/* Every offset, value and width: the model stays within its registers. */
static void test_hostile_register_writes(void **state)
{
    struct fixture *f = *state;
    for (unsigned width = 1; width <= 4; width *= 2) {
        for (unsigned offset = 0; offset < 8; offset++) {
            for (unsigned value = 0; value < 256; value++) {
                uint32_t wide = value * 0x01010101u;
                io_bus_write(&f->pio, COM1 + offset, &wide, width);
                io_bus_read(&f->pio, COM1 + offset, &wide, width);
            }
        }
    }
    port_out8(&f->pio, LCR, 0x03);
    assert_true(port_in8(&f->pio, IER) <= 0x0f);
    assert_true(f->serial.rx_count <= SERIAL_FIFO_SIZE);
    assert_int_equal(f->recorder.bad_irq_calls, 0);
    char buffer[4096];
    while (drain_output(f, buffer, sizeof(buffer)) > 0)
        ;
}

/* The console thread feeds while a vCPU drains and transmits: nothing lost or reordered. */
struct stress {
    struct fixture *fixture;
    unsigned total;
};

static void *stress_producer(void *opaque)
{
    struct stress *stress = opaque;
    unsigned sent = 0;
    while (sent < stress->total) {
        uint8_t chunk[8];
        unsigned length = 0;
        while (length < sizeof(chunk) && sent + length < stress->total) {
            chunk[length] = (uint8_t)(sent + length);
            length++;
        }
        size_t accepted = serial_receive(&stress->fixture->serial, chunk, length);
        sent += (unsigned)accepted;
        if (accepted < length)
            sched_yield();
    }
    return NULL;
}

static void test_concurrent_receive_and_drain(void **state)
{
    struct fixture *f = *state;
    const char *scale = getenv("KESTREL_STRESS_SCALE");
    struct stress stress = {.fixture = f, .total = scale && strcmp(scale, "tsan") == 0 ? 20000 : 200000};
    port_out8(&f->pio, FCR, 0x87);
    port_out8(&f->pio, IER, 0x01);
    pthread_t producer;
    assert_int_equal(pthread_create(&producer, NULL, stress_producer, &stress), 0);
    unsigned received = 0;
    unsigned long spins = 0;
    char sink[256];
    while (received < stress.total && spins < 2000000000ul) {
        spins++;
        if (!(port_in8(&f->pio, LSR) & 0x01)) {
            sched_yield();
            continue;
        }
        assert_int_equal(port_in8(&f->pio, RBR), (uint8_t)received);
        received++;
        if ((received & 0xff) == 0) {
            port_out8(&f->pio, THR, '.'); /* transmit in between, as a guest echoing would */
            while (drain_output(f, sink, sizeof(sink)) > 0)
                ;
        }
    }
    pthread_join(producer, NULL);
    assert_int_equal(received, stress.total);
    assert_int_equal(f->serial.rx_overruns, 0);
    assert_int_equal(port_in8(&f->pio, LSR) & 0x03, 0);
    assert_false(recording_irq(&f->recorder, IRQ));
}

static void *drain_later(void *opaque)
{
    struct fixture *f = opaque;
    usleep(50000);
    char buffer[4096];
    ssize_t ignored = read(f->output[0], buffer, sizeof(buffer));
    (void)ignored;
    return NULL;
}

/* A full non-blocking output waits for room instead of losing the byte;
 * a vanished reader is an error the UART survives. */
static void test_output_backpressure_and_broken_pipe(void **state)
{
    struct fixture *f = *state;
    char filler[4096];
    memset(filler, 'f', sizeof(filler));
    while (write(f->output[1], filler, sizeof(filler)) > 0)
        ;
    while (write(f->output[1], filler, 1) > 0)
        ;
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, drain_later, f), 0);
    port_out8(&f->pio, THR, 'Z');
    pthread_join(reader, NULL);
    char buffer[4096];
    char last = 0;
    ssize_t count;
    while ((count = read(f->output[0], buffer, sizeof(buffer))) > 0)
        last = buffer[count - 1];
    assert_int_equal(last, 'Z');

    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigaction(SIGPIPE, &ignore, &previous);
    close(f->output[0]);
    f->output[0] = open("/dev/null", O_RDONLY | O_NONBLOCK); /* for teardown */
    uint64_t lines_before = log_lines_written();
    port_out8(&f->pio, THR, 'x');
    /* One line for the closed reader, then silence: output is discarded, not retried per byte. */
    assert_int_equal(log_lines_written() - lines_before, 1);
    for (int i = 0; i < 100; i++)
        port_out8(&f->pio, THR, 'y');
    assert_int_equal(log_lines_written() - lines_before, 1);
    port_out8(&f->pio, IER, 0x02);
    assert_int_equal(port_in8(&f->pio, IIR) & 0x0f, 0x02); /* the UART carries on */
    sigaction(SIGPIPE, &previous, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linux_probe_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transmit_goes_to_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_raises_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thre_interrupt_reraised_on_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_overflow_and_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_and_readonly_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_register_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_receive_and_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_backpressure_and_broken_pipe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
