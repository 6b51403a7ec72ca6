#include "devices/rtc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "util/log.h"
#include "sandbox/sandbox.h"

enum {
    RTC_INDEX_MASK = 0x7f, /* bit 7 of the index write is the NMI mask, not address */
    RTC_A_WRITABLE = 0x7f, /* UIP is read-only */
    RTC_HOUR_PM = 0x80,
    /* The real part raises UIP 244 us before each update, and keeps it up for the update itself. */
    RTC_UPDATE_WINDOW_NS = 244000,
    RTC_ALARM_DONT_CARE = 0xc0,
    /* The fastest periodic interrupt we deliver (1024 Hz); a guest asking
     * for 8192 Hz gets this, so it cannot make the timer thread spin. */
    RTC_MIN_PERIOD_NS = 976562,
    /* After a late wake-up, alarms are still checked for this many past seconds. */
    RTC_ALARM_CATCH_UP_SECONDS = 4,
};

static const long NANOSECONDS_PER_SECOND = 1000000000L;

static void rtc_host_clock(struct timespec *now)
{
    clock_gettime(CLOCK_REALTIME, now);
}

static uint8_t rtc_to_bcd(unsigned value)
{
    return (uint8_t)(((value / 10) % 10) << 4 | (value % 10));
}

static uint8_t rtc_encode(const struct rtc *rtc, unsigned value)
{
    return (rtc->cmos[RTC_REGISTER_B] & RTC_B_BINARY) ? (uint8_t)value : rtc_to_bcd(value);
}

static uint8_t rtc_encode_hour(const struct rtc *rtc, unsigned hour)
{
    if (rtc->cmos[RTC_REGISTER_B] & RTC_B_24_HOUR)
        return rtc_encode(rtc, hour);
    unsigned twelve = hour % 12 ? hour % 12 : 12;
    return rtc_encode(rtc, twelve) | (hour >= 12 ? RTC_HOUR_PM : 0);
}

static bool rtc_is_clock_register(uint8_t index)
{
    return index == RTC_REGISTER_SECONDS || index == RTC_REGISTER_MINUTES || index == RTC_REGISTER_HOURS ||
           (index >= RTC_REGISTER_WEEKDAY && index <= RTC_REGISTER_YEAR) || index == RTC_REGISTER_CENTURY;
}

static uint8_t rtc_read_clock(const struct rtc *rtc, uint8_t index, const struct tm *time)
{
    unsigned year = (unsigned)time->tm_year + 1900;
    switch (index) {
    case RTC_REGISTER_SECONDS:
        /* A leap second (60) would confuse guests; hold at 59. */
        return rtc_encode(rtc, time->tm_sec > 59 ? 59 : (unsigned)time->tm_sec);
    case RTC_REGISTER_MINUTES:
        return rtc_encode(rtc, (unsigned)time->tm_min);
    case RTC_REGISTER_HOURS:
        return rtc_encode_hour(rtc, (unsigned)time->tm_hour);
    case RTC_REGISTER_WEEKDAY:
        return rtc_encode(rtc, (unsigned)time->tm_wday + 1); /* 1 = Sunday */
    case RTC_REGISTER_DAY:
        return rtc_encode(rtc, (unsigned)time->tm_mday);
    case RTC_REGISTER_MONTH:
        return rtc_encode(rtc, (unsigned)time->tm_mon + 1);
    case RTC_REGISTER_YEAR:
        return rtc_encode(rtc, year % 100);
    case RTC_REGISTER_CENTURY:
        return rtc_encode(rtc, (year / 100) % 100);
    default:
        return 0;
    }
}

/* Period of the periodic interrupt selected by register A's rate bits, 0 for none. */
static long rtc_periodic_ns(const struct rtc *rtc)
{
    unsigned rate = rtc->cmos[RTC_REGISTER_A] & RTC_A_RATE_MASK;
    if (rate == 0)
        return 0;
    if (rate <= 2)
        rate += 7; /* rates 1 and 2 repeat 256 Hz and 128 Hz (rates 8 and 9) */
    long period = (long)((1000000000ull << (rate - 1)) / 32768);
    return period < RTC_MIN_PERIOD_NS ? RTC_MIN_PERIOD_NS : period;
}

