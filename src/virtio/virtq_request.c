#include "virtio/virtq_request.h"

size_t virtq_request_read(const struct virtq_request *request, uint64_t offset, void *destination, size_t len)
{
    return iovec_copy_from(virtq_request_readable(request), request->readable_count, offset, destination, len);
}

size_t virtq_request_write(const struct virtq_request *request, uint64_t offset, const void *source, size_t len)
{
    return iovec_copy_to(virtq_request_writable(request), request->writable_count, offset, source, len);
}
