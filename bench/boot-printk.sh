#!/usr/bin/env bash
# bench/boot-printk.sh SESSION_LOG [GAPS]: compares the guest kernel's own
# printk.time log under each VMM, from a session log of bench/boot-time.sh (the
# last round's init prints `dmesg` after the boot-time marker, so the console
# adds no exits to the boot being logged).
#  1. milestones: the printk time (s since the guest's clock started) of the
#     first line matching each of a few steps of the boot, per VMM;
#  2. per VMM, the GAPS (8) longest silences: the time from one line to the
#     next, and the line that ended it (what the kernel was finishing).
# Output is markdown. Only the last attempt in the log counts.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] && [ -f "$1" ] || { echo "usage: $0 SESSION_LOG [GAPS]" >&2; exit 2; }
log=$1
gaps=${2:-8}
case $gaps in ''|*[!0-9]*) echo "kestrel: boot-printk: GAPS '$gaps' is not a number" >&2; exit 2 ;; esac
begin=$(grep -n '^BOOT-BEGIN' "$log" | tail -n 1 | cut -d: -f1)
[ -n "$begin" ] || { echo "kestrel: $log has no BOOT-BEGIN record (not a bench-boot session log?)" >&2; exit 2; }

tail -n +"$begin" "$log" | awk -v gaps="$gaps" '
BEGIN {
    # label | regular expression on the message
    steps = "kvm-clock in use|kvm-clock: Using msrs" \
        "\ntsc: frequency known|tsc: Detected" \
        "\nmemory map done|^Memory: " \
        "\nsecondary CPUs up|smp: Brought up" \
        "\ndevtmpfs|devtmpfs: initialized" \
        "\nACPI interpreter|ACPI: Interpreter enabled" \
        "\nIPv4 registered|NET: Registered PF_INET protocol" \
        "\nclocksource switch|clocksource: Switched to clocksource" \
        "\ninitramfs unpack starts|Trying to unpack rootfs" \
        "\ninitramfs unpacked|Freeing initrd memory" \
        "\nserial port ttyS0|ttyS0 at" \
        "\nfree kernel init memory|Freeing unused kernel image" \
        "\nRun /init|Run /init as init process"
    step_count = split(steps, step_lines, "\n")
    for (s = 1; s <= step_count; s++) {
        split(step_lines[s], parts, "|")
        step_label[s] = parts[1]; step_regex[s] = parts[2]
    }
}
$1 == "DMESG" {
    vmm = $2
    if (!(vmm in lines)) order[++vmm_count] = vmm
    line = substr($0, length($1) + length($2) + 3)
    if (!match(line, /^\[ *[0-9]+\.[0-9]+\]/)) next
    stamp = substr(line, 2, RLENGTH - 2) + 0
    text = substr(line, RLENGTH + 2)
    n = ++lines[vmm]
    time_of[vmm, n] = stamp; text_of[vmm, n] = text
    for (s = 1; s <= step_count; s++)
        if (!((vmm, s) in at) && text ~ step_regex[s]) at[vmm, s] = stamp
}
END {
    if (vmm_count == 0) { print "No guest printk log in the session (DMESG records)."; exit 0 }
    header = "| step (printk s) |"; rule = "| --- |"
    for (i = 1; i <= vmm_count; i++) { header = header " " order[i] " |"; rule = rule " ---: |" }
    print header; print rule
    for (s = 1; s <= step_count; s++) {
        row = "| " step_label[s] " |"
        for (i = 1; i <= vmm_count; i++) row = row " " (((order[i], s) in at) ? sprintf("%.3f", at[order[i], s]) : "–") " |"
        print row
    }
    row = "| log lines |"
    for (i = 1; i <= vmm_count; i++) row = row " " lines[order[i]] " |"
    print row
    for (i = 1; i <= vmm_count; i++) {
        v = order[i]
        printf "\n%s: the %d longest gaps between printk lines\n\n| gap (ms) | at (s) | line that ended the gap |\n| ---: | ---: | --- |\n", v, gaps
        delete used
        for (g = 1; g <= gaps; g++) {
            best = 0; best_gap = -1
            for (n = 2; n <= lines[v]; n++) {
                gap = time_of[v, n] - time_of[v, n - 1]
                if (!(n in used) && gap > best_gap) { best_gap = gap; best = n }
            }
            if (best == 0) break
            used[best] = 1
            text = text_of[v, best]; gsub(/\|/, "\\|", text)
            printf "| %.1f | %.3f | %s |\n", best_gap * 1000, time_of[v, best], substr(text, 1, 110)
        }
    }
}'
