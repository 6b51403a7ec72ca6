#!/usr/bin/env bash
# fio-report.sh [--format table|report|chart|rounds] SESSION-LOG: the fio
# tables from the raw lines of bench/fio-table-in-l1.sh (rerun it on a saved log).
#   table   (default) the working table: kestrel, QEMU, host, their ratios
#           (fractions) and, with variant columns, a second table of every column;
#   report  the guest-versus-host report's table (bench/report.sh), in the
#           seed's shape: host, kestrel and QEMU, guest/host in % for each VMM,
#           exits and interrupts per I/O for each VMM;
#   chart   the report's chart data, one line per row: label, kestrel's and
#           QEMU's guest/host in %, tab-separated, "-" where a figure is missing;
#   rounds  a session of several rounds (KESTREL_BENCH_FIO_ROUNDS): per row and
#           column the IOPS of every round, median and spread, then the ratios
#           of column pairs taken within each round (bench/report.sh --overhead).
# 4K rows in IOPS, 512K rows in MiB/s. Exits per I/O: level 1's KVM "exits"
# counter over the row (announcement to result, so the 2 s ramp and a second
# of idle guest are in it) divided by the row's I/Os counted as IOPS x
# (runtime + ramp); interrupts per I/O: the guest's virtio interrupts over the
# same span, likewise.
set -euo pipefail
format=table
if [ "${1:-}" = --format ]; then
    [ $# -ge 2 ] || { echo "usage: $0 [--format table|report|chart|rounds] SESSION-LOG" >&2; exit 2; }
    format=$2
    shift 2
fi
case $format in table|report|chart|rounds) ;; *) echo "kestrel: fio-report: unknown format '$format'" >&2; exit 2 ;; esac
[ $# -eq 1 ] || { echo "usage: $0 [--format table|report|chart|rounds] SESSION-LOG" >&2; exit 2; }
awk '
    function field(line, n,   parts) { split(line, parts, ";"); return parts[n] }
    function fmt_ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
    function fmt_percent(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.1f %%", a / b * 100) }
    function fmt_value(row, iops, bw) {
        if (iops == "") return "-"
        if (row ~ /512k/) return sprintf("%.0f MiB/s", bw / 1024)
        return sprintf("%.0f", iops)
    }
    # 12345 -> "12 345", as the docs write figures.
    function grouped(text,   head, tail) {
        if (text !~ /^[0-9]+/) return text
        match(text, /^[0-9]+/); head = substr(text, 1, RLENGTH); tail = substr(text, RLENGTH + 1)
        while (length(head) > 3) { tail = " " substr(head, length(head) - 2) tail; head = substr(head, 1, length(head) - 3) }
        return head tail
    }
    # randread-4k-qd32 -> "4K randread QD32", write-512k-qd4 -> "512K seq write QD4"
    function label(row,   parts) {
        split(row, parts, "-")
        if (parts[1] == "read" || parts[1] == "write") parts[1] = "seq " parts[1]
        return toupper(parts[2]) " " parts[1] " " toupper(parts[3])
    }
    function median(list,   values, n, i, j, swap) {
        n = split(list, values, " ")
        if (n == 0) return ""
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && values[j - 1] + 0 > values[j] + 0; j--) { swap = values[j]; values[j] = values[j - 1]; values[j - 1] = swap }
        return (n % 2) ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
    }
    function spread(list,   values, n, i, low, high) {
        n = split(list, values, " ")
        low = high = values[1]
        for (i = 2; i <= n; i++) { if (values[i] + 0 < low + 0) low = values[i]; if (values[i] + 0 > high + 0) high = values[i] }
        return low " .. " high
    }
    /^FIO-ROUND / { round = $2 + 0; if (round > max_round) max_round = round }
    /^FIO-COLUMN / {
        if (match($0, /--runtime=[0-9]+/)) runtime = substr($0, RSTART + 10, RLENGTH - 10)
        if (match($0, /--ramp_time=[0-9]+/)) ramp = substr($0, RSTART + 12, RLENGTH - 12)
    }
    /^FIO-TERSE / {
        column = $2; row = $3; line = $4
        if (line == "") next
        if (row ~ /write/) { iops[column, row] = field(line, 49); bw[column, row] = field(line, 48) }
        else { iops[column, row] = field(line, 8); bw[column, row] = field(line, 7) }
        round_iops[column, row, round] = iops[column, row]
        if (!(row in seen_row)) { seen_row[row] = 1; order[++rows] = row }
        if (!(column in seen_column)) {
            seen_column[column] = 1; columns_in_order[++columns] = column
            if (column != "host" && column != "kestrel" && column != "qemu") variant_columns++
        }
    }
    /^FIO-KVM / { for (i = 4; i <= NF; i++) if ($i ~ /^exits=/) { exits[$2, $3] = substr($i, 7); round_exits[$2, $3, round] = exits[$2, $3] } }
    /^FIO-GUEST-IRQS / { irqs[$2, $3] = $4 }
    /^FIO-EXIT-REASONS / { reasons[$2, $3] = $0; has_reasons = 1 }
    # The row I/Os a count is divided by: IOPS over the whole span, ramp included.
    function row_ios(column, row) { return iops[column, row] * (runtime + ramp) }
    function per_io(count, column, row) {
        if (count == "" || iops[column, row] == "" || iops[column, row] + 0 == 0) return "-"
        return sprintf("%.2f", count / row_ios(column, row))
    }
    function print_report(   i, row) {
        print "| workload | level-1 host | kestrel | QEMU | kestrel / host | QEMU / host | exits per I/O, kestrel | exits per I/O, QEMU | interrupts per I/O, kestrel | interrupts per I/O, QEMU |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= rows; i++) {
            row = order[i]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label(row),
                grouped(fmt_value(row, iops["host", row], bw["host", row])) (row ~ /512k/ ? "" : " IOPS"),
                grouped(fmt_value(row, iops["kestrel", row], bw["kestrel", row])),
                grouped(fmt_value(row, iops["qemu", row], bw["qemu", row])),
                fmt_percent(iops["kestrel", row], iops["host", row]), fmt_percent(iops["qemu", row], iops["host", row]),
                per_io(exits["kestrel", row], "kestrel", row), per_io(exits["qemu", row], "qemu", row),
                per_io(irqs["kestrel", row], "kestrel", row), per_io(irqs["qemu", row], "qemu", row)
        }
    }
    function chart_value(column, row) {
        return (iops[column, row] == "" || iops["host", row] + 0 == 0) ? "-" : sprintf("%.3f", iops[column, row] / iops["host", row] * 100)
    }
    function print_chart(   i, row) {
        for (i = 1; i <= rows; i++) {
            row = order[i]
            printf "%s\t%s\t%s\n", label(row), chart_value("kestrel", row), chart_value("qemu", row)
        }
    }
    # The rounds a column measured a row in, as "IOPS IOPS ...", and the paired ratios a / b of the rounds with both.
    function round_list(column, row,   r, list) {
        list = ""
        for (r = 1; r <= max_round; r++) if ((column, row, r) in round_iops) list = list (list == "" ? "" : " ") round_iops[column, row, r]
        return list
    }
    function exits_list(column, row,   r, list) {
        list = ""
        for (r = 1; r <= max_round; r++)
            if ((column, row, r) in round_exits && round_iops[column, row, r] + 0 > 0)
                list = list (list == "" ? "" : " ") sprintf("%.2f", round_exits[column, row, r] / (round_iops[column, row, r] * (runtime + ramp)))
        return list
    }
    function ratio_list(a, b, row,   r, list) {
        list = ""
        for (r = 1; r <= max_round; r++)
            if ((a, row, r) in round_iops && (b, row, r) in round_iops && round_iops[b, row, r] + 0 > 0)
                list = list (list == "" ? "" : " ") sprintf("%.3f", round_iops[a, row, r] / round_iops[b, row, r])
        return list
    }
    function print_ratio(row, a, b, meaning,   list, m) {
        list = ratio_list(a, b, row)
        if (list == "") return
        m = median(list)
        printf "| %s | %s / %s (%s) | %s | %.3f | %s | %+.1f %% |\n", label(row), a, b, meaning, list, m, spread(list), (m - 1) * 100
    }
    function print_rounds(   i, j, row, column, list) {
        print "| workload | column | IOPS per round | median | min .. max | median / QEMU | exits per I/O per round |"
        print "|---|---|---|---:|---|---:|---|"
        for (i = 1; i <= rows; i++)
            for (j = 1; j <= columns; j++) {
                row = order[i]; column = columns_in_order[j]
                list = round_list(column, row)
                if (list == "") continue
                printf "| %s | %s | %s | %.0f | %s | %s | %s |\n", label(row), column, list, median(list), spread(list),
                    fmt_ratio(median(list), median(round_list("qemu", row))), exits_list(column, row)
            }
        print ""
        print "| workload | ratio (same round) | per round | median | min .. max | median - 1 |"
        print "|---|---|---|---:|---|---:|"
        for (i = 1; i <= rows; i++) {
            row = order[i]
            print_ratio(row, "kestrel", "kestrel-nostats", "the queue counters")
            print_ratio(row, "kestrel-trace", "kestrel", "tracing")
            print_ratio(row, "kestrel", "kestrel-noseccomp", "the seccomp filters")
            for (j = 1; j <= columns; j++)
                if (columns_in_order[j] != "qemu" && columns_in_order[j] != "host")
                    print_ratio(row, columns_in_order[j], "qemu", "against QEMU")
        }
    }
    END {
        if (format == "report") { print_report(); exit }
        if (format == "chart") { print_chart(); exit }
        if (format == "rounds") { print_rounds(); exit }
        print "| workload | level-1 host | kestrel | QEMU | kestrel/host | QEMU/host | kestrel/QEMU | exits per I/O kestrel / QEMU | interrupts per I/O kestrel / QEMU |"
        print "|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= rows; i++) {
            row = order[i]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s |\n", row,
                fmt_value(row, iops["host", row], bw["host", row]),
                fmt_value(row, iops["kestrel", row], bw["kestrel", row]),
                fmt_value(row, iops["qemu", row], bw["qemu", row]),
                fmt_ratio(iops["kestrel", row], iops["host", row]),
                fmt_ratio(iops["qemu", row], iops["host", row]),
                fmt_ratio(iops["kestrel", row], iops["qemu", row]),
                per_io(exits["kestrel", row], "kestrel", row), per_io(exits["qemu", row], "qemu", row),
                per_io(irqs["kestrel", row], "kestrel", row), per_io(irqs["qemu", row], "qemu", row)
        }
        if (has_reasons) {
            print ""
            print "| workload | column | level 1 KVM exits per I/O by exit reason (SVM codes: 0x400 nested page fault, 0x60 interrupt, 0x78 HLT, 0x7c MSR, 0x81 VMMCALL) |"
            print "|---|---|---|"
            for (i = 1; i <= rows; i++)
                for (j = 1; j <= columns; j++) {
                    column = columns_in_order[j]; row = order[i]
                    if (!((column, row) in reasons) || iops[column, row] + 0 == 0) continue
                    n = split(reasons[column, row], parts, " "); text = ""
                    for (k = 4; k <= n; k++) {
                        split(parts[k], pair, "=")
                        share = pair[2] / row_ios(column, row)
                        if (share >= 0.05)
                            text = text sprintf("0x%x: %.2f ", pair[1], share)
                    }
                    printf "| %s | %s | %s|\n", row, column, text
                }
        }
        if (!variant_columns) exit
        print ""
        print "| workload | column | result | / QEMU | exits per I/O | interrupts per I/O |"
        print "|---|---|---|---|---|---|"
        for (i = 1; i <= rows; i++)
            for (j = 1; j <= columns; j++) {
                column = columns_in_order[j]; row = order[i]
                if (column == "host" || iops[column, row] == "") continue
                printf "| %s | %s | %s | %s | %s | %s |\n", row, column, fmt_value(row, iops[column, row], bw[column, row]),
                    fmt_ratio(iops[column, row], iops["qemu", row]), per_io(exits[column, row], column, row),
                    per_io(irqs[column, row], column, row)
            }
    }' runtime=10 ramp=2 round=1 max_round=1 format="$format" "$1"
