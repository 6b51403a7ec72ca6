#ifndef KESTREL_TESTS_UNIT_KVM_STATS_FILE_H
#define KESTREL_TESTS_UNIT_KVM_STATS_FILE_H

/*
 * Builds a KVM binary stats file in memory, laid out as the kernel lays it
 * out (header, id string, descriptors, data block), for the parser's tests
 * and the fuzzer's seeds.
 */

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { KVM_STATS_FILE_NAME_SIZE = 48, KVM_STATS_FILE_ID_SIZE = 48, KVM_STATS_FILE_MAX = 8192 };

struct kvm_stats_file_entry {
    const char *name;
    uint32_t flags;
    uint16_t size;
    uint32_t offset;
    uint64_t value;
};

/* Returns the file's length; `data_offset` is where its data block begins. */
static inline size_t kvm_stats_file_build(uint8_t *file, const struct kvm_stats_file_entry *entries, unsigned count,
                                          uint32_t *data_offset)
{
    memset(file, 0, KVM_STATS_FILE_MAX);
    const size_t descriptor_size = sizeof(struct kvm_stats_desc) + KVM_STATS_FILE_NAME_SIZE;
    struct kvm_stats_header header = {
        .name_size = KVM_STATS_FILE_NAME_SIZE,
        .num_desc = count,
        .id_offset = sizeof(header),
        .desc_offset = sizeof(header) + KVM_STATS_FILE_ID_SIZE,
    };
    header.data_offset = header.desc_offset + (uint32_t)(count * descriptor_size);
    memcpy(file, &header, sizeof(header));
    memcpy(file + header.id_offset, "kvm-1234", 8);
    size_t end = header.data_offset;
    for (unsigned i = 0; i < count; i++) {
        uint8_t *raw = file + header.desc_offset + i * descriptor_size;
        struct kvm_stats_desc descriptor = {
            .flags = entries[i].flags, .size = entries[i].size, .offset = entries[i].offset};
        memcpy(raw, &descriptor, sizeof(descriptor));
        strncpy((char *)raw + sizeof(descriptor), entries[i].name, KVM_STATS_FILE_NAME_SIZE);
        size_t value_end = header.data_offset + entries[i].offset + 8;
        if (value_end <= KVM_STATS_FILE_MAX) {
            memcpy(file + header.data_offset + entries[i].offset, &entries[i].value, 8);
            end = value_end > end ? value_end : end;
        }
    }
    *data_offset = header.data_offset;
    return end;
}

#endif
