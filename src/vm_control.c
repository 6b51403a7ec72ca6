#include "vm_control.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/startup_clock.h"

int vm_control_init(struct vm_control *control, struct error *error)
{
    control->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (control->wake_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "eventfd: %s", strerror(errno));
    pthread_mutex_init(&control->lock, NULL);
    atomic_init(&control->stop_deadline_ns, 0);
    control->start_ns = startup_clock_now_ns();
    return 0;
}

void vm_control_destroy(struct vm_control *control)
{
    if (control->wake_fd >= 0)
        close(control->wake_fd);
    control->wake_fd = -1;
    pthread_mutex_destroy(&control->lock);
}

/* vCPUs first (no new kicks by MMIO, no new requests), then the I/O threads drain; the clock last. */
/* Under `lock`. */
static int check_vm_present(const struct vm_control *control, struct error *error)
{
    return control->vm_gone ? error_set(error, EXIT_STATUS_FAILURE, "the VM is stopping") : 0;
}

static int control_pause(void *opaque, struct error *error)
{
    struct vm_control *control = opaque;
    pthread_mutex_lock(&control->lock);
    int result = check_vm_present(control, error);
    if (result == 0 && !control->paused) {
        result = vm_pause_vcpus(control->pause, control->stop, error);
        if (result == 0) {
            control->devices_pause(control->devices_opaque, true);
            control->clock_saved = kvm_vm_get_clock(control->vm, &control->clock_ns) == 0;
            if (!control->clock_saved)
                log_warn("pause: KVM_GET_CLOCK: %s; the guest's clock runs on while paused", strerror(errno));
            control->paused = true;
        } else {
            vm_pause_resume_vcpus(control->pause);
        }
    }
    pthread_mutex_unlock(&control->lock);
    return result;
}

static void resume_locked(struct vm_control *control)
{
    if (!control->paused)
        return;
    if (control->clock_saved && kvm_vm_set_clock(control->vm, control->clock_ns) < 0)
        log_warn("resume: KVM_SET_CLOCK: %s", strerror(errno));
    control->devices_pause(control->devices_opaque, false);
    vm_pause_resume_vcpus(control->pause);
    control->paused = false;
}

void vm_control_begin_reset(struct vm_control *control)
{
    pthread_mutex_lock(&control->lock);
    resume_locked(control);
}

void vm_control_end_reset(struct vm_control *control, bool booted)
{
    control->vm_gone = !booted;
    pthread_mutex_unlock(&control->lock);
}

static int control_resume(void *opaque, struct error *error)
{
    (void)error;
    struct vm_control *control = opaque;
    pthread_mutex_lock(&control->lock);
    resume_locked(control);
    pthread_mutex_unlock(&control->lock);
    return 0;
}

/* A paused guest cannot see the button: it is resumed first. */
static int control_request_stop(void *opaque, struct error *error)
{
    struct vm_control *control = opaque;
    pthread_mutex_lock(&control->lock);
    if (check_vm_present(control, error) < 0) {
        pthread_mutex_unlock(&control->lock);
        return -1;
    }
    resume_locked(control);
    uint64_t expected = 0;
    atomic_compare_exchange_strong(&control->stop_deadline_ns, &expected,
                                   startup_clock_now_ns() + VM_CONTROL_STOP_TIMEOUT_NS);
    acpi_pm_press_power_button(control->acpi_pm);
    pthread_mutex_unlock(&control->lock);
    if (eventfd_write(control->wake_fd, 1) < 0)
        log_error("stop: cannot wake the main thread: %s", strerror(errno));
    return 0;
}

/* The keys go in even while paused: the guest reads them once resumed. */
static int control_ctrl_alt_del(void *opaque, struct error *error)
{
    struct vm_control *control = opaque;
    if (!control->i8042)
        return error_set(error, EXIT_STATUS_FAILURE, "this VM has no i8042 keyboard controller");
    pthread_mutex_lock(&control->lock);
    int result = check_vm_present(control, error);
    if (result == 0)
        result = i8042_send_ctrl_alt_del(control->i8042, error);
    pthread_mutex_unlock(&control->lock);
    return result;
}

static char *control_render_stats(void *opaque, enum api_stats_format format, size_t *length)
{
    struct vm_control *control = opaque;
    pthread_mutex_lock(&control->lock);
    char *text = control->vm_gone ? NULL
                                  : vmm_stats_render(control->live_stats,
                                                     format == API_STATS_PROMETHEUS ? VM_STATS_PROMETHEUS
                                                                                    : VM_STATS_JSON,
                                                     length);
    pthread_mutex_unlock(&control->lock);
    return text;
}

static enum api_vm_state control_state(void *opaque)
{
    struct vm_control *control = opaque;
    pthread_mutex_lock(&control->lock);
    bool paused = control->paused;
    pthread_mutex_unlock(&control->lock);
    return paused ? API_VM_PAUSED : API_VM_RUNNING;
}

static uint64_t control_uptime_ns(void *opaque)
{
    struct vm_control *control = opaque;
    return startup_clock_now_ns() - control->start_ns;
}

const struct api_vm_ops vm_control_api_ops = {
    .pause = control_pause,
    .resume = control_resume,
    .request_stop = control_request_stop,
    .ctrl_alt_del = control_ctrl_alt_del,
    .render_stats = control_render_stats,
    .state = control_state,
    .uptime_ns = control_uptime_ns,
};

int vm_control_stop_wait_ms(struct vm_control *control)
{
    uint64_t deadline = atomic_load(&control->stop_deadline_ns);
    if (deadline == 0)
        return -1;
    uint64_t now = startup_clock_now_ns();
    if (now >= deadline)
        return 0;
    uint64_t remaining_ms = (deadline - now + 999999) / 1000000;
    return remaining_ms > 60000 ? 60000 : (int)remaining_ms;
}

bool vm_control_stop_due(struct vm_control *control, bool woken)
{
    eventfd_t drained;
    if (woken && eventfd_read(control->wake_fd, &drained) < 0) {
        /* Nonblocking and just readable: nothing to handle. */
    }
    uint64_t deadline = atomic_load(&control->stop_deadline_ns);
    return deadline != 0 && startup_clock_now_ns() >= deadline;
}

void vm_control_wait_for_stop(struct vm_stop *stop, struct vm_control *control, int signal_fd)
{
    while (vm_stop_current(stop) == VM_STOP_NONE) {
        struct pollfd fds[3] = {
            {.fd = stop->wake_fd, .events = POLLIN},
            {.fd = signal_fd, .events = POLLIN},
            {.fd = control ? control->wake_fd : -1, .events = POLLIN},
        };
        int timeout = control ? vm_control_stop_wait_ms(control) : -1;
        int ready = poll(fds, 3, timeout);
        if (control && vm_control_stop_due(control, fds[2].revents & POLLIN)) {
            if (vm_stop_request(stop, VM_STOP_QUIT))
                log_warn("the guest did not power off within 10 s of the API's Stop; stopping it");
            break;
        }
        if (ready < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            vm_stop_request(stop, VM_STOP_ERROR);
            break;
        }
        if (ready > 0 && (fds[1].revents & POLLIN)) {
            struct signalfd_siginfo info;
            if (read(signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
                if (vm_stop_request(stop, VM_STOP_SIGNAL))
                    log_error("stopping the guest on signal %s", strsignal((int)info.ssi_signo));
            }
        }
    }
}
