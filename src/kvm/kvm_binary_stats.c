#include "kvm/kvm_binary_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/checked_math.h"

enum {
    HEADER_SIZE = sizeof(struct kvm_stats_header),
    DESCRIPTOR_FIXED_SIZE = offsetof(struct kvm_stats_desc, name),
};

static uint32_t load32(const uint8_t *bytes)
{
    uint32_t value;
    memcpy(&value, bytes, sizeof(value));
    return value;
}

static uint16_t load16(const uint8_t *bytes)
{
    uint16_t value;
    memcpy(&value, bytes, sizeof(value));
    return value;
}

/* The descriptor block's size, or false when the header is impossible. */
static bool descriptor_block(const struct kvm_stats_header *header, uint64_t *descriptor_size, uint64_t *end)
{
    if (header->name_size == 0 || header->name_size > KVM_BINARY_STATS_MAX_SCHEMA ||
        header->num_desc > KVM_BINARY_STATS_MAX_DESCRIPTORS)
        return false;
    *descriptor_size = (uint64_t)DESCRIPTOR_FIXED_SIZE + header->name_size;
    uint64_t block;
    return checked_mul_u64(*descriptor_size, header->num_desc, &block) &&
           checked_add_u64(header->desc_offset, block, end) && *end <= KVM_BINARY_STATS_MAX_SCHEMA &&
           *end >= HEADER_SIZE;
}

size_t kvm_binary_stats_schema_length(const uint8_t *bytes, size_t length)
{
    struct kvm_stats_header header;
    uint64_t descriptor_size, end;
    if (length < HEADER_SIZE)
        return 0;
    memcpy(&header, bytes, HEADER_SIZE);
    return descriptor_block(&header, &descriptor_size, &end) ? (size_t)end : 0;
}

/* Copies a NUL-terminated [a-z0-9_]+ name that fits; false otherwise. */
static bool copy_name(const uint8_t *raw, uint32_t raw_size, char *name)
{
    for (uint32_t i = 0; i < raw_size && i < KVM_BINARY_STATS_NAME_MAX; i++) {
        uint8_t c = raw[i];
        if (c == 0) {
            name[i] = 0;
            return i > 0;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
        name[i] = (char)c;
    }
    return false;
}

static bool name_taken(const struct kvm_binary_stats_schema *schema, const char *name)
{
    for (unsigned i = 0; i < schema->field_count; i++)
        if (strcmp(schema->fields[i].name, name) == 0)
            return true;
    return false;
}

/* Keeps the descriptor at `raw` when it is a usable scalar. */
static void keep_descriptor(struct kvm_binary_stats_schema *schema, const uint8_t *raw, uint32_t name_size)
{
    uint32_t flags = load32(raw);
    uint16_t size = load16(raw + offsetof(struct kvm_stats_desc, size));
    uint32_t offset = load32(raw + offsetof(struct kvm_stats_desc, offset));
    uint32_t type = flags & KVM_STATS_TYPE_MASK;
    if (schema->field_count >= KVM_BINARY_STATS_MAX_FIELDS || size != 1 || offset % 8 != 0 ||
        offset > KVM_BINARY_STATS_MAX_DATA - 8 ||
        (type != KVM_STATS_TYPE_CUMULATIVE && type != KVM_STATS_TYPE_INSTANT && type != KVM_STATS_TYPE_PEAK))
        return;
    struct kvm_binary_stats_field *field = &schema->fields[schema->field_count];
    if (!copy_name(raw + DESCRIPTOR_FIXED_SIZE, name_size, field->name) || name_taken(schema, field->name))
        return;
    field->kind = type == KVM_STATS_TYPE_CUMULATIVE ? KVM_BINARY_STATS_COUNTER : KVM_BINARY_STATS_GAUGE;
    field->unit = flags & KVM_STATS_UNIT_MASK;
    field->offset = offset;
    schema->field_count++;
    if (offset + 8 > schema->data_size)
        schema->data_size = offset + 8;
}

int kvm_binary_stats_parse(const uint8_t *file, size_t length, struct kvm_binary_stats_schema *schema,
                           struct error *error)
{
    memset(schema, 0, sizeof(*schema));
    struct kvm_stats_header header;
    uint64_t descriptor_size, end;
    if (length < HEADER_SIZE)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM stats: header truncated (%zu bytes)", length);
    memcpy(&header, file, HEADER_SIZE);
    if (!descriptor_block(&header, &descriptor_size, &end))
        return error_set(error, EXIT_STATUS_FAILURE,
                         "KVM stats: impossible header (name size %u, %u descriptors at %u)", header.name_size,
                         header.num_desc, header.desc_offset);
    if (end > length)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM stats: descriptors end at %llu, past %zu bytes read",
                         (unsigned long long)end, length);
    uint64_t data_end;
    if (!checked_add_u64(header.data_offset, KVM_BINARY_STATS_MAX_DATA, &data_end) || data_end > UINT32_MAX)
        return error_set(error, EXIT_STATUS_FAILURE, "KVM stats: data block at %u out of range", header.data_offset);
    schema->data_offset = header.data_offset;
    for (uint32_t i = 0; i < header.num_desc; i++)
        keep_descriptor(schema, file + header.desc_offset + (uint64_t)i * descriptor_size, header.name_size);
    return 0;
}

