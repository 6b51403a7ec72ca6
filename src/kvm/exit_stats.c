#include "kvm/exit_stats.h"

#include <linux/kvm.h>

#include <stdbool.h>
#include <string.h>

#include "util/relaxed_counter.h"

static const char *const reason_names[] = {
    [KVM_EXIT_UNKNOWN] = "unknown",
    [KVM_EXIT_EXCEPTION] = "exception",
    [KVM_EXIT_IO] = "io",
    [KVM_EXIT_HYPERCALL] = "hypercall",
    [KVM_EXIT_DEBUG] = "debug",
    [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_MMIO] = "mmio",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
    [KVM_EXIT_SHUTDOWN] = "shutdown",
    [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
    [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_SET_TPR] = "set_tpr",
    [KVM_EXIT_TPR_ACCESS] = "tpr_access",
    [KVM_EXIT_NMI] = "nmi",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
    [KVM_EXIT_WATCHDOG] = "watchdog",
    [KVM_EXIT_SYSTEM_EVENT] = "system_event",
    [KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
    [KVM_EXIT_HYPERV] = "hyperv",
    [KVM_EXIT_X86_RDMSR] = "x86_rdmsr",
    [KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
    [KVM_EXIT_DIRTY_RING_FULL] = "dirty_ring_full",
    [KVM_EXIT_AP_RESET_HOLD] = "ap_reset_hold",
    [KVM_EXIT_X86_BUS_LOCK] = "x86_bus_lock",
    [KVM_EXIT_XEN] = "xen",
    [KVM_EXIT_NOTIFY] = "notify",
};

_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) <= EXIT_STATS_REASONS, "EXIT_STATS_REASONS too small");

void exit_stats_count(struct exit_stats *stats, uint32_t reason)
{
    relaxed_counter_add(reason < EXIT_STATS_REASONS ? &stats->by_reason[reason] : &stats->other, 1);
}

uint64_t exit_stats_read(const struct exit_stats *stats, uint32_t reason)
{
    return relaxed_counter_read(reason < EXIT_STATS_REASONS ? &stats->by_reason[reason] : &stats->other);
}

void exit_stats_add(struct exit_stats *total, const struct exit_stats *part)
{
    for (unsigned i = 0; i < EXIT_STATS_REASONS; i++)
        relaxed_counter_add(&total->by_reason[i], exit_stats_read(part, i));
    relaxed_counter_add(&total->other, exit_stats_read(part, EXIT_STATS_REASONS));
}

uint64_t exit_stats_total(const struct exit_stats *stats)
{
    uint64_t total = exit_stats_read(stats, EXIT_STATS_REASONS);
    for (unsigned i = 0; i < EXIT_STATS_REASONS; i++)
        total += exit_stats_read(stats, i);
    return total;
}

const char *exit_stats_reason_name(uint32_t reason)
{
    if (reason < sizeof(reason_names) / sizeof(reason_names[0]))
        return reason_names[reason];
    return NULL;
}

void exit_stats_print(const struct exit_stats *stats, FILE *out)
{
    bool printed[EXIT_STATS_REASONS] = {false};
    uint64_t counts[EXIT_STATS_REASONS];
    for (unsigned i = 0; i < EXIT_STATS_REASONS; i++)
        counts[i] = exit_stats_read(stats, i);
    uint64_t other = exit_stats_read(stats, EXIT_STATS_REASONS);
    fprintf(out, "KVM exits: %llu\n", (unsigned long long)exit_stats_total(stats));
    /* Selection by largest count: at most 64 passes over 64 entries. */
    for (;;) {
        int best = -1;
        for (unsigned i = 0; i < EXIT_STATS_REASONS; i++) {
            if (!printed[i] && counts[i] && (best < 0 || counts[i] > counts[best]))
                best = (int)i;
        }
        if (best < 0)
            break;
        printed[best] = true;
        const char *name = exit_stats_reason_name((uint32_t)best);
        if (name)
            fprintf(out, "  %-16s %12llu\n", name, (unsigned long long)counts[best]);
        else
            fprintf(out, "  reason_%-9d %12llu\n", best, (unsigned long long)counts[best]);
    }
    if (other)
        fprintf(out, "  %-16s %12llu\n", "other", (unsigned long long)other);
}
