#include "boot/kernel_unpack.h"

#include <stdio.h>
#include <string.h>

#include "boot/elf_pvh.h"

/* The payload must be what elf_pvh_parse() will boot: anything else is not worth caching. */
static int check_vmlinux(const uint8_t *data, size_t size, struct error *error)
{
    if (!elf_detect(data, size))
        return error_set(error, EXIT_STATUS_USAGE, "the decompressed payload is not an ELF vmlinux");
    struct elf_pvh_info info;
    struct error parse_error;
    if (elf_pvh_parse(data, size, &info, &parse_error) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "the decompressed vmlinux cannot boot through PVH: %.300s",
                         parse_error.message);
    return 0;
}

static int open_cache(const struct kernel_unpack_options *options, struct kernel_cache *cache, struct error *error)
{
    if (options->cache_directory)
        return kernel_cache_open_path(cache, options->cache_directory, error);
    return kernel_cache_open(cache, error);
}

static int from_payload(const uint8_t *bzimage, size_t size, struct kernel_unpacked *unpacked, struct error *error)
{
    struct kernel_payload payload;
    if (kernel_payload_locate(bzimage, size, &payload, error) < 0 ||
        kernel_payload_decompress(&payload, KERNEL_UNPACK_MAX_SIZE, &unpacked->decompressed, error) < 0)
        return -1;
    if (check_vmlinux(unpacked->decompressed.data, unpacked->decompressed.size, error) < 0) {
        kernel_decompressed_release(&unpacked->decompressed);
        return -1;
    }
    unpacked->data = unpacked->decompressed.data;
    unpacked->size = unpacked->decompressed.size;
    return 0;
}

/*
 * The cache's answer for `key`: 1 with the vmlinux mapped, 0 for a miss, -1 with
 * `error` set. An empty entry records a bzImage whose payload cannot boot
 * through PVH: under AUTO that is answered without decompressing again
 * (`known_without_pvh`); under PVH it counts as a miss, so the user gets the
 * real reason.
 */
static int from_cache(struct kernel_cache *cache, const uint8_t key[KERNEL_CACHE_HASH_SIZE],
                      const struct kernel_unpack_options *options, struct kernel_unpacked *unpacked,
                      struct error *error)
{
    int found = kernel_cache_lookup(cache, key, KERNEL_UNPACK_MAX_SIZE, &unpacked->cached, error);
    if (found <= 0)
        return found;
    if (unpacked->cached.size == 0) {
        kernel_cache_entry_release(&unpacked->cached);
        if (options->allow_uncached)
            return 0;
        unpacked->known_without_pvh = true;
        return error_set(error, EXIT_STATUS_USAGE, "its payload cannot boot through PVH (remembered in the cache)");
    }
    /* Stored entries were checked before they were written; the loader parses the ELF again anyway. */
    unpacked->data = unpacked->cached.content;
    unpacked->size = unpacked->cached.size;
    unpacked->source = KERNEL_UNPACK_FROM_CACHE;
    return 1;
}

int kernel_unpack(const uint8_t *bzimage, size_t size, const struct kernel_unpack_options *options,
                  struct kernel_unpacked *unpacked, struct error *error)
{
    memset(unpacked, 0, sizeof(*unpacked));
    struct kernel_cache cache;
    struct error cache_error = {0};
    bool have_cache = open_cache(options, &cache, &cache_error) == 0;
    if (!have_cache && !options->allow_uncached)
        return error_set(error, EXIT_STATUS_FAILURE, "%s", cache_error.message);

    uint8_t key[KERNEL_CACHE_HASH_SIZE];
    int result = 0;
    if (have_cache) {
        kernel_cache_hash(bzimage, size, key);
        int found = from_cache(&cache, key, options, unpacked, error);
        if (found != 0) {
            kernel_cache_close(&cache);
            return found < 0 ? -1 : 0;
        }
    }

    if (from_payload(bzimage, size, unpacked, error) < 0) {
        /* A payload that cannot boot through PVH stays so: remember it, so the next boot skips the decompression. */
        struct error ignored;
        if (have_cache && error->exit_status == EXIT_STATUS_USAGE)
            (void)kernel_cache_store(&cache, key, (const uint8_t *)"", 0, &ignored);
        result = -1;
    } else if (!have_cache) {
        unpacked->source = KERNEL_UNPACK_DECOMPRESSED_UNCACHED;
        snprintf(unpacked->cache_problem, sizeof(unpacked->cache_problem), "%s", cache_error.message);
    } else if (kernel_cache_store(&cache, key, unpacked->data, unpacked->size, &cache_error) < 0) {
        unpacked->source = KERNEL_UNPACK_DECOMPRESSED_UNCACHED;
        snprintf(unpacked->cache_problem, sizeof(unpacked->cache_problem), "%s", cache_error.message);
    } else {
        unpacked->source = KERNEL_UNPACK_DECOMPRESSED;
    }
    if (have_cache)
        kernel_cache_close(&cache);
    return result;
}

void kernel_unpacked_release(struct kernel_unpacked *unpacked)
{
    kernel_cache_entry_release(&unpacked->cached);
    kernel_decompressed_release(&unpacked->decompressed);
    unpacked->data = NULL;
    unpacked->size = 0;
}
