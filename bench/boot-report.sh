#!/usr/bin/env bash
# bench/boot-report.sh SESSION_LOG: the boot-time tables from a session log of
# bench/boot-time.sh (build/bench-boot/session-*.log), as markdown:
#  1. exec -> init per VMM: the first boot of the session (kestrel's cold kernel
#     cache) and the median, min and max of the later boots, with the ratio to
#     the fastest peer (kvmtool, QEMU pc, QEMU microvm) in the same session;
#  2. where the time goes (medians of the later boots; kestrel's first boot on
#     its own row):
#       exec -> first KVM_RUN         kestrel's --stats "startup" line
#       first KVM_RUN -> guest clock  wall - startup - guest uptime at the marker
#       guest clock -> init           the guest's /proc/uptime, read by init just
#                                     before it prints the marker
#     For the peers exec -> first KVM_RUN is not observable: only exec -> guest
#     clock (wall - uptime) is given. The guest's clock (CLOCK_BOOTTIME, behind
#     /proc/uptime) starts in timekeeping_init(), early in start_kernel(), so
#     "first KVM_RUN -> guest clock" is the bzImage's decompressor and the
#     kernel's setup before it (and the marker's trip through the console).
# Only the last attempt in the log counts (run-in-l1.sh may retry a session).
set -euo pipefail
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: $0 SESSION_LOG" >&2; exit 2; }
log=$1
begin=$(grep -n '^BOOT-BEGIN' "$log" | tail -n 1 | cut -d: -f1 || true)
[ -n "$begin" ] || { echo "kestrel: $log has no BOOT-BEGIN record (not a bench-boot session log?)" >&2; exit 2; }

# The session's own header lines, and the test host's from the last attempt.
{ grep -E '^# (bench-boot|host load|note)' "$log"; tail -n +"$begin" "$log" | grep -E '^# [0-9]'; } | sed 's/^# /    /' || true
echo
tail -n +"$begin" "$log" | awk '
function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function extreme(list, want_max,   n, v, i, r) {
    n = split(list, v, " ")
    r = v[1] + 0
    for (i = 2; i <= n; i++) if ((want_max && v[i] + 0 > r) || (!want_max && v[i] + 0 < r)) r = v[i] + 0
    return r
}
function count(list,   v) { return split(list, v, " ") }
function field(name,   i) { for (i = 4; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "-" }
function fmt(x) { return x == "" ? "–" : sprintf("%.0f", x) }
function fmt_s(x) { return x == "" ? "–" : sprintf("%.2f", x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
function add(array, key, value) { array[key] = array[key] (array[key] == "" ? "" : " ") value }
$1 == "VMM" { order[++vmm_count] = $2; next }
$1 == "FAIL" { failed[$2] = substr($0, index($0, $4)); next }
$1 == "BOOT" && NF >= 5 {
    vmm = $2; round = $3 + 0
    wall = field("wall_ms"); up = field("uptime_s") * 1000; start = field("startup_ms")
    phase = (round == 1) ? "first" : "later"
    add(walls, vmm SUBSEP phase, wall)
    add(uptimes, vmm SUBSEP phase, up)
    add(to_clock, vmm SUBSEP phase, wall - up)
    if (start != "-") {
        add(startups, vmm SUBSEP phase, start)
        add(run_to_clock, vmm SUBSEP phase, wall - start - up)
    }
    if (round > last_round) last_round = round
}
END {
    if (vmm_count == 0) { print "no VMM records"; exit 1 }
    # The figure of a VMM: the median of its later boots, or its first boot when
    # the session had only one round.
    for (i = 1; i <= vmm_count; i++) {
        v = order[i]
        figure[v] = median(walls[v SUBSEP "later"])
        if (figure[v] == "") figure[v] = median(walls[v SUBSEP "first"])
        first[v] = median(walls[v SUBSEP "first"])
        if ((v == "kvmtool" || v ~ /^qemu-/) && figure[v] != "" && (fastest == "" || figure[v] < figure[fastest])) fastest = v
        if ((v == "kvmtool" || v ~ /^qemu-/) && first[v] != "" && (fastest_first == "" || first[v] < first[fastest_first])) fastest_first = v
    }
    printf "Fastest peer: %s (later boots), %s (first boot).\n\n", fastest == "" ? "none measured" : fastest, fastest_first == "" ? "none measured" : fastest_first
    print "| VMM | first boot (ms) | / fastest peer | later boots, median (ms) | min | max | n | / fastest peer |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= vmm_count; i++) {
        v = order[i]
        later = walls[v SUBSEP "later"]
        note = (v in failed) ? " (failed: " substr(failed[v], 1, 80) ")" : ""
        printf "| %s%s | %s | %s | %s | %s | %s | %d | %s |\n", v, note, fmt(first[v]),
            ratio(first[v], first[fastest_first]), fmt(median(later)),
            later == "" ? "–" : fmt(extreme(later, 0)), later == "" ? "–" : fmt(extreme(later, 1)), count(later),
            ratio(figure[v], figure[fastest])
    }
    print ""
    print "| VMM | boots | exec -> first KVM_RUN (ms) | first KVM_RUN -> guest clock (ms) | exec -> guest clock (ms) | guest clock -> init (ms) | exec -> init (ms) |"
    print "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for (i = 1; i <= vmm_count; i++) {
        v = order[i]
        for (p = 1; p <= 2; p++) {
            phase = p == 1 ? "later" : "first"
            if (walls[v SUBSEP phase] == "") continue
            # The first boot gets its own row only where it can differ by design (kestrel, cold cache).
            if (phase == "first" && v != "kestrel" && walls[v SUBSEP "later"] != "") continue
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", v, phase == "first" ? "first" : "later (median)",
                startups[v SUBSEP phase] == "" ? "n/a" : sprintf("%.1f", median(startups[v SUBSEP phase])),
                run_to_clock[v SUBSEP phase] == "" ? "n/a" : fmt(median(run_to_clock[v SUBSEP phase])),
                fmt(median(to_clock[v SUBSEP phase])), fmt(median(uptimes[v SUBSEP phase])), fmt(median(walls[v SUBSEP phase]))
        }
    }
}'
