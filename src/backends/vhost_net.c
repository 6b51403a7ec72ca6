#include "backends/vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum {
    FEATURE_MRG_RXBUF = 15,       /* VIRTIO_NET_F_MRG_RXBUF */
    FEATURE_TRANSPORT_FIRST = 24, /* the ring and transport bits, virtio 1.2 section 6 */
    FEATURE_TRANSPORT_LAST = 41,
    FEATURE_VERSION_1 = 32,
    /* vhost's own bits, inside the transport range: never a virtio feature here. */
    FEATURE_VHOST_LOG_ALL = 26,
    FEATURE_VHOST_NET_HEADER = 27, /* vhost would add the header itself; the tap does it here */
};

static const char *const ring_names[VHOST_NET_RING_COUNT] = { "RX", "TX" };

static uint64_t bit(unsigned number)
{
    return 1ull << number;
}

static uint64_t vhost_owned_bits(void)
{
    uint64_t mask = bit(FEATURE_MRG_RXBUF);
    for (unsigned number = FEATURE_TRANSPORT_FIRST; number <= FEATURE_TRANSPORT_LAST; number++)
        mask |= bit(number);
    return mask;
}

uint64_t vhost_net_offer_features(const struct vhost_net *vhost, uint64_t device_features)
{
    uint64_t unsupported = vhost_owned_bits() & ~vhost->features;
    return device_features & ~unsupported & ~(bit(FEATURE_VHOST_LOG_ALL) | bit(FEATURE_VHOST_NET_HEADER));
}

uint64_t vhost_net_ack_features(uint64_t kernel_features, uint64_t negotiated)
{
    /* VHOST_SET_FEATURES refuses any bit it does not know, and the device's own bits are not its business. */
    return negotiated & kernel_features & ~(bit(FEATURE_VHOST_LOG_ALL) | bit(FEATURE_VHOST_NET_HEADER));
}

unsigned vhost_net_memory_regions(const struct guest_memory *memory, struct vhost_memory_region *regions,
                                  unsigned capacity)
{
    unsigned count = 0;
    for (unsigned i = 0; i < memory->region_count && count < capacity; i++) {
        const struct guest_memory_region *region = &memory->regions[i];
        if (region->size == 0)
            continue;
        regions[count++] = (struct vhost_memory_region){
            .guest_phys_addr = region->gpa,
            .memory_size = region->size,
            .userspace_addr = (uint64_t)(uintptr_t)region->host,
        };
    }
    return count;
}

int vhost_net_ring_check(const struct vhost_net_ring *ring, unsigned index, struct error *error)
{
    const char *name = index < VHOST_NET_RING_COUNT ? ring_names[index] : "?";
    if (ring->size == 0 || (ring->size & (ring->size - 1)) != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: %s ring size %u is not a power of two", name,
                         ring->size);
    /* The split ring's alignments (virtio 1.2 2.7): vhost refuses the ring otherwise. */
    if (ring->desc_user == 0 || ring->desc_user % 16 != 0 || ring->avail_user == 0 || ring->avail_user % 2 != 0 ||
        ring->used_user == 0 || ring->used_user % 4 != 0)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: %s ring addresses are not aligned", name);
    if (ring->kick_fd < 0 || ring->call_fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: %s ring has no kick or call eventfd", name);
    return 0;
}

struct vhost_vring_addr vhost_net_ring_addr(const struct vhost_net_ring *ring, unsigned index)
{
    return (struct vhost_vring_addr){
        .index = index,
        .desc_user_addr = ring->desc_user,
        .avail_user_addr = ring->avail_user,
        .used_user_addr = ring->used_user,
    };
}

static int vhost_set_mem_table(int fd, const struct guest_memory *memory, struct error *error)
{
    struct vhost_memory *table =
        calloc(1, sizeof(*table) + GUEST_MEMORY_MAX_REGIONS * sizeof(struct vhost_memory_region));
    if (!table)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: out of memory");
    table->nregions = vhost_net_memory_regions(memory, table->regions, GUEST_MEMORY_MAX_REGIONS);
    int status = ioctl(fd, VHOST_SET_MEM_TABLE, table);
    int saved = errno;
    free(table);
    if (status < 0)
        return error_set(error, EXIT_STATUS_USAGE, "vhost-net: VHOST_SET_MEM_TABLE: %s", strerror(saved));
    return 0;
}

int vhost_net_open(struct vhost_net *vhost, const struct guest_memory *memory, struct error *error)
{
    *vhost = (struct vhost_net){ .fd = -1 };
    int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
            return error_set(error, EXIT_STATUS_USAGE,
                             "vhost-net: /dev/vhost-net is missing (is the vhost_net module loaded?)");
        return error_set(error, EXIT_STATUS_USAGE, "vhost-net: cannot open /dev/vhost-net: %s", strerror(errno));
    }
    uint64_t features = 0;
    if (ioctl(fd, VHOST_SET_OWNER) < 0) {
        error_set(error, EXIT_STATUS_USAGE, "vhost-net: VHOST_SET_OWNER: %s", strerror(errno));
    } else if (ioctl(fd, VHOST_GET_FEATURES, &features) < 0) {
        error_set(error, EXIT_STATUS_USAGE, "vhost-net: VHOST_GET_FEATURES: %s", strerror(errno));
    } else if (!(features & bit(FEATURE_VERSION_1))) {
        error_set(error, EXIT_STATUS_USAGE, "vhost-net: this kernel's vhost-net lacks VIRTIO_F_VERSION_1");
    } else if (vhost_set_mem_table(fd, memory, error) == 0) {
        vhost->fd = fd;
        vhost->features = features;
        return 0;
    }
    close(fd);
    return -1;
}

