#ifndef KESTREL_KVM_EXIT_STATS_H
#define KESTREL_KVM_EXIT_STATS_H

/*
 * Counts of KVM exits by reason, for --stats. Each vCPU thread owns one
 * `struct exit_stats` (no atomics on the hot path); the VMM adds them up
 * after the threads are joined.
 */

#include <stdint.h>
#include <stdio.h>

enum { EXIT_STATS_REASONS = 64 }; /* reasons at or above this count as "other" */

struct exit_stats {
    uint64_t by_reason[EXIT_STATS_REASONS];
    uint64_t other;
};

void exit_stats_count(struct exit_stats *stats, uint32_t reason);
void exit_stats_add(struct exit_stats *total, const struct exit_stats *part);
uint64_t exit_stats_total(const struct exit_stats *stats);

/* "io", "mmio", "hlt", ... or NULL for a reason without a name. */
const char *exit_stats_reason_name(uint32_t reason);

/* One line per reason seen, busiest first: "  io  1234". */
void exit_stats_print(const struct exit_stats *stats, FILE *out);

#endif
