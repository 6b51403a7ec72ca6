#ifndef KESTREL_UTIL_PROCESS_MEMORY_H
#define KESTREL_UTIL_PROCESS_MEMORY_H

/*
 * kestrel's own resident memory, split into guest RAM and everything else
 * (the VMM's overhead), from /proc/self/smaps. A mapping counts as guest RAM
 * when every byte of it lies inside the given guest ranges (host addresses);
 * a mapping that only partly overlaps them counts as VMM, so the overhead is
 * never understated. A mapping's resident memory is its Rss plus its
 * Private_Hugetlb and Shared_Hugetlb (hugetlbfs pages, as with
 * --memory ...,hugepages=on, are not in Rss). Guest RAM is mapped MADV_DONTDUMP, which keeps the
 * kernel from merging it with a neighbouring VMM mapping.
 */

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct process_memory_range {
    uint64_t start;
    uint64_t size;
};

struct process_memory_usage {
    uint64_t total_rss_kib; /* every mapping's Rss */
    uint64_t guest_rss_kib; /* Rss of the mappings inside guest RAM */
    uint64_t guest_huge_kib; /* of guest_rss_kib, in transparent huge pages (AnonHugePages) */
    unsigned mappings;
};

/*
 * Parses smaps text (not NUL-terminated; `length` bytes). Lines it does not
 * know are skipped; a malformed mapping header or Rss line makes it fail
 * with -1. Sums that would overflow fail too.
 */
int process_memory_parse_smaps(const char *text, size_t length, const struct process_memory_range *guest,
                               unsigned guest_count, struct process_memory_usage *usage);

/*
 * Reads /proc/self/smaps once and parses it: through the descriptor
 * process_memory_hold_smaps opened, else by opening the file.
 */
int process_memory_measure(const struct process_memory_range *guest, unsigned guest_count,
                           struct process_memory_usage *usage, struct error *error);

/*
 * Opens /proc/self/smaps now and keeps it for every later measurement: once
 * Landlock is on (vm_landlock.h) kestrel may not open it again, and --stats
 * reads it at exit. Called by the main thread before any other thread runs.
 */
int process_memory_hold_smaps(struct error *error);

#endif
