#include "devices/virtio_net_pair.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mem/iovec.h"

enum {
    /* Frames per queue per wake-up: a guest that keeps the TX ring full cannot starve receive. */
    TX_BUDGET = 256,
    SERVE_ROUNDS = 8,
    FIXED_FDS = 4, /* stop, TX kick, RX kick, control kick */
};

static struct virtq *queue_at(struct virtio_net_pair *pair, unsigned index)
{
    return &pair->setup.shared->transport->queues[index];
}

static void mark_broken(struct virtio_net_pair *pair, unsigned queue)
{
    if (pair->broken & (1ull << queue))
        return;
    pair->broken |= 1ull << queue;
    virtio_pci_queue_broken(pair->setup.shared->transport, (uint16_t)queue);
}

static void answer(struct virtio_net_pair *pair, unsigned queue, const struct virtq_request *request, uint32_t used)
{
    if (virtq_push(queue_at(pair, queue), request, used) == 0)
        pair->touched |= 1ull << queue;
}

static void notify_touched(struct virtio_net_pair *pair)
{
    if (pair->receive_ready && pair->receive.pushed) {
        pair->receive.pushed = false;
        pair->touched |= 1ull << pair->rx_queue;
    }
    uint64_t touched = pair->touched;
    pair->touched = 0;
    for (unsigned queue = 0; touched; queue++, touched >>= 1)
        if ((touched & 1) && virtq_should_notify(queue_at(pair, queue)))
            virtio_pci_queue_interrupt(pair->setup.shared->transport, (uint16_t)queue);
}

static struct net_receive_sink sink_of(struct virtio_net_pair *pair)
{
    return (struct net_receive_sink){
        .acquire = virtio_net_receive_acquire,
        .commit = virtio_net_receive_commit,
        .opaque = &pair->receive,
    };
}

/* 0 sent or dropped, -EAGAIN when the backend has no room (the caller keeps the request). */
static int transmit(struct virtio_net_pair *pair, const struct virtq_request *request, bool retry)
{
    struct virtio_net_shared *shared = pair->setup.shared;
    struct net_backend *backend = shared->backend;
    if (!retry) {
        if (request->readable_bytes < VIRTIO_NET_HEADER_SIZE ||
            !virtio_net_header_read(request->segments, request->readable_count, &pair->tx_header)) {
            log_ratelimited(&pair->log_limit, "virtio-net: queue %u: a frame without a header", pair->tx_queue);
            atomic_fetch_add_explicit(&shared->frames_dropped, 1, memory_order_relaxed);
            return 0;
        }
        const char *fault = virtio_net_header_check_transmit(
            &pair->tx_header, request->readable_bytes - VIRTIO_NET_HEADER_SIZE, shared->features);
        if (fault) {
            log_ratelimited(&pair->log_limit, "virtio-net: queue %u: frame dropped: %s", pair->tx_queue, fault);
            atomic_fetch_add_explicit(&shared->frames_dropped, 1, memory_order_relaxed);
            return 0;
        }
    }
    /* The header that goes out is kestrel's checked copy, so the guest cannot change it after the check. */
    uint32_t count = 0;
    if (backend->ops->header_size == VIRTIO_NET_HEADER_SIZE)
        pair->tx_send[count++] = (struct iovec){.iov_base = &pair->tx_header, .iov_len = VIRTIO_NET_HEADER_SIZE};
    count += iovec_slice(request->segments, request->readable_count, VIRTIO_NET_HEADER_SIZE, pair->tx_send + count,
                         pair->tx_capacity);
    const struct net_receive_sink sink = sink_of(pair);
    int result = backend->ops->transmit(backend->state, pair->setup.index, pair->tx_send, count, &sink);
    if (result == -EAGAIN)
        return -EAGAIN;
    if (result == 0) {
        atomic_fetch_add_explicit(&shared->frames_sent, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&shared->bytes_sent, request->readable_bytes - VIRTIO_NET_HEADER_SIZE,
                                  memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&shared->frames_dropped, 1, memory_order_relaxed);
    }
    return 0;
}

enum tx_outcome { TX_EMPTY, TX_BUDGET_SPENT, TX_BLOCKED, TX_BROKEN };

