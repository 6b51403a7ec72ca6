#ifndef KESTREL_KVM_KVM_BINARY_STATS_H
#define KESTREL_KVM_KVM_BINARY_STATS_H

/*
 * KVM's binary statistics (KVM_GET_STATS_FD on a VM or vCPU fd; the KVM API
 * documentation, "KVM_GET_STATS_FD"). The file holds a header, an id string,
 * descriptors (name, type, unit, size, offset of each statistic) and a data
 * block of u64 values. The schema is read once; each snapshot preads only the
 * data block, which the kernel fills at that moment, so any thread may read
 * while the vCPU runs.
 *
 * The file is the kernel's, but kestrel trusts no layout it did not check:
 * sizes, counts and offsets are bounded, names must be [a-z0-9_]+ (they become
 * JSON keys and Prometheus metric names), and only scalar statistics
 * (cumulative, instant, peak) with one u64 are kept; histograms are skipped.
 */

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum {
    KVM_BINARY_STATS_NAME_MAX = 64,     /* bytes of a kept name, its NUL included */
    KVM_BINARY_STATS_MAX_FIELDS = 256,  /* scalars kept; more are ignored */
    KVM_BINARY_STATS_MAX_DESCRIPTORS = 4096,
    KVM_BINARY_STATS_MAX_SCHEMA = 1 << 20, /* bytes of header and descriptors kestrel will read */
    KVM_BINARY_STATS_MAX_DATA = 1 << 16,   /* bytes of data block a kept statistic may reach into */
};

enum kvm_binary_stats_kind {
    KVM_BINARY_STATS_COUNTER, /* KVM_STATS_TYPE_CUMULATIVE: only grows */
    KVM_BINARY_STATS_GAUGE,   /* KVM_STATS_TYPE_INSTANT or _PEAK */
};

struct kvm_binary_stats_field {
    char name[KVM_BINARY_STATS_NAME_MAX];
    enum kvm_binary_stats_kind kind;
    uint32_t unit;   /* KVM_STATS_UNIT_* (already shifted) */
    uint32_t offset; /* bytes into the data block, a multiple of 8 */
};

struct kvm_binary_stats_schema {
    uint32_t data_offset;    /* of the data block in the file */
    uint32_t data_size;      /* bytes of it the kept fields need */
    unsigned field_count;
    struct kvm_binary_stats_field fields[KVM_BINARY_STATS_MAX_FIELDS];
};

/*
 * Parses the first `length` bytes of a stats file (from offset 0 through the
 * end of the descriptor block). -1 with a reason for a malformed header or
 * descriptor block.
 */
int kvm_binary_stats_parse(const uint8_t *file, size_t length, struct kvm_binary_stats_schema *schema,
                           struct error *error);

/* Bytes of the file kvm_binary_stats_parse needs, from the header alone; 0 when the header is malformed. */
size_t kvm_binary_stats_schema_length(const uint8_t *header, size_t length);

struct kvm_binary_stats {
    int fd;
    struct kvm_binary_stats_schema schema;
};

/*
 * KVM_GET_STATS_FD on `object_fd` (a VM or vCPU fd) and reads its schema.
 * 0 on success; -1 when the host has no binary statistics (errno ENOTTY or
 * EINVAL: the caller falls back to its own counts) or the file is malformed
 * (error set; errno EBADMSG).
 */
int kvm_binary_stats_open(struct kvm_binary_stats *stats, int object_fd, struct error *error);
/* The same from an already open stats file descriptor (taken over: closed by kvm_binary_stats_close). */
int kvm_binary_stats_open_fd(struct kvm_binary_stats *stats, int stats_fd, struct error *error);
void kvm_binary_stats_close(struct kvm_binary_stats *stats);

/*
 * One snapshot: values[i] for schema.fields[i] (i < field_count). Safe from
 * any thread (one pread into `scratch` of schema.data_size bytes). -1 with
 * errno on a failed or short read.
 */
int kvm_binary_stats_read(const struct kvm_binary_stats *stats, uint64_t *values, uint8_t *scratch);

#endif
