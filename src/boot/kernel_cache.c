/* Cache entries: lookup with full verification, and atomic stores. */
#include "boot/kernel_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/checked_math.h"

#define ENTRY_MAGIC "kestrel-vmlinux"
#define ENTRY_VERSION 1u
/* The content starts on a page boundary, so the kernel ELF is page-aligned in the mapping. */
#define ENTRY_HEADER_SIZE 4096u

struct entry_header {
    char magic[16];
    uint32_t version;
    uint32_t header_size;
    uint8_t source_hash[KERNEL_CACHE_HASH_SIZE];
    uint64_t content_size;
    uint8_t content_hash[KERNEL_CACHE_HASH_SIZE];
};

#ifdef KESTREL_TEST_SEAMS
size_t kernel_cache_test_fail_write_after;
bool kernel_cache_test_named_temporary;
#endif

void kernel_cache_hash(const uint8_t *data, size_t size, uint8_t hash[KERNEL_CACHE_HASH_SIZE])
{
    struct sha256_ctx context;
    sha256_init(&context);
    sha256_update(&context, size, data);
    sha256_digest(&context, KERNEL_CACHE_HASH_SIZE, hash);
}

void kernel_cache_entry_name(const uint8_t key[KERNEL_CACHE_HASH_SIZE], char name[KERNEL_CACHE_NAME_MAX])
{
    for (unsigned i = 0; i < KERNEL_CACHE_HASH_SIZE; i++)
        snprintf(name + 2 * i, 3, "%02x", key[i]);
    snprintf(name + 2 * KERNEL_CACHE_HASH_SIZE, KERNEL_CACHE_NAME_MAX - 2 * KERNEL_CACHE_HASH_SIZE, ".vmlinux");
}

static int entry_corrupt(const struct kernel_cache *cache, const char *name, const char *why, struct error *error)
{
    /* The directory passed its checks, so the file is the user's own: removing it lets the next run rebuild it. */
    bool removed = unlinkat(cache->directory_fd, name, 0) == 0;
    return error_set(error, EXIT_STATUS_FAILURE, "cache entry %s/%s %s%s", cache->directory, name, why,
                     removed ? " (removed)" : "");
}

static int check_entry_file(const struct kernel_cache *cache, const char *name, int fd, uint64_t max_size,
                            struct stat *status, struct error *error)
{
    if (fstat(fd, status) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot stat cache entry %s/%s: %s", cache->directory, name,
                         strerror(errno));
    if (!S_ISREG(status->st_mode))
        return error_set(error, EXIT_STATUS_FAILURE, "cache entry %s/%s is not a regular file", cache->directory,
                         name);
    if (status->st_uid != geteuid())
        return error_set(error, EXIT_STATUS_FAILURE, "cache entry %s/%s belongs to uid %u, not to uid %u",
                         cache->directory, name, (unsigned)status->st_uid, (unsigned)geteuid());
    if (status->st_mode & (S_IWGRP | S_IWOTH))
        return error_set(error, EXIT_STATUS_FAILURE, "cache entry %s/%s is writable by group or others",
                         cache->directory, name);
    uint64_t limit;
    if (!checked_add_u64(max_size, ENTRY_HEADER_SIZE, &limit))
        limit = UINT64_MAX;
    if (status->st_size < (off_t)ENTRY_HEADER_SIZE || (uint64_t)status->st_size > limit)
        return entry_corrupt(cache, name, "has an impossible size", error);
    return 0;
}

int kernel_cache_lookup(const struct kernel_cache *cache, const uint8_t key[KERNEL_CACHE_HASH_SIZE],
                        uint64_t max_size, struct kernel_cache_entry *entry, struct error *error)
{
    memset(entry, 0, sizeof(*entry));
    char name[KERNEL_CACHE_NAME_MAX];
    kernel_cache_entry_name(key, name);
    int fd = openat(cache->directory_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot open cache entry %s/%s: %s", cache->directory, name,
                         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat status;
    if (check_entry_file(cache, name, fd, max_size, &status, error) < 0) {
        close(fd);
        return -1;
    }
    size_t size = (size_t)status.st_size;
    /* MAP_POPULATE: the hash below reads every page anyway, and one call faults them in cheaper. */
    void *mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (mapping == MAP_FAILED)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot map cache entry %s/%s: %s", cache->directory, name,
                         strerror(errno));
    struct entry_header header;
    memcpy(&header, mapping, sizeof(header));
    const char *why = NULL;
    uint8_t hash[KERNEL_CACHE_HASH_SIZE];
    if (memcmp(header.magic, ENTRY_MAGIC, sizeof(ENTRY_MAGIC)) != 0 || header.version != ENTRY_VERSION ||
        header.header_size != ENTRY_HEADER_SIZE)
        why = "has no valid header";
    else if (memcmp(header.source_hash, key, KERNEL_CACHE_HASH_SIZE) != 0)
        why = "is for another bzImage";
    else if (header.content_size != size - ENTRY_HEADER_SIZE)
        why = "is truncated or has trailing bytes";
    if (!why) {
        kernel_cache_hash((const uint8_t *)mapping + ENTRY_HEADER_SIZE, size - ENTRY_HEADER_SIZE, hash);
        if (memcmp(hash, header.content_hash, KERNEL_CACHE_HASH_SIZE) != 0)
            why = "does not match its checksum";
    }
    if (why) {
        munmap(mapping, size);
        return entry_corrupt(cache, name, why, error);
    }
    entry->mapping = mapping;
    entry->mapping_size = size;
    entry->content = (const uint8_t *)mapping + ENTRY_HEADER_SIZE;
    entry->size = size - ENTRY_HEADER_SIZE;
    return 1;
}

