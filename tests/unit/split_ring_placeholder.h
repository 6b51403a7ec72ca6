#ifndef KESTREL_TESTS_SPLIT_RING_PLACEHOLDER_H
#define KESTREL_TESTS_SPLIT_RING_PLACEHOLDER_H

/*
 * virtqueue.c dispatches to both layouts, so a program using it needs the
 * split ring's symbols too. The split ring lands on another branch; until it
 * is merged, the packed-ring tests link against these weak definitions. Being
 * weak and already defined, they keep the linker from pulling the real
 * split_ring.o out of the library, which is fine: the packed tests never use
 * the split layout (each one aborts if called). Delete this header and its
 * includes once split_ring.c is on the branch.
 */

#include <stdlib.h>

#include "virtio/virtqueue.h"

#define SPLIT_RING_PLACEHOLDER __attribute__((weak))

SPLIT_RING_PLACEHOLDER int split_ring_enable(struct virtq *queue) { (void)queue; abort(); }
SPLIT_RING_PLACEHOLDER int split_ring_pop(struct virtq *queue, struct virtq_request *request)
{
    (void)queue;
    (void)request;
    abort();
}
SPLIT_RING_PLACEHOLDER int split_ring_push(struct virtq *queue, const struct virtq_request *request, uint32_t written)
{
    (void)queue;
    (void)request;
    (void)written;
    abort();
}
SPLIT_RING_PLACEHOLDER bool split_ring_should_notify(struct virtq *queue) { (void)queue; abort(); }
SPLIT_RING_PLACEHOLDER void split_ring_disable_kicks(struct virtq *queue) { (void)queue; abort(); }
SPLIT_RING_PLACEHOLDER bool split_ring_enable_kicks(struct virtq *queue) { (void)queue; abort(); }

#endif
