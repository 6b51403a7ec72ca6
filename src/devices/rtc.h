#ifndef KESTREL_DEVICES_RTC_H
#define KESTREL_DEVICES_RTC_H

/*
 * MC146818 RTC/CMOS at ports 0x70 (index) and 0x71 (data). The clock
 * registers are computed from the host's UTC time at every read, in BCD or
 * binary and 12- or 24-hour form as register B asks; the guest cannot move
 * the clock (writes to time registers are kept nowhere). Register A's
 * update-in-progress bit is set only during the last 244 us of each host
 * second, like the real part. Bytes 0x0E-0x7F are plain CMOS RAM except the
 * century byte 0x32.
 *
 * Register C's flags (update-ended, alarm, periodic) follow the host clock
 * whenever they are read. With rtc_start_interrupts() a timer thread also
 * raises IRQ 8 for the sources register B enables; it sleeps while none is.
 * Periodic rates above 1024 Hz are slowed to 1024 Hz to bound host CPU.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bus/io_bus.h"
#include "devices/platform.h"
#include "util/error.h"

enum {
    RTC_CMOS_SIZE = 128,
    RTC_REGISTER_SECONDS = 0x00,
    RTC_REGISTER_SECONDS_ALARM = 0x01,
    RTC_REGISTER_MINUTES = 0x02,
    RTC_REGISTER_MINUTES_ALARM = 0x03,
    RTC_REGISTER_HOURS = 0x04,
    RTC_REGISTER_HOURS_ALARM = 0x05,
    RTC_REGISTER_WEEKDAY = 0x06,
    RTC_REGISTER_DAY = 0x07,
    RTC_REGISTER_MONTH = 0x08,
    RTC_REGISTER_YEAR = 0x09,
    RTC_REGISTER_A = 0x0a,
    RTC_REGISTER_B = 0x0b,
    RTC_REGISTER_C = 0x0c,
    RTC_REGISTER_D = 0x0d,
    RTC_REGISTER_CENTURY = 0x32,

    RTC_A_UPDATE_IN_PROGRESS = 0x80,
    RTC_A_RATE_MASK = 0x0f,
    RTC_B_SET = 0x80,
    RTC_B_PERIODIC_ENABLE = 0x40,
    RTC_B_ALARM_ENABLE = 0x20,
    RTC_B_UPDATE_ENABLE = 0x10,
    RTC_B_BINARY = 0x04,
    RTC_B_24_HOUR = 0x02,
    RTC_C_IRQ = 0x80,
    RTC_C_PERIODIC = 0x40,
    RTC_C_ALARM = 0x20,
    RTC_C_UPDATE = 0x10,
    RTC_D_VALID = 0x80,
};

struct rtc {
    pthread_mutex_t lock;
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE];
    /* Host time source; tests may replace it. Fills UTC seconds and nanoseconds. */
    void (*clock_now)(struct timespec *now);

    uint8_t flags;             /* register C's PF/AF/UF, cleared by reading C */
    time_t last_update;        /* the second whose update has been accounted for */
    struct timespec next_periodic; /* when PF is next due (if a rate is set) */

    /* Interrupt delivery (rtc_start_interrupts). */
    const struct platform *platform;
    unsigned irq;
    bool irq_level;
    int wake_fd;               /* eventfd: register A/B changed, or stop */
    atomic_bool stopping;
    bool thread_started;
    pthread_t thread;
};

int rtc_create(struct rtc *rtc, struct error *error);
void rtc_destroy(struct rtc *rtc);
/* Claims LAYOUT_RTC_PORT and LAYOUT_RTC_PORT + 1. */
int rtc_attach(struct rtc *rtc, struct io_bus *pio, struct error *error);

/* Raises `irq` (LAYOUT_RTC_IRQ) for enabled RTC interrupts from a timer
 * thread. Optional: without it the flags still work for polling guests. */
int rtc_start_interrupts(struct rtc *rtc, const struct platform *platform, unsigned irq, struct error *error);
/* Stops and joins the timer thread; idempotent (rtc_destroy calls it). */
void rtc_stop_interrupts(struct rtc *rtc);

void rtc_write_index(struct rtc *rtc, uint8_t value);
uint8_t rtc_read_data(struct rtc *rtc);
void rtc_write_data(struct rtc *rtc, uint8_t value);

#endif