static enum tx_outcome transmit_all(struct virtio_net_pair *pair)
{
    struct virtq *ring = queue_at(pair, pair->tx_queue);
    for (unsigned i = 0; i < TX_BUDGET; i++) {
        struct virtq_request request = {.segments = pair->tx_segments, .segment_capacity = pair->tx_capacity};
        enum virtq_pop_result result = virtq_pop(ring, &request);
        if (result == VIRTQ_POP_EMPTY)
            return TX_EMPTY;
        if (result == VIRTQ_POP_BROKEN)
            return TX_BROKEN;
        if (transmit(pair, &request, false) == -EAGAIN) {
            pair->tx_waiting = request;
            pair->tx_has_waiting = true;
            return TX_BLOCKED;
        }
        answer(pair, pair->tx_queue, &request, 0);
    }
    return TX_BUDGET_SPENT;
}

static void serve_transmit(struct virtio_net_pair *pair)
{
    pair->tx_more = false;
    if (pair->broken & (1ull << pair->tx_queue))
        return;
    if (pair->tx_has_waiting) {
        if (transmit(pair, &pair->tx_waiting, true) == -EAGAIN)
            return;
        pair->tx_has_waiting = false;
        answer(pair, pair->tx_queue, &pair->tx_waiting, 0);
    }
    struct virtq *ring = queue_at(pair, pair->tx_queue);
    virtq_disable_kicks(ring);
    for (unsigned round = 0; round < SERVE_ROUNDS; round++) {
        enum tx_outcome outcome = transmit_all(pair);
        if (outcome == TX_BROKEN)
            return mark_broken(pair, pair->tx_queue);
        /* Blocked: kicks stay off until the backend can take more (POLLOUT brings us back). */
        if (outcome == TX_BLOCKED)
            return;
        if (outcome == TX_EMPTY && !virtq_enable_kicks(ring))
            return;
        notify_touched(pair);
    }
    pair->tx_more = true;
}

static void serve_control(struct virtio_net_pair *pair)
{
    unsigned queue = (unsigned)pair->setup.control_queue;
    struct virtio_net_shared *shared = pair->setup.shared;
    struct virtq *ring = queue_at(pair, queue);
    if (pair->broken & (1ull << queue))
        return;
    const struct virtio_net_control_limits limits = {.features = shared->features, .max_pairs = shared->max_pairs};
    for (unsigned i = 0; i < virtq_size(ring); i++) {
        struct virtq_request request = {.segments = pair->control_segments,
                                        .segment_capacity = pair->control_capacity};
        enum virtq_pop_result result = virtq_pop(ring, &request);
        if (result == VIRTQ_POP_EMPTY)
            return;
        if (result == VIRTQ_POP_BROKEN)
            return mark_broken(pair, queue);
        struct virtio_net_control_effect effect;
        uint8_t ack = VIRTIO_NET_ERR;
        pthread_mutex_lock(&shared->filter_lock);
        enum virtio_net_control_outcome outcome =
            virtio_net_control_handle(request.segments, request.readable_count, request.writable_count, &limits,
                                      &shared->filter, &effect, &ack);
        pthread_mutex_unlock(&shared->filter_lock);
        if (effect.pairs_changed) {
            struct net_backend *backend = shared->backend;
            if (backend->ops->set_active_pairs(backend->state, effect.pairs) < 0) {
                log_ratelimited(&pair->log_limit, "virtio-net: the backend cannot use %u queue pairs", effect.pairs);
                ack = VIRTIO_NET_ERR;
            } else if (shared->pairs_changed) {
                shared->pairs_changed(shared->pairs_changed_opaque, effect.pairs);
            }
        }
        if (outcome == VIRTIO_NET_CONTROL_NO_ACK) {
            log_ratelimited(&pair->log_limit, "virtio-net: a control command without room for its ack");
            answer(pair, queue, &request, 0);
            continue;
        }
        iovec_copy_to(request.segments + request.readable_count, request.writable_count, 0, &ack, 1);
        answer(pair, queue, &request, 1);
    }
}

