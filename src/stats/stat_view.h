#ifndef KESTREL_STATS_STAT_VIEW_H
#define KESTREL_STATS_STAT_VIEW_H

/*
 * `kestrel stat`: what happened between two GET /stats snapshots (JSON, as
 * vm_stats_render writes it) taken `seconds` apart, as a kvm_stat-like table
 * or, for --once --json, as JSON (docs/stats.md):
 * - exits per second by reason and by vCPU, from KVM's binary statistics
 *   (their *_exits counters) where the snapshot has them, else kestrel's own;
 * - port and MMIO exits per second of each device;
 * - per virtqueue: kicks/s, interrupts/s, requests/s, MB/s, the in-flight
 *   depth now, and the latency p50/p99/max of the requests completed in the
 *   interval (from the histograms' differences).
 *
 * A pure function of its input: the command fetches the snapshots (the API
 * client) and sleeps between them. The snapshots come from another process
 * over a socket, so nothing in them is trusted: missing or mistyped fields
 * read as 0, and every array is bounded.
 */

#include <stddef.h>

#include "util/error.h"

enum stat_view_format {
    STAT_VIEW_TABLE,
    STAT_VIEW_JSON,
};

/* malloc'd text ending in a newline, or NULL with `error` set (unparsable snapshot, seconds not > 0). */
char *stat_view_render(const char *before, const char *after, double seconds, enum stat_view_format format,
                       struct error *error);

#endif
