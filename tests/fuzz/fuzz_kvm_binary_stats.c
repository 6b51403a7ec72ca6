/*
 * Feeds arbitrary bytes, as a KVM binary stats file, to the schema parser:
 * no input may crash or read past the buffer, and every statistic it keeps
 * has a valid name and lies inside the data block it will pread.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm_binary_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kvm_binary_stats_schema schema;
    struct error error = {0};
    size_t needed = kvm_binary_stats_schema_length(data, size);
    if (kvm_binary_stats_parse(data, size, &schema, &error) != 0)
        return 0;
    if (needed == 0 || needed > size || schema.field_count > KVM_BINARY_STATS_MAX_FIELDS ||
        schema.data_size > KVM_BINARY_STATS_MAX_DATA)
        abort();
    for (unsigned i = 0; i < schema.field_count; i++) {
        const struct kvm_binary_stats_field *field = &schema.fields[i];
        size_t length = strnlen(field->name, sizeof(field->name));
        if (length == 0 || length == sizeof(field->name) || strspn(field->name, "abcdefghijklmnopqrstuvwxyz0123456789_") != length ||
            field->offset % 8 != 0 || field->offset + 8 > schema.data_size)
            abort();
    }
    return 0;
}
