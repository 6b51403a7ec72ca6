#!/usr/bin/env bash
# bench/boot-printk.sh SESSION_LOG [GAPS]: compares the guest kernel's own
# printk.time log under each VMM, from a session log of bench/boot-time.sh (the
# last round's init prints its digest after the boot-time marker, so the console
# adds no exits to the boot being logged).
#  1. milestones: the printk time (s since the guest's clock started) of the
#     first line matching each step in bench/boot-printk-steps.txt, per VMM;
#  2. per VMM, the GAPS (8) longest silences: the time from one line to the
#     next, and the line that ended it (what the kernel was finishing).
# The guest's init prints only a digest of its log (see boot-time.sh): lines
# after a silence of 50 ms or more, and the steps' lines.
# Output is markdown. Only the last attempt in the log counts.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] && [ -f "$1" ] || { echo "usage: $0 SESSION_LOG [GAPS]" >&2; exit 2; }
log=$1
gaps=${2:-8}
case $gaps in ''|*[!0-9]*) echo "kestrel: boot-printk: GAPS '$gaps' is not a number" >&2; exit 2 ;; esac
begin=$(grep -n '^BOOT-BEGIN' "$log" | tail -n 1 | cut -d: -f1 || true)
[ -n "$begin" ] || { echo "kestrel: $log has no BOOT-BEGIN record (not a bench-boot session log?)" >&2; exit 2; }

steps_file=$(dirname "$0")/boot-printk-steps.txt
tail -n +"$begin" "$log" | awk -v gaps="$gaps" -v steps_file="$steps_file" '
BEGIN {
    while ((getline step < steps_file) > 0) {
        split(step, part, "|")
        step_label[++step_count] = part[1]; step_regex[step_count] = part[2]
    }
}
$1 == "DMESG-LINES" { total[$2] = $3; next }
$1 == "DMESG" {
    vmm = $2
    if (!(vmm in lines)) order[++vmm_count] = vmm
    line = substr($0, length($1) + length($2) + length($3) + 4)
    if (!match(line, /^\[ *[0-9]+\.[0-9]+\]/)) next
    n = ++lines[vmm]
    time_of[vmm, n] = substr(line, 2, RLENGTH - 2) + 0
    text_of[vmm, n] = substr(line, RLENGTH + 2)
    gap_of[vmm, n] = $3 + 0
    for (s = 1; s <= step_count; s++)
        if (!((vmm, s) in at) && text_of[vmm, n] ~ step_regex[s]) at[vmm, s] = time_of[vmm, n]
}
END {
    if (vmm_count == 0) { print "No guest printk digest in the session (DMESG records)."; exit 0 }
    header = "| step (printk s) |"; rule = "| --- |"
    for (i = 1; i <= vmm_count; i++) { header = header " " order[i] " |"; rule = rule " ---: |" }
    print header; print rule
    for (s = 1; s <= step_count; s++) {
        row = "| " step_label[s] " |"
        for (i = 1; i <= vmm_count; i++) row = row " " (((order[i], s) in at) ? sprintf("%.3f", at[order[i], s]) : "–") " |"
        print row
    }
    row = "| printk lines |"
    for (i = 1; i <= vmm_count; i++) row = row " " ((order[i] in total) ? total[order[i]] : "?") " |"
    print row
    for (i = 1; i <= vmm_count; i++) {
        v = order[i]
        printf "\n%s: the %d longest silences in the printk log\n\n| silence (ms) | ends at (s) | line that ended it |\n| ---: | ---: | --- |\n", v, gaps
        delete used
        for (g = 1; g <= gaps; g++) {
            best = 0; best_gap = -1
            for (n = 1; n <= lines[v]; n++)
                if (!(n in used) && gap_of[v, n] > best_gap) { best_gap = gap_of[v, n]; best = n }
            if (best == 0) break
            used[best] = 1
            text = text_of[v, best]; gsub(/\|/, "\\|", text)
            printf "| %.0f | %.3f | %s |\n", best_gap, time_of[v, best], substr(text, 1, 100)
        }
    }
}'
