#ifndef KESTREL_KVM_EXIT_STATS_H
#define KESTREL_KVM_EXIT_STATS_H

/*
 * Counts of KVM exits by reason, for --stats and the live statistics. Each
 * vCPU thread owns one `struct exit_stats` and is its only writer; other
 * threads may read it while the vCPU runs (util/relaxed_counter.h: relaxed
 * loads and stores, no lock and no locked instruction per exit).
 */

#include <stdint.h>
#include <stdio.h>

enum { EXIT_STATS_REASONS = 64 }; /* reasons at or above this count as "other" */

struct exit_stats {
    uint64_t by_reason[EXIT_STATS_REASONS];
    uint64_t other;
};

void exit_stats_count(struct exit_stats *stats, uint32_t reason);
/* Adds a snapshot of `part` (which may be live) into `total`, which only the caller writes. */
void exit_stats_add(struct exit_stats *total, const struct exit_stats *part);
/* The count of one reason (a reason >= EXIT_STATS_REASONS reads "other"), safe while the owner counts. */
uint64_t exit_stats_read(const struct exit_stats *stats, uint32_t reason);
uint64_t exit_stats_total(const struct exit_stats *stats);

/* "io", "mmio", "hlt", ... or NULL for a reason without a name. */
const char *exit_stats_reason_name(uint32_t reason);

/* One line per reason seen, busiest first: "  io  1234". */
void exit_stats_print(const struct exit_stats *stats, FILE *out);

#endif
