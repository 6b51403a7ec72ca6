/*
 * bench_kernel_cache BZIMAGE ENTRY [RUNS]: the phases of a warm kernel-cache
 * boot, timed one by one (median of RUNS, default 5), so that the cost of each
 * can be compared natively and in the nested test host (where the CPU is
 * emulated and has no SHA instructions):
 *   - read the bzImage (as boot_load does) and hash it with SHA-256 (the key);
 *   - map the entry with MAP_POPULATE (as kernel_cache_lookup does);
 *   - check the content with SHA-256 (the entry format before XXH3) and with
 *     XXH3-128 (kernel_cache_checksum, the current one);
 *   - copy the content into fresh anonymous memory, as elf_pvh_load copies the
 *     segments into guest RAM, with 4 KiB pages and with MADV_HUGEPAGE.
 * ENTRY is a file of $XDG_CACHE_HOME/kestrel/ (its 4 KiB header is skipped).
 * Used by docs/benchmarks.md's kernel-entry section; not part of libkestrel.
 */
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/kernel_cache.h"
#include "boot/kernel_file.h"

#define ENTRY_HEADER_SIZE 4096u
#define MAX_RUNS 50

static double now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof(values[0]), compare_double);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* Keeps the compiler from dropping a hash nobody reads. */
static volatile uint8_t sink;

static double copy_into_fresh_memory(const uint8_t *content, size_t size, int huge)
{
    uint8_t *target = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (target == MAP_FAILED) {
        perror("bench_kernel_cache: mmap");
        exit(1);
    }
    double start = now_ms();
    if (huge)
        madvise(target, size, MADV_HUGEPAGE);
    memcpy(target, content, size);
    double took = now_ms() - start;
    sink ^= target[size / 2];
    munmap(target, size);
    return took;
}

enum { PHASE_READ, PHASE_KEY, PHASE_MAP, PHASE_SHA256, PHASE_XXH3, PHASE_COPY_4K, PHASE_COPY_HUGE, PHASE_COUNT };

static const char *const phase_names[PHASE_COUNT] = {
    "read bzImage", "SHA-256 of bzImage (key)", "map entry (MAP_POPULATE)", "SHA-256 of content (old check)",
    "XXH3-128 of content (new check)", "copy content, 4 KiB pages", "copy content, MADV_HUGEPAGE",
};

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_kernel_cache BZIMAGE ENTRY [RUNS]\n");
        return 2;
    }
    int runs = argc == 4 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench_kernel_cache: RUNS must be 1 to %d\n", MAX_RUNS);
        return 2;
    }
    static double samples[PHASE_COUNT][MAX_RUNS];
    size_t bzimage_size = 0, content_size = 0;
    for (int run = 0; run < runs; run++) {
        struct error error;
        struct kernel_file bzimage;
        double start = now_ms();
        if (kernel_file_read(argv[1], "kernel", KERNEL_FILE_MAX_KERNEL_SIZE, &bzimage, &error) < 0) {
            fprintf(stderr, "bench_kernel_cache: %s\n", error.message);
            return 2;
        }
        samples[PHASE_READ][run] = now_ms() - start;
        uint8_t key[KERNEL_CACHE_HASH_SIZE];
        start = now_ms();
        kernel_cache_hash(bzimage.data, bzimage.size, key);
        samples[PHASE_KEY][run] = now_ms() - start;
        bzimage_size = bzimage.size;
        kernel_file_release(&bzimage);

        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        struct stat status;
        if (fd < 0 || fstat(fd, &status) < 0 || status.st_size <= (off_t)ENTRY_HEADER_SIZE) {
            fprintf(stderr, "bench_kernel_cache: %s is not a cache entry with content\n", argv[2]);
            return 2;
        }
        size_t size = (size_t)status.st_size;
        start = now_ms();
        uint8_t *mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        samples[PHASE_MAP][run] = now_ms() - start;
        close(fd);
        if (mapping == MAP_FAILED) {
            perror("bench_kernel_cache: mmap");
            return 1;
        }
        const uint8_t *content = mapping + ENTRY_HEADER_SIZE;
        content_size = size - ENTRY_HEADER_SIZE;

        uint8_t digest[KERNEL_CACHE_HASH_SIZE];
        struct sha256_ctx context;
        start = now_ms();
        sha256_init(&context);
        sha256_update(&context, content_size, content);
        sha256_digest(&context, sizeof(digest), digest);
        samples[PHASE_SHA256][run] = now_ms() - start;
        sink ^= digest[0];

        uint8_t checksum[KERNEL_CACHE_CHECKSUM_SIZE];
        start = now_ms();
        kernel_cache_checksum(content, content_size, checksum);
        samples[PHASE_XXH3][run] = now_ms() - start;
        sink ^= checksum[0];

        samples[PHASE_COPY_4K][run] = copy_into_fresh_memory(content, content_size, 0);
        samples[PHASE_COPY_HUGE][run] = copy_into_fresh_memory(content, content_size, 1);
        munmap(mapping, size);
    }
    printf("bench_kernel_cache: bzImage %zu bytes, entry content %zu bytes, median of %d runs\n", bzimage_size,
           content_size, runs);
    for (int phase = 0; phase < PHASE_COUNT; phase++)
        printf("phase %-34s %9.2f ms\n", phase_names[phase], median(samples[phase], runs));
    return 0;
}
