#ifndef KESTREL_ARCH_X86_REGS_DUMP_H
#define KESTREL_ARCH_X86_REGS_DUMP_H

#include <stddef.h>

#include <linux/kvm.h>

/*
 * A human-readable dump of a vCPU's registers for fatal exits (triple fault,
 * failed entry, internal error). Formats into `buffer` (NUL-terminated,
 * several lines) so tests can read it.
 */
void regs_dump_format(const struct kvm_regs *regs, const struct kvm_sregs *sregs, char *buffer, size_t size);

/* Reads the vCPU's registers and writes the dump to stderr. */
void regs_dump_vcpu(int vcpu_fd, unsigned vcpu_index);

#endif
