#ifndef KESTREL_VIRTIO_GUEST_LOAD_H
#define KESTREL_VIRTIO_GUEST_LOAD_H

/*
 * Single loads of guest-written ring data. Each value is read with one
 * volatile access into the caller's local copy. The compiler must perform a
 * volatile access exactly as written and may not invent another, so it can
 * never re-read guest memory in place of the copy that was checked (a double
 * fetch): the single fetch holds by construction, whatever the optimizer does,
 * not because of a barrier placed next to a memcpy.
 *
 * The types are 1-byte aligned because indirect tables need not be aligned;
 * x86-64 loads unaligned words in one instruction, and UBSan does not flag an
 * access through a type that promises no alignment.
 */

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

typedef uint64_t guest_u64 __attribute__((aligned(1)));
typedef uint32_t guest_u32 __attribute__((aligned(1)));
typedef uint16_t guest_u16 __attribute__((aligned(1)));

static inline uint64_t guest_load_u64(const void *guest)
{
    return *(const volatile guest_u64 *)guest;
}

static inline uint32_t guest_load_u32(const void *guest)
{
    return *(const volatile guest_u32 *)guest;
}

static inline uint16_t guest_load_u16(const void *guest)
{
    return *(const volatile guest_u16 *)guest;
}

/* One split descriptor (virtio 1.2 section 2.7.5), each field loaded once. */
static inline void guest_load_split_descriptor(struct vring_desc *local, const uint8_t *guest)
{
    local->addr = guest_load_u64(guest + offsetof(struct vring_desc, addr));
    local->len = guest_load_u32(guest + offsetof(struct vring_desc, len));
    local->flags = guest_load_u16(guest + offsetof(struct vring_desc, flags));
    local->next = guest_load_u16(guest + offsetof(struct vring_desc, next));
}

/* One packed descriptor (virtio 1.2 section 2.8.13), each field loaded once. */
static inline void guest_load_packed_descriptor(struct vring_packed_desc *local, const uint8_t *guest)
{
    local->addr = guest_load_u64(guest + offsetof(struct vring_packed_desc, addr));
    local->len = guest_load_u32(guest + offsetof(struct vring_packed_desc, len));
    local->id = guest_load_u16(guest + offsetof(struct vring_packed_desc, id));
    local->flags = guest_load_u16(guest + offsetof(struct vring_packed_desc, flags));
}

#endif