void kernel_cache_entry_release(struct kernel_cache_entry *entry)
{
    if (entry->mapping)
        munmap(entry->mapping, entry->mapping_size);
    memset(entry, 0, sizeof(*entry));
}

static int write_all(int fd, const uint8_t *data, size_t size, off_t offset)
{
    size_t done = 0;
    while (done < size) {
        size_t chunk = size - done;
#ifdef KESTREL_TEST_SEAMS
        if (kernel_cache_test_fail_write_after) {
            if ((size_t)offset + done >= kernel_cache_test_fail_write_after) {
                errno = ENOSPC;
                return -1;
            }
            if (chunk > kernel_cache_test_fail_write_after - ((size_t)offset + done))
                chunk = kernel_cache_test_fail_write_after - ((size_t)offset + done);
        }
#endif
        ssize_t wrote = pwrite(fd, data + done, chunk, offset + (off_t)done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            if (wrote == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)wrote;
    }
    return 0;
}

/*
 * The temporary file: an unnamed O_TMPFILE where the file system has them, so
 * a crash while writing leaves nothing behind; else a name only this process
 * uses (O_EXCL makes sure). `anonymous` says which.
 */
static int create_temporary(const struct kernel_cache *cache, const char *temporary, bool *anonymous)
{
    int fd = -1;
#ifdef KESTREL_TEST_SEAMS
    if (!kernel_cache_test_named_temporary)
#endif
        fd = openat(cache->directory_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    *anonymous = fd >= 0;
    if (fd < 0)
        fd = openat(cache->directory_fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return fd;
}

/* Gives an O_TMPFILE its temporary name (linkat through /proc needs no capability, unlike AT_EMPTY_PATH). */
static int name_temporary(const struct kernel_cache *cache, int fd, const char *temporary)
{
    char path[32];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, path, cache->directory_fd, temporary, AT_SYMLINK_FOLLOW);
}

static int write_entry(int fd, const uint8_t key[KERNEL_CACHE_HASH_SIZE], const uint8_t *content, size_t size)
{
    uint8_t header_page[ENTRY_HEADER_SIZE];
    struct entry_header header = {.version = ENTRY_VERSION, .header_size = ENTRY_HEADER_SIZE, .content_size = size};
    memcpy(header.magic, ENTRY_MAGIC, sizeof(ENTRY_MAGIC));
    memcpy(header.source_hash, key, KERNEL_CACHE_HASH_SIZE);
    kernel_cache_hash(content, size, header.content_hash);
    memset(header_page, 0, sizeof(header_page));
    memcpy(header_page, &header, sizeof(header));
    /* Synced before it gets its name: after a crash the name points at a whole entry or at nothing. */
    if (write_all(fd, header_page, sizeof(header_page), 0) < 0 ||
        write_all(fd, content, size, ENTRY_HEADER_SIZE) < 0 || fdatasync(fd) < 0)
        return -1;
    return 0;
}

int kernel_cache_store(const struct kernel_cache *cache, const uint8_t key[KERNEL_CACHE_HASH_SIZE],
                       const uint8_t *content, size_t size, struct error *error)
{
    char name[KERNEL_CACHE_NAME_MAX];
    kernel_cache_entry_name(key, name);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char temporary[KERNEL_CACHE_NAME_MAX + 48];
    snprintf(temporary, sizeof(temporary), ".%s.%ld.%lx.tmp", name, (long)getpid(), (unsigned long)now.tv_nsec);
    bool anonymous;
    int fd = create_temporary(cache, temporary, &anonymous);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot write to cache directory %s: %s", cache->directory,
                         strerror(errno));
    int failed = write_entry(fd, key, content, size) < 0 || (anonymous && name_temporary(cache, fd, temporary) < 0);
    int saved = errno;
    close(fd);
    if (failed) {
        unlinkat(cache->directory_fd, temporary, 0);
        return error_set(error, EXIT_STATUS_FAILURE, "cannot write cache entry in %s: %s", cache->directory,
                         strerror(saved));
    }
    if (renameat(cache->directory_fd, temporary, cache->directory_fd, name) < 0) {
        saved = errno;
        unlinkat(cache->directory_fd, temporary, 0);
        return error_set(error, EXIT_STATUS_FAILURE, "cannot rename cache entry into %s: %s", cache->directory,
                         strerror(saved));
    }
    return 0;
}