/* `time` + `ns` (ns < 1 s), saturating instead of overflowing time_t. */
static struct timespec timespec_add_ns(struct timespec time, long ns)
{
    time.tv_nsec += ns;
    if (time.tv_nsec >= NANOSECONDS_PER_SECOND) {
        time.tv_nsec -= NANOSECONDS_PER_SECOND;
        if (__builtin_add_overflow(time.tv_sec, 1, &time.tv_sec))
            time.tv_nsec = NANOSECONDS_PER_SECOND - 1;
    }
    return time;
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static bool rtc_alarm_field_matches(uint8_t alarm, uint8_t current)
{
    return (alarm & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE || alarm == current;
}

static bool rtc_alarm_matches(const struct rtc *rtc, time_t seconds)
{
    struct tm time;
    if (!gmtime_r(&seconds, &time))
        return false;
    return rtc_alarm_field_matches(rtc->cmos[RTC_REGISTER_SECONDS_ALARM],
                                   rtc_read_clock(rtc, RTC_REGISTER_SECONDS, &time)) &&
           rtc_alarm_field_matches(rtc->cmos[RTC_REGISTER_MINUTES_ALARM],
                                   rtc_read_clock(rtc, RTC_REGISTER_MINUTES, &time)) &&
           rtc_alarm_field_matches(rtc->cmos[RTC_REGISTER_HOURS_ALARM],
                                   rtc_read_clock(rtc, RTC_REGISTER_HOURS, &time));
}

/* Brings register C's flags up to `now`: an update (and maybe an alarm) per
 * second boundary crossed, a periodic flag when its deadline passed. */
static void rtc_advance_locked(struct rtc *rtc, const struct timespec *now)
{
    if (now->tv_sec > rtc->last_update) {
        rtc->flags |= RTC_C_UPDATE;
        uint64_t crossed = (uint64_t)now->tv_sec - (uint64_t)rtc->last_update;
        uint64_t checks = crossed < RTC_ALARM_CATCH_UP_SECONDS ? crossed : RTC_ALARM_CATCH_UP_SECONDS;
        for (uint64_t i = 0; i < checks; i++) {
            if (rtc_alarm_matches(rtc, now->tv_sec - (time_t)i)) {
                rtc->flags |= RTC_C_ALARM;
                break;
            }
        }
    }
    /* A host clock stepped backwards just resynchronises. */
    rtc->last_update = now->tv_sec;

    long period = rtc_periodic_ns(rtc);
    if (!period)
        return;
    struct timespec one_period_ahead = timespec_add_ns(*now, period);
    if (!timespec_before(now, &rtc->next_periodic)) {
        rtc->flags |= RTC_C_PERIODIC;
        rtc->next_periodic = one_period_ahead;
    } else if (timespec_before(&one_period_ahead, &rtc->next_periodic)) {
        rtc->next_periodic = one_period_ahead; /* the host clock stepped back */
    }
}

/* Register B's enable bits line up with register C's flag bits. */
static bool rtc_interrupt_pending(const struct rtc *rtc)
{
    uint8_t enabled = rtc->cmos[RTC_REGISTER_B] & (RTC_B_PERIODIC_ENABLE | RTC_B_ALARM_ENABLE | RTC_B_UPDATE_ENABLE);
    return (rtc->flags & enabled) != 0;
}

static void rtc_update_irq_locked(struct rtc *rtc)
{
    bool level = rtc_interrupt_pending(rtc);
    if (!rtc->platform || level == rtc->irq_level)
        return;
    rtc->irq_level = level;
    if (rtc->platform->set_irq_level)
        rtc->platform->set_irq_level(rtc->platform->opaque, rtc->irq, level);
}

static void rtc_wake_thread(struct rtc *rtc)
{
    if (rtc->wake_fd < 0)
        return;
    uint64_t one = 1;
    ssize_t ignored = write(rtc->wake_fd, &one, sizeof(one));
    (void)ignored;
}

static uint8_t rtc_read_locked(struct rtc *rtc)
{
    uint8_t index = rtc->index;
    struct timespec now;
    rtc->clock_now(&now);
    if (rtc_is_clock_register(index)) {
        struct tm time;
        time_t seconds = now.tv_sec;
        if (!gmtime_r(&seconds, &time))
            return 0;
        return rtc_read_clock(rtc, index, &time);
    }
    switch (index) {
    case RTC_REGISTER_A: {
        uint8_t value = rtc->cmos[RTC_REGISTER_A] & RTC_A_WRITABLE;
        if (now.tv_nsec >= 1000000000L - RTC_UPDATE_WINDOW_NS)
            value |= RTC_A_UPDATE_IN_PROGRESS;
        return value;
    }
    case RTC_REGISTER_C: {
        rtc_advance_locked(rtc, &now);
        uint8_t value = rtc->flags | (rtc_interrupt_pending(rtc) ? RTC_C_IRQ : 0);
        rtc->flags = 0; /* reading C acknowledges everything */
        rtc_update_irq_locked(rtc);
        return value;
    }
    case RTC_REGISTER_D:
        return RTC_D_VALID;
    default:
        return rtc->cmos[index];
    }
}

static void rtc_write_locked(struct rtc *rtc, uint8_t value)
{
    uint8_t index = rtc->index;
    if (rtc_is_clock_register(index))
        return; /* the guest does not get to move the host's clock */
    switch (index) {
    case RTC_REGISTER_A: {
        rtc->cmos[RTC_REGISTER_A] = value & RTC_A_WRITABLE;
        /* A new rate starts a new period. */
        long period = rtc_periodic_ns(rtc);
        if (period) {
            struct timespec now;
            rtc->clock_now(&now);
            rtc->next_periodic = timespec_add_ns(now, period);
        }
        rtc_wake_thread(rtc);
        break;
    }
    case RTC_REGISTER_B: {
        struct timespec now;
        rtc->clock_now(&now);
        rtc_advance_locked(rtc, &now);
        rtc->cmos[RTC_REGISTER_B] = value;
        /* Enabling a source whose flag is already set interrupts at once. */
        rtc_update_irq_locked(rtc);
        rtc_wake_thread(rtc);
        break;
    }
    case RTC_REGISTER_C:
    case RTC_REGISTER_D:
        break; /* read-only */
    default:
        rtc->cmos[index] = value;
        break;
    }
}

void rtc_write_index(struct rtc *rtc, uint8_t value)
{
    pthread_mutex_lock(&rtc->lock);
    rtc->index = value & RTC_INDEX_MASK;
    pthread_mutex_unlock(&rtc->lock);
}

uint8_t rtc_read_data(struct rtc *rtc)
{
    pthread_mutex_lock(&rtc->lock);
    uint8_t value = rtc_read_locked(rtc);
    pthread_mutex_unlock(&rtc->lock);
    return value;
}

void rtc_write_data(struct rtc *rtc, uint8_t value)
{
    pthread_mutex_lock(&rtc->lock);
    rtc_write_locked(rtc, value);
    pthread_mutex_unlock(&rtc->lock);
}

/* Offset 0 is the index port, 1 the data port; a 2-byte access touches both in order. */
static void rtc_bus_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    struct rtc *rtc = device;
    uint8_t *bytes = data;
    for (uint32_t i = 0; i < size; i++)
        bytes[i] = offset + i == 1 ? rtc_read_data(rtc) : 0xff; /* the index port is write-only */
}

static void rtc_bus_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct rtc *rtc = device;
    const uint8_t *bytes = data;
    for (uint32_t i = 0; i < size; i++) {
        if (offset + i == 0)
            rtc_write_index(rtc, bytes[i]);
        else if (offset + i == 1)
            rtc_write_data(rtc, bytes[i]);
    }
}

