#ifndef KESTREL_TESTS_UNIT_KVM_TEST_GUEST_H
#define KESTREL_TESTS_UNIT_KVM_TEST_GUEST_H

/* What the tests against the real /dev/kvm share: the skip rule and running a tiny guest to its end. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "kvm/kvm_system.h"
#include "kvm/kvm_vcpu.h"
#include "vcpu_loop.h"

/*
 * True when /dev/kvm cannot be opened; then it has printed one TAP
 * "ok ... # SKIP" line (cmocka's own skip prints "not ok ... # SKIP", which
 * counts as failed).
 */
static inline bool kvm_test_unavailable(const char *what)
{
    struct kvm_system probe;
    struct error error;
    if (kvm_system_open(&probe, &error) < 0) {
        printf("ok - %s # SKIP no-kvm: %s\n", what, error.message);
        return true;
    }
    kvm_system_close(&probe);
    return false;
}

/* Runs the loop's vCPU until *done; KVM may split string I/O into one exit per byte (PVM), so bounded. */
static inline void kvm_test_run_until(struct vcpu_loop *loop, const bool *done)
{
    for (unsigned exits = 0; exits < 100 && !*done; exits++) {
        if (kvm_vcpu_run(loop->vcpu) < 0) {
            assert_int_equal(errno, EINTR);
            continue;
        }
        if (!vcpu_loop_handle_exit(loop))
            fail_msg("the vCPU stopped: exit reason %u", loop->vcpu->run->exit_reason);
    }
}

#endif
