#ifndef KESTREL_BOOT_KERNEL_CACHE_H
#define KESTREL_BOOT_KERNEL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Decompressed kernels kept across runs, in $XDG_CACHE_HOME/kestrel/ (else
 * ~/.cache/kestrel/), one file per bzImage named by the SHA-256 of the whole
 * bzImage. An entry that boots is code run in the user's guest, so:
 *   - the directory (and the base cache directory) must belong to the
 *     effective user and be writable by no one else; the entry too, and it
 *     must be a regular file (opened with O_NOFOLLOW);
 *   - an entry is a header (magic, the source hash, the content size and the
 *     content's XXH3-128) and the content, checked in full on every use.
 *     The checksum is there for integrity (a torn, truncated or corrupted
 *     file), not for trust: only the user can write the directory and the
 *     entry, and whoever can could as well write a matching SHA-256. So a
 *     fast non-cryptographic checksum does the job (XXH3 checks the 66 MB of
 *     a Debian vmlinux in 7-10 ms natively, where SHA-256 took 50-60 ms with
 *     the SHA instructions and seconds without them). The key stays SHA-256:
 *     there an adversary matters (a crafted bzImage must not collide with
 *     another one's entry);
 *   - entries are written to a temporary file in the directory (O_TMPFILE,
 *     unnamed until written, where the file system has it), synced, then
 *     renamed into place, so a reader sees a whole entry or none.
 * Every failure is reported through `error` (a reason for the caller's
 * one-line fallback message) and changes nothing else.
 */

#define KERNEL_CACHE_HASH_SIZE 32
#define KERNEL_CACHE_NAME_MAX 96
#define KERNEL_CACHE_CHECKSUM_SIZE 16

struct kernel_cache {
    int directory_fd;
    char directory[4096];
};

struct kernel_cache_entry {
    const uint8_t *content; /* inside a read-only private mapping of the entry file */
    size_t size;
    void *mapping;
    size_t mapping_size;
};

/* SHA-256 of `size` bytes: the key of a bzImage's entry. */
void kernel_cache_hash(const uint8_t *data, size_t size, uint8_t hash[KERNEL_CACHE_HASH_SIZE]);

/* XXH3-128 (canonical, big-endian) of `size` bytes: the integrity check of an entry's content. */
void kernel_cache_checksum(const uint8_t *data, size_t size, uint8_t checksum[KERNEL_CACHE_CHECKSUM_SIZE]);

/* Opens (creating when missing) and checks the cache directory named by the environment. */
int kernel_cache_open(struct kernel_cache *cache, struct error *error);

/* The directory kernel_cache_open would use, without creating or checking it. */
int kernel_cache_directory_path(char *path, size_t size, struct error *error);

/* Opens the directory `path` itself (tests, or a caller with its own location), with the same checks. */
int kernel_cache_open_path(struct kernel_cache *cache, const char *path, struct error *error);

void kernel_cache_close(struct kernel_cache *cache);

/* The entry's file name for `key`, for messages. */
void kernel_cache_entry_name(const uint8_t key[KERNEL_CACHE_HASH_SIZE], char name[KERNEL_CACHE_NAME_MAX]);

/*
 * 1: the entry exists and passed every check, mapped in `entry` (its content
 * may be empty: callers store empty entries as markers). 0: no entry.
 * -1: an entry exists but is unsafe or corrupt (`error` says why); a corrupt
 * entry in a safe directory is removed so the next run rebuilds it.
 */
int kernel_cache_lookup(const struct kernel_cache *cache, const uint8_t key[KERNEL_CACHE_HASH_SIZE],
                        uint64_t max_size, struct kernel_cache_entry *entry, struct error *error);

void kernel_cache_entry_release(struct kernel_cache_entry *entry);

/* Writes the entry for `key` atomically; on failure no file is left behind. */
int kernel_cache_store(const struct kernel_cache *cache, const uint8_t key[KERNEL_CACHE_HASH_SIZE],
                       const uint8_t *content, size_t size, struct error *error);

#ifdef KESTREL_TEST_SEAMS
/* Tests: make kernel_cache_store's write fail after this many bytes (0: never). */
extern size_t kernel_cache_test_fail_write_after;
/* Tests: use a named temporary file, as on file systems without O_TMPFILE. */
extern bool kernel_cache_test_named_temporary;
#endif

#endif
