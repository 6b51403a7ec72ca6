#include "virtio/chain.h"

void chain_begin(struct chain_builder *builder, struct virtq_request *request, const struct guest_memory *memory,
                 uint32_t descriptor_limit)
{
    builder->request = request;
    builder->memory = memory;
    builder->descriptors_seen = 0;
    builder->descriptor_limit = descriptor_limit;
    builder->writable_seen = false;
    request->readable_count = 0;
    request->writable_count = 0;
    request->readable_bytes = 0;
    request->writable_bytes = 0;
}

bool chain_count_descriptor(struct chain_builder *builder, const char **reason)
{
    if (builder->descriptors_seen >= builder->descriptor_limit) {
        *reason = "descriptor chain longer than the queue size (or a loop)";
        return false;
    }
    builder->descriptors_seen++;
    return true;
}

const char *chain_add_buffer(struct chain_builder *builder, uint64_t gpa, uint32_t len, bool writable)
{
    struct virtq_request *request = builder->request;
    /* Segments are not counted for zero-length buffers, so the order is tracked per descriptor. */
    if (!writable && builder->writable_seen)
        return "device-readable buffer after a device-writable one";
    if (writable)
        builder->writable_seen = true;
    void *host = gpa_to_hva(builder->memory, gpa, len);
    if (!host)
        return "buffer outside guest RAM";
    uint64_t total = request->readable_bytes + request->writable_bytes + len;
    if (total > UINT32_MAX)
        return "descriptor chain longer than 4 GiB in total";
    /* A zero-length buffer carries nothing; it still counted against the descriptor limit. */
    if (len == 0)
        return NULL;
    uint32_t index = request->readable_count + request->writable_count;
    if (index >= request->segment_capacity)
        return "more segments than the device accepts";
    request->segments[index].iov_base = host;
    request->segments[index].iov_len = len;
    if (writable) {
        request->writable_count++;
        request->writable_bytes += len;
    } else {
        request->readable_count++;
        request->readable_bytes += len;
    }
    return NULL;
}
