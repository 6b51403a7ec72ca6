#include "vmm_report.h"

#include <stdio.h>

#include "util/error.h"
#include "util/process_memory.h"

static void print_memory_line(const char *label, const struct process_memory_usage *usage)
{
    fprintf(stderr, "%s: RSS %llu KiB = guest RAM touched %llu KiB + VMM overhead %llu KiB\n", label,
            (unsigned long long)usage->total_rss_kib, (unsigned long long)usage->guest_rss_kib,
            (unsigned long long)(usage->total_rss_kib - usage->guest_rss_kib));
}

void vmm_report_startup_and_memory(const struct startup_origin *origin, uint64_t first_run_ns,
                                   const struct guest_memory *memory, const struct boot_peak_memory *peak)
{
    const char *from = origin->from_exec ? "exec" : "main";
    if (first_run_ns == 0)
        fprintf(stderr, "startup: no KVM_RUN was reached\n");
    else if (first_run_ns < origin->ns)
        fprintf(stderr, "startup: first KVM_RUN before %s's time (clock mismatch)\n", from);
    else
        fprintf(stderr, "startup: first KVM_RUN %.3f ms after %s\n", (double)(first_run_ns - origin->ns) / 1e6,
                from);
    struct process_memory_usage usage;
    struct error error = {0};
    if (boot_memory_measure(memory, &usage, &error) < 0)
        fprintf(stderr, "memory: not measured: %s\n", error.message);
    else {
        print_memory_line("memory", &usage);
        fprintf(stderr, "memory thp: guest RAM in transparent huge pages %llu KiB\n",
                (unsigned long long)usage.guest_huge_kib);
    }
    if (!peak->measured)
        fprintf(stderr, "memory peak: not measured%s%s\n", peak->problem[0] ? ": " : "", peak->problem);
    else
        print_memory_line("memory peak", &peak->usage);
}

void vmm_reboot_times_add(struct vmm_reboot_times *times, uint64_t reset_started_ns, uint64_t first_run_ns)
{
    times->reboots++;
    if (first_run_ns < reset_started_ns || first_run_ns == 0)
        return;
    uint64_t took = first_run_ns - reset_started_ns;
    times->measured++;
    times->total_ns += took;
    if (took > times->max_ns)
        times->max_ns = took;
}

void vmm_report_reboots(const struct vmm_reboot_times *times)
{
    if (times->reboots == 0)
        return;
    if (times->measured == 0) {
        fprintf(stderr, "reboots: %u; no boot after a reset reached KVM_RUN\n", times->reboots);
        return;
    }
    fprintf(stderr, "reboots: %u; reset -> first KVM_RUN of the new boot: mean %.3f ms, max %.3f ms (%u measured)\n",
            times->reboots, (double)times->total_ns / times->measured / 1e6, (double)times->max_ns / 1e6,
            times->measured);
}
