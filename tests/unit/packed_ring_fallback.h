#ifndef KESTREL_TESTS_PACKED_RING_FALLBACK_H
#define KESTREL_TESTS_PACKED_RING_FALLBACK_H

/*
 * virtqueue.c dispatches to both ring layouts, so anything linking it needs
 * the packed_ring_* symbols. Until src/virtio/packed_ring.c exists on this
 * branch (it is written on another branch), split-only tests get these
 * definitions, which refuse the packed layout. Once packed_ring.c exists this
 * header compiles to nothing. Include it from exactly one file per program.
 */
#if !__has_include("virtio/packed_ring.c")

#include "virtio/virtqueue.h"

int packed_ring_enable(struct virtq *queue)
{
    virtq_mark_broken(queue, "packed layout not built into this test");
    return -1;
}

int packed_ring_pop(struct virtq *queue, struct virtq_request *request)
{
    (void)request;
    return virtq_mark_broken(queue, "packed layout not built into this test");
}

int packed_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written)
{
    (void)queue, (void)request, (void)written;
    return -1;
}

bool packed_ring_should_notify(struct virtq *queue)
{
    (void)queue;
    return false;
}

void packed_ring_disable_kicks(struct virtq *queue)
{
    (void)queue;
}

bool packed_ring_enable_kicks(struct virtq *queue)
{
    (void)queue;
    return false;
}

#endif
#endif