static const struct io_device_ops rtc_ops = {
    .read = rtc_bus_read,
    .write = rtc_bus_write,
};

int rtc_create(struct rtc *rtc, struct error *error)
{
    memset(rtc, 0, sizeof(*rtc));
    int result = pthread_mutex_init(&rtc->lock, NULL);
    if (result != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "rtc: mutex: %s", strerror(result));
    rtc->clock_now = rtc_host_clock;
    rtc->cmos[RTC_REGISTER_A] = 0x26; /* 32.768 kHz time base, 1.024 kHz periodic rate */
    rtc->cmos[RTC_REGISTER_B] = RTC_B_24_HOUR; /* BCD, 24-hour, as PC firmware sets it */
    struct timespec now;
    rtc->clock_now(&now);
    rtc->last_update = now.tv_sec;
    rtc->next_periodic = timespec_add_ns(now, rtc_periodic_ns(rtc));
    rtc->wake_fd = -1;
    atomic_init(&rtc->stopping, false);
    return 0;
}

void rtc_destroy(struct rtc *rtc)
{
    rtc_stop_interrupts(rtc);
    pthread_mutex_destroy(&rtc->lock);
}

/* How long the timer thread may sleep: until the next second boundary if
 * update or alarm interrupts are on, until the next periodic deadline if
 * periodic ones are; -1 (no timeout) when nothing is enabled. */
