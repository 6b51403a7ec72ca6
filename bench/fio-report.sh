#!/usr/bin/env bash
# fio-report.sh SESSION-LOG: the markdown fio table from the raw lines of
# bench/fio-table-in-l1.sh (rerun it on a saved log).
# 4K rows in IOPS, 512K rows in MiB/s. Ratios: guest/host per VMM, and
# kestrel/QEMU. Exits per I/O: level 1's KVM "exits" counter over the row
# (announcement to result, so the 2 s ramp and a second of idle guest are in
# it) divided by the row's I/Os counted as IOPS x (runtime + ramp); interrupts
# per I/O: the guest's virtio interrupts over the same span, likewise. With
# more columns than host, kestrel and QEMU, a second table lists every column.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SESSION-LOG" >&2; exit 2; }
awk '
    function field(line, n,   parts) { split(line, parts, ";"); return parts[n] }
    function fmt_ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
    function fmt_value(row, iops, bw) {
        if (iops == "") return "-"
        if (row ~ /512k/) return sprintf("%.0f MiB/s", bw / 1024)
        return sprintf("%.0f", iops)
    }
    /^FIO-COLUMN / {
        if (match($0, /--runtime=[0-9]+/)) runtime = substr($0, RSTART + 10, RLENGTH - 10)
        if (match($0, /--ramp_time=[0-9]+/)) ramp = substr($0, RSTART + 12, RLENGTH - 12)
    }
    /^FIO-TERSE / {
        column = $2; row = $3; line = $4
        if (line == "") next
        if (row ~ /write/) { iops[column, row] = field(line, 49); bw[column, row] = field(line, 48) }
        else { iops[column, row] = field(line, 8); bw[column, row] = field(line, 7) }
        if (!(row in seen_row)) { seen_row[row] = 1; order[++rows] = row }
        if (!(column in seen_column)) {
            seen_column[column] = 1; columns_in_order[++columns] = column
            if (column != "host" && column != "kestrel" && column != "qemu") variant_columns++
        }
    }
    /^FIO-KVM / { for (i = 4; i <= NF; i++) if ($i ~ /^exits=/) exits[$2, $3] = substr($i, 7) }
    /^FIO-GUEST-IRQS / { irqs[$2, $3] = $4 }
    /^FIO-EXIT-REASONS / { reasons[$2, $3] = $0; has_reasons = 1 }
    # The row I/Os a count is divided by: IOPS over the whole span, ramp included.
    function row_ios(column, row) { return iops[column, row] * (runtime + ramp) }
    function per_io(count, column, row) {
        if (count == "" || iops[column, row] == "" || iops[column, row] + 0 == 0) return "-"
        return sprintf("%.2f", count / row_ios(column, row))
    }
    END {
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
    }' runtime=10 ramp=2 "$1"
