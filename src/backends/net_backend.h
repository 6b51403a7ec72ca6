#ifndef KESTREL_BACKENDS_NET_BACKEND_H
#define KESTREL_BACKENDS_NET_BACKEND_H

/*
 * What a virtio-net device asks of the host side of a NIC (a tap device,
 * libslirp), in one ops table. The device owns the virtqueues; each queue
 * pair is served by one I/O thread (which may serve other pairs too), waiting
 * in poll(2) on the queue kicks and on the fds the backend adds, and the
 * device calls the backend for a pair only from that thread, so a backend
 * needs no locks for a pair's state.
 *
 * Receiving copies each frame at most once: the backend asks the device for
 * guest buffers through a receive sink and writes the frame straight into
 * them (readv for a tap, one memcpy for libslirp). The sink is defined here,
 * below the device, so that a backend never includes device code.
 *
 * Frames cross with the 12-byte virtio-net header (struct
 * virtio_net_hdr_v1) in front when header_size is 12 (a tap with
 * IFF_VNET_HDR and TUNSETVNETHDRSZ 12), and as bare Ethernet frames when it is
 * 0 (libslirp): the device then strips the header on transmit and writes it
 * on receive.
 */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
    NET_BACKEND_HEADER_SIZE = 12, /* sizeof(struct virtio_net_hdr_v1) */
    NET_BACKEND_MAX_POLL_FDS = 64,
};

/* One user-mode port forward (--net user,hostfwd=...): a host socket whose connections reach the guest. */
struct net_hostfwd {
    bool udp;
    uint32_t host_address;  /* IPv4, host byte order */
    uint16_t host_port;     /* 1..65535 */
    uint32_t guest_address; /* IPv4, host byte order */
    uint16_t guest_port;    /* 1..65535 */
};

/* The device's side of receiving; every call comes from the pair's thread. */
struct net_receive_sink {
    /*
     * Guest buffers for one frame of at most `frame_bytes` bytes (after the
     * header, when the backend writes none): false when the guest has posted
     * too few, and the backend should keep the frame (a tap simply leaves it
     * in the kernel) or drop it. A true answer must be followed by commit.
     */
    bool (*acquire)(void *opaque, size_t frame_bytes, struct iovec **segments, unsigned *count);
    /* The backend wrote `bytes` into the acquired buffers (0: nothing, the buffers go back unused). */
    void (*commit)(void *opaque, size_t bytes);
    void *opaque;
};

/* TUN_F_* style offload bits the guest can take on receive (set_offload). */
enum {
    NET_OFFLOAD_CSUM = 1u << 0, /* partial checksums (VIRTIO_NET_F_GUEST_CSUM) */
    NET_OFFLOAD_TSO4 = 1u << 1,
    NET_OFFLOAD_TSO6 = 1u << 2,
    NET_OFFLOAD_ECN = 1u << 3,
    NET_OFFLOAD_UFO = 1u << 4,
};

struct net_backend_ops {
    const char *name;   /* "tap", "user": for log lines */
    size_t header_size; /* 0 or NET_BACKEND_HEADER_SIZE, see above */
    /*
     * Adds the fds pair `pair`'s thread must wait on (at most `capacity`),
     * asking for POLLIN when `want_receive` (the guest has buffers) and
     * POLLOUT when `want_transmit` (a frame waits for room); lowers *timeout_ms
     * (-1: none) to the backend's next timer. Returns the number added.
     */
    unsigned (*poll_fill)(void *backend, unsigned pair, struct pollfd *fds, unsigned capacity, bool want_receive,
                          bool want_transmit, int *timeout_ms);
    /* After poll: the same fds with revents; receives into `sink`, runs timers. */
    void (*poll_dispatch)(void *backend, unsigned pair, const struct pollfd *fds, unsigned count,
                          const struct net_receive_sink *sink);
    /*
     * Sends one frame (with the header when header_size is 12). 0 when sent
     * or deliberately dropped; -EAGAIN when the host has no room now (the
     * device keeps the frame and asks for POLLOUT). A backend may receive into
     * `sink` while it transmits (libslirp answers ARP and ping at once).
     */
    int (*transmit)(void *backend, unsigned pair, const struct iovec *segments, unsigned count,
                    const struct net_receive_sink *sink);
    /* The receive offloads the guest negotiated (NET_OFFLOAD_*); 0 on success. */
    int (*set_offload)(void *backend, unsigned offloads);
    /* The driver uses pairs [0, active) only (VIRTIO_NET_CTRL_MQ); 0 on success. */
    int (*set_active_pairs)(void *backend, unsigned active);
};

struct net_backend {
    const struct net_backend_ops *ops;
    void *state;
    unsigned pair_count; /* queue pairs the backend can serve */
    unsigned offloads;   /* NET_OFFLOAD_* the backend can take, bounding what the device offers */
    /* The tap queue fds for vhost-net (pair_count of them); NULL for other backends. */
    const int *tap_fds;
};

#endif