static bool rtc_next_timeout_locked(const struct rtc *rtc, const struct timespec *now, struct timespec *timeout)
{
    uint8_t enabled = rtc->cmos[RTC_REGISTER_B];
    bool any = false;
    long wait_ns = NANOSECONDS_PER_SECOND;
    if (enabled & (RTC_B_UPDATE_ENABLE | RTC_B_ALARM_ENABLE)) {
        wait_ns = NANOSECONDS_PER_SECOND - now->tv_nsec;
        any = true;
    }
    if ((enabled & RTC_B_PERIODIC_ENABLE) && rtc_periodic_ns(rtc)) {
        long until = 0;
        if (timespec_before(now, &rtc->next_periodic)) {
            /* Deadlines are less than a second ahead unless the host clock stepped back. */
            time_t seconds = rtc->next_periodic.tv_sec - now->tv_sec;
            until = seconds > 1 ? NANOSECONDS_PER_SECOND
                                : (long)seconds * NANOSECONDS_PER_SECOND + rtc->next_periodic.tv_nsec - now->tv_nsec;
        }
        if (!any || until < wait_ns)
            wait_ns = until;
        any = true;
    }
    if (wait_ns > NANOSECONDS_PER_SECOND)
        wait_ns = NANOSECONDS_PER_SECOND;
    timeout->tv_sec = wait_ns / NANOSECONDS_PER_SECOND;
    timeout->tv_nsec = wait_ns % NANOSECONDS_PER_SECOND;
    return any;
}

static void *rtc_timer_thread(void *opaque)
{
    sandbox_thread_enter(THREAD_KIND_RTC);
    struct rtc *rtc = opaque;
    while (!atomic_load(&rtc->stopping)) {
        struct timespec now, timeout;
        pthread_mutex_lock(&rtc->lock);
        rtc->clock_now(&now);
        rtc_advance_locked(rtc, &now);
        rtc_update_irq_locked(rtc);
        bool timed = rtc_next_timeout_locked(rtc, &now, &timeout);
        pthread_mutex_unlock(&rtc->lock);
        struct pollfd wake = {.fd = rtc->wake_fd, .events = POLLIN};
        if (ppoll(&wake, 1, timed ? &timeout : NULL, NULL) > 0) {
            uint64_t count;
            ssize_t ignored = read(rtc->wake_fd, &count, sizeof(count));
            (void)ignored;
        }
    }
    return NULL;
}

int rtc_start_interrupts(struct rtc *rtc, const struct platform *platform, unsigned irq, struct error *error)
{
    if (rtc->thread_started)
        return 0;
    int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "rtc: eventfd: %s", strerror(errno));
    pthread_mutex_lock(&rtc->lock);
    rtc->platform = platform;
    rtc->irq = irq;
    rtc->wake_fd = wake_fd;
    pthread_mutex_unlock(&rtc->lock);
    atomic_store(&rtc->stopping, false);
    /* Signals belong to the VMM's main thread. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int result = pthread_create(&rtc->thread, NULL, rtc_timer_thread, rtc);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (result != 0) {
        pthread_mutex_lock(&rtc->lock);
        rtc->wake_fd = -1;
        pthread_mutex_unlock(&rtc->lock);
        close(wake_fd);
        return error_set(error, EXIT_STATUS_FAILURE, "rtc: cannot start timer thread: %s", strerror(result));
    }
    rtc->thread_started = true;
    return 0;
}

void rtc_stop_interrupts(struct rtc *rtc)
{
    if (!rtc->thread_started)
        return;
    atomic_store(&rtc->stopping, true);
    pthread_mutex_lock(&rtc->lock);
    rtc_wake_thread(rtc);
    pthread_mutex_unlock(&rtc->lock);
    pthread_join(rtc->thread, NULL);
    rtc->thread_started = false;
    pthread_mutex_lock(&rtc->lock);
    close(rtc->wake_fd);
    rtc->wake_fd = -1;
    pthread_mutex_unlock(&rtc->lock);
}

int rtc_attach(struct rtc *rtc, struct io_bus *pio, struct error *error)
{
    return io_bus_register(pio, LAYOUT_RTC_PORT, 2, "rtc", &rtc_ops, rtc, error);
}