/* The receive side counts in plain fields on this thread; --stats reads the device's atomics. */
static void report_received(struct virtio_net_pair *pair)
{
    struct virtio_net_shared *shared = pair->setup.shared;
    uint64_t frames = pair->receive.frames - pair->frames_reported;
    uint64_t bytes = pair->receive.bytes - pair->bytes_reported;
    if (frames == 0)
        return;
    atomic_fetch_add_explicit(&shared->frames_received, frames, memory_order_relaxed);
    atomic_fetch_add_explicit(&shared->bytes_received, bytes, memory_order_relaxed);
    pair->frames_reported = pair->receive.frames;
    pair->bytes_reported = pair->receive.bytes;
}

static void drain_eventfd(int fd)
{
    eventfd_t value;
    (void)eventfd_read(fd, &value);
}

static void add_fd(struct pollfd *fds, unsigned *count, int fd)
{
    fds[*count] = (struct pollfd){.fd = fd, .events = POLLIN};
    (*count)++;
}

static void *pair_main(void *opaque)
{
    struct virtio_net_pair *pair = opaque;
    struct virtio_net_shared *shared = pair->setup.shared;
    struct net_backend *backend = shared->backend;
    struct virtio_pci *transport = shared->transport;
    struct pollfd fds[FIXED_FDS + NET_BACKEND_MAX_POLL_FDS];
    const struct net_receive_sink sink = sink_of(pair);
    bool serve_tx = pair->setup.data_path, serve_ctrl = pair->setup.control_queue >= 0;
    for (;;) {
        if (thread_pause_requested(&pair->pause)) {
            notify_touched(pair);
            thread_pause_park(&pair->pause, &pair->stopping);
        }
        if (atomic_load_explicit(&pair->stopping, memory_order_acquire))
            break;
        unsigned count = 0;
        add_fd(fds, &count, pair->stop_fd);
        int tx_slot = -1, rx_slot = -1, control_slot = -1;
        if (pair->setup.data_path) {
            tx_slot = (int)count;
            add_fd(fds, &count, virtio_pci_queue_kick_fd(transport, pair->tx_queue));
            rx_slot = (int)count;
            add_fd(fds, &count, virtio_pci_queue_kick_fd(transport, pair->rx_queue));
        }
        if (pair->setup.control_queue >= 0) {
            control_slot = (int)count;
            add_fd(fds, &count, virtio_pci_queue_kick_fd(transport, (uint16_t)pair->setup.control_queue));
        }
        /* Everything the guest may have queued before its kicks were seen, once at the start. */
        if (serve_tx || serve_ctrl) {
            if (serve_tx)
                serve_transmit(pair);
            if (serve_ctrl)
                serve_control(pair);
            notify_touched(pair);
            serve_tx = serve_ctrl = false;
        }
        int timeout = pair->tx_more ? 0 : -1;
        unsigned backend_first = count, backend_count = 0;
        if (pair->setup.data_path) {
            bool want_receive = !pair->receive.starved && !pair->receive.broken;
            backend_count = backend->ops->poll_fill(backend->state, pair->setup.index, fds + count,
                                                    NET_BACKEND_MAX_POLL_FDS, want_receive, pair->tx_has_waiting,
                                                    &timeout);
            count += backend_count;
        }
        if (poll(fds, count, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("virtio-net: queue pair %u stops: poll: %s", pair->setup.index, strerror(errno));
            break;
        }
        if (fds[0].revents) {
            drain_eventfd(pair->stop_fd);
            if (atomic_load_explicit(&pair->stopping, memory_order_acquire))
                break;
        }
        if (rx_slot >= 0 && fds[rx_slot].revents) {
            drain_eventfd(fds[rx_slot].fd);
            /* Buffers came; further refills need no kick until the ring runs dry again (which re-enables them). */
            pair->receive.starved = false;
            virtq_disable_kicks(queue_at(pair, pair->rx_queue));
        }
        if (tx_slot >= 0 && fds[tx_slot].revents) {
            drain_eventfd(fds[tx_slot].fd);
            serve_tx = true;
        }
        if (control_slot >= 0 && fds[control_slot].revents) {
            drain_eventfd(fds[control_slot].fd);
            serve_ctrl = true;
        }
        if (pair->setup.data_path) {
            backend->ops->poll_dispatch(backend->state, pair->setup.index, fds + backend_first, backend_count, &sink);
            if (pair->receive.broken)
                mark_broken(pair, pair->rx_queue);
            report_received(pair);
            if (pair->tx_more || pair->tx_has_waiting)
                serve_tx = true;
        }
        if (!serve_tx && !serve_ctrl)
            notify_touched(pair);
    }
    thread_pause_exit(&pair->pause);
    return NULL;
}

static void release(struct virtio_net_pair *pair)
{
    if (pair->receive_ready)
        virtio_net_receive_destroy(&pair->receive);
    pair->receive_ready = false;
    free(pair->tx_segments);
    free(pair->tx_send);
    free(pair->control_segments);
    pair->tx_segments = pair->tx_send = pair->control_segments = NULL;
    if (pair->stop_fd >= 0)
        close(pair->stop_fd);
    pair->stop_fd = -1;
}

static int prepare_data_path(struct virtio_net_pair *pair, struct error *error)
{
    struct virtio_net_shared *shared = pair->setup.shared;
    uint16_t tx_size = virtq_size(queue_at(pair, pair->tx_queue));
    pair->tx_capacity = tx_size ? tx_size : 1;
    pair->tx_segments = calloc(pair->tx_capacity, sizeof(*pair->tx_segments));
    pair->tx_send = calloc(pair->tx_capacity + 1u, sizeof(*pair->tx_send));
    if (!pair->tx_segments || !pair->tx_send)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: out of memory for a queue pair");
    const struct virtio_net_receive_setup receive = {
        .queue = queue_at(pair, pair->rx_queue),
        .mergeable = (shared->features >> VIRTIO_NET_F_MRG_RXBUF) & 1,
        .backend_writes_header = shared->backend->ops->header_size == VIRTIO_NET_HEADER_SIZE,
        .data_valid = shared->data_valid && ((shared->features >> VIRTIO_NET_F_GUEST_CSUM) & 1),
        .mac = shared->mac,
        .filter_lock = &shared->filter_lock,
        .filter = &shared->filter,
    };
    if (virtio_net_receive_init(&pair->receive, &receive, error) < 0)
        return -1;
    pair->receive_ready = true;
    return 0;
}

int virtio_net_pair_start(struct virtio_net_pair *pair, const struct virtio_net_pair_setup *setup,
                          struct error *error)
{
    memset(pair, 0, sizeof(*pair));
    pair->setup = *setup;
    pair->rx_queue = (uint16_t)(setup->index * 2);
    pair->tx_queue = (uint16_t)(setup->index * 2 + 1);
    pair->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (pair->stop_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: eventfd: %s", strerror(errno));
    if (setup->data_path && prepare_data_path(pair, error) < 0) {
        release(pair);
        return -1;
    }
    if (setup->control_queue >= 0) {
        uint16_t size = virtq_size(queue_at(pair, (unsigned)setup->control_queue));
        pair->control_capacity = size ? size : 1;
        pair->control_segments = calloc(pair->control_capacity, sizeof(*pair->control_segments));
        if (!pair->control_segments) {
            release(pair);
            return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: out of memory for the control queue");
        }
    }
    atomic_init(&pair->stopping, false);
    if (thread_pause_init(&pair->pause, error) < 0) {
        release(pair);
        return -1;
    }
    int result = pthread_create(&pair->thread, NULL, pair_main, pair);
    if (result != 0) {
        thread_pause_destroy(&pair->pause);
        release(pair);
        return error_set(error, EXIT_STATUS_FAILURE, "virtio-net: cannot start a queue pair thread: %s",
                         strerror(result));
    }
    pair->running = true;
    return 0;
}

void virtio_net_pair_stop(struct virtio_net_pair *pair)
{
    if (!pair->running)
        return;
    atomic_store_explicit(&pair->stopping, true, memory_order_release);
    if (eventfd_write(pair->stop_fd, 1) < 0)
        log_error("virtio-net: cannot wake a queue pair thread: %s", strerror(errno));
    thread_pause_wake(&pair->pause);
    pthread_join(pair->thread, NULL);
    thread_pause_destroy(&pair->pause);
    pair->running = false;
    release(pair);
}

void virtio_net_pair_pause(struct virtio_net_pair *pair)
{
    if (!pair->running)
        return;
    thread_pause_hold(&pair->pause, pair->stop_fd, "virtio-net");
}

void virtio_net_pair_resume(struct virtio_net_pair *pair)
{
    if (!pair->running)
        return;
    thread_pause_release(&pair->pause);
}