static int ring_ioctl_error(const char *request, unsigned index, struct error *error)
{
    return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: %s on the %s ring: %s", request, ring_names[index],
                     strerror(errno));
}

static int vhost_set_ring(int fd, const struct vhost_net_ring *ring, unsigned index, struct error *error)
{
    struct vhost_vring_state size = { .index = index, .num = ring->size };
    if (ioctl(fd, VHOST_SET_VRING_NUM, &size) < 0)
        return ring_ioctl_error("VHOST_SET_VRING_NUM", index, error);
    struct vhost_vring_state base = { .index = index, .num = ring->next_avail };
    if (ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0)
        return ring_ioctl_error("VHOST_SET_VRING_BASE", index, error);
    struct vhost_vring_addr addr = vhost_net_ring_addr(ring, index);
    if (ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0)
        return ring_ioctl_error("VHOST_SET_VRING_ADDR", index, error);
    struct vhost_vring_file kick = { .index = index, .fd = ring->kick_fd };
    if (ioctl(fd, VHOST_SET_VRING_KICK, &kick) < 0)
        return ring_ioctl_error("VHOST_SET_VRING_KICK", index, error);
    struct vhost_vring_file call = { .index = index, .fd = ring->call_fd };
    if (ioctl(fd, VHOST_SET_VRING_CALL, &call) < 0)
        return ring_ioctl_error("VHOST_SET_VRING_CALL", index, error);
    return 0;
}

/* Both rings back to no backend and no eventfds; errors are ignored (a ring never set up has nothing to undo). */
static void vhost_unbind(struct vhost_net *vhost, bool read_bases)
{
    for (unsigned index = 0; index < VHOST_NET_RING_COUNT; index++) {
        struct vhost_vring_file none = { .index = index, .fd = VHOST_FILE_UNBIND };
        (void)ioctl(vhost->fd, VHOST_NET_SET_BACKEND, &none);
    }
    for (unsigned index = 0; index < VHOST_NET_RING_COUNT; index++) {
        struct vhost_vring_state base = { .index = index };
        if (read_bases && ioctl(vhost->fd, VHOST_GET_VRING_BASE, &base) == 0)
            vhost->stopped_next_avail[index] = (uint16_t)base.num;
        struct vhost_vring_file none = { .index = index, .fd = VHOST_FILE_UNBIND };
        (void)ioctl(vhost->fd, VHOST_SET_VRING_KICK, &none);
        (void)ioctl(vhost->fd, VHOST_SET_VRING_CALL, &none);
    }
}

int vhost_net_start(struct vhost_net *vhost, uint64_t features, const struct vhost_net_ring rings[VHOST_NET_RING_COUNT],
                    int tap_fd, struct error *error)
{
    if (vhost->started)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: already started");
    for (unsigned index = 0; index < VHOST_NET_RING_COUNT; index++)
        if (vhost_net_ring_check(&rings[index], index, error) < 0)
            return -1;
    uint64_t acked = vhost_net_ack_features(vhost->features, features);
    if (!(acked & bit(FEATURE_VERSION_1)))
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: the driver did not negotiate VIRTIO_F_VERSION_1");
    if (ioctl(vhost->fd, VHOST_SET_FEATURES, &acked) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "vhost-net: VHOST_SET_FEATURES: %s", strerror(errno));
    for (unsigned index = 0; index < VHOST_NET_RING_COUNT; index++) {
        if (vhost_set_ring(vhost->fd, &rings[index], index, error) < 0) {
            vhost_unbind(vhost, false);
            return -1;
        }
    }
    for (unsigned index = 0; index < VHOST_NET_RING_COUNT; index++) {
        struct vhost_vring_file backend = { .index = index, .fd = tap_fd };
        if (ioctl(vhost->fd, VHOST_NET_SET_BACKEND, &backend) < 0) {
            ring_ioctl_error("VHOST_NET_SET_BACKEND", index, error);
            vhost_unbind(vhost, false);
            return -1;
        }
    }
    vhost->started = true;
    return 0;
}

void vhost_net_stop(struct vhost_net *vhost)
{
    if (!vhost->started)
        return;
    vhost_unbind(vhost, true);
    vhost->started = false;
}

void vhost_net_close(struct vhost_net *vhost)
{
    if (vhost->fd < 0)
        return;
    vhost_net_stop(vhost);
    close(vhost->fd);
    vhost->fd = -1;
}