int kvm_binary_stats_open_fd(struct kvm_binary_stats *stats, int stats_fd, struct error *error)
{
    stats->fd = stats_fd;
    uint8_t header[HEADER_SIZE];
    ssize_t got = pread(stats_fd, header, sizeof(header), 0);
    size_t length = got == (ssize_t)sizeof(header) ? kvm_binary_stats_schema_length(header, sizeof(header)) : 0;
    uint8_t *file = length ? malloc(length) : NULL;
    int result = -1;
    if (!file)
        error_set(error, EXIT_STATUS_FAILURE, "KVM stats: unreadable or impossible header");
    else if (pread(stats_fd, file, length, 0) != (ssize_t)length)
        error_set(error, EXIT_STATUS_FAILURE, "KVM stats: descriptor block truncated");
    else
        result = kvm_binary_stats_parse(file, length, &stats->schema, error);
    free(file);
    if (result < 0) {
        kvm_binary_stats_close(stats);
        errno = EBADMSG;
    }
    return result;
}

int kvm_binary_stats_open(struct kvm_binary_stats *stats, int object_fd, struct error *error)
{
    memset(stats, 0, sizeof(*stats));
    stats->fd = -1;
    int stats_fd = ioctl(object_fd, KVM_GET_STATS_FD, 0);
    if (stats_fd < 0) {
        int saved = errno;
        if (saved != ENOTTY && saved != EINVAL)
            error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_STATS_FD: %s", strerror(saved));
        errno = saved;
        return -1;
    }
    return kvm_binary_stats_open_fd(stats, stats_fd, error);
}

void kvm_binary_stats_close(struct kvm_binary_stats *stats)
{
    if (stats->fd >= 0)
        close(stats->fd);
    stats->fd = -1;
    stats->schema.field_count = 0;
}

int kvm_binary_stats_read(const struct kvm_binary_stats *stats, uint64_t *values, uint8_t *scratch)
{
    const struct kvm_binary_stats_schema *schema = &stats->schema;
    if (stats->fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (schema->data_size == 0)
        return 0;
    ssize_t got = pread(stats->fd, scratch, schema->data_size, schema->data_offset);
    if (got != (ssize_t)schema->data_size) {
        if (got >= 0)
            errno = EIO;
        return -1;
    }
    for (unsigned i = 0; i < schema->field_count; i++)
        memcpy(&values[i], scratch + schema->fields[i].offset, sizeof(values[i]));
    return 0;
}
