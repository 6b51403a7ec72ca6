#ifndef KESTREL_TESTS_UNIT_MSIX_RECORDER_H
#define KESTREL_TESTS_UNIT_MSIX_RECORDER_H

/*
 * What a device fixture without KVM puts where KVM's irqfds and ioeventfds
 * would be: MSI-X messages counted per vector (the device threads send them,
 * the test thread reads them, so under a lock), and ioeventfd registrations
 * that succeed and do nothing (kicks then take the transport's MMIO path).
 */

#include <pthread.h>
#include <unistd.h>

#include "pci/msix.h"
#include "pci/pci_ioeventfd.h"

enum { MSIX_RECORDER_VECTORS = 16 };

struct msix_recorder {
    pthread_mutex_t lock;
    unsigned deliveries[MSIX_RECORDER_VECTORS]; /* guarded by lock */
};

static inline void msix_recorder_init(struct msix_recorder *recorder)
{
    pthread_mutex_init(&recorder->lock, NULL);
    for (unsigned i = 0; i < MSIX_RECORDER_VECTORS; i++)
        recorder->deliveries[i] = 0;
}

static inline void msix_recorder_destroy(struct msix_recorder *recorder)
{
    pthread_mutex_destroy(&recorder->lock);
}

static inline void msix_recorder_count(struct msix_recorder *recorder, unsigned vector)
{
    pthread_mutex_lock(&recorder->lock);
    if (vector < MSIX_RECORDER_VECTORS)
        recorder->deliveries[vector]++;
    pthread_mutex_unlock(&recorder->lock);
}

static inline unsigned msix_recorder_deliveries(struct msix_recorder *recorder, unsigned vector)
{
    pthread_mutex_lock(&recorder->lock);
    unsigned count = vector < MSIX_RECORDER_VECTORS ? recorder->deliveries[vector] : 0;
    pthread_mutex_unlock(&recorder->lock);
    return count;
}

/*
 * The device publishes used entries (and status bits) before it raises the
 * interrupt that announces them, so a test that saw the first waits, bounded
 * (2 s), for the second. Returns the count seen.
 */
static inline unsigned msix_recorder_wait(struct msix_recorder *recorder, unsigned vector, unsigned minimum)
{
    unsigned count = msix_recorder_deliveries(recorder, vector);
    for (unsigned waited = 0; waited < 2000 && count < minimum; waited++) {
        usleep(1000);
        count = msix_recorder_deliveries(recorder, vector);
    }
    return count;
}

static inline int msix_recorder_ioeventfd_assign(void *opaque, int event_fd, const struct kvm_ioeventfd_match *match)
{
    (void)opaque, (void)event_fd, (void)match;
    return 0;
}

static inline void msix_recorder_vector_configure(void *opaque, unsigned vector, uint64_t address, uint32_t data)
{
    (void)opaque, (void)vector, (void)address, (void)data;
}

static const struct pci_ioeventfd_ops msix_recorder_ioeventfd_ops = {
    .assign = msix_recorder_ioeventfd_assign,
    .deassign = msix_recorder_ioeventfd_assign,
};

#endif
