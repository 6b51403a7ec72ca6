#include "devices/rtc.h"

#include <stdbool.h>
#include <string.h>

#include "arch/x86/layout.h"

enum {
    RTC_INDEX_MASK = 0x7f, /* bit 7 of the index write is the NMI mask, not address */
    RTC_A_WRITABLE = 0x7f, /* UIP is read-only */
    RTC_HOUR_PM = 0x80,
    /* The real part raises UIP 244 us before each update, and keeps it up for the update itself. */
    RTC_UPDATE_WINDOW_NS = 244000,
};

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
    case RTC_REGISTER_C:
        /* No periodic, alarm or update interrupts are generated, so no flags. */
        return 0;
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
    case RTC_REGISTER_A:
        rtc->cmos[RTC_REGISTER_A] = value & RTC_A_WRITABLE;
        break;
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
    return 0;
}

void rtc_destroy(struct rtc *rtc)
{
    pthread_mutex_destroy(&rtc->lock);
}

int rtc_attach(struct rtc *rtc, struct io_bus *pio, struct error *error)
{
    return io_bus_register(pio, LAYOUT_RTC_PORT, 2, "rtc", &rtc_ops, rtc, error);
}
