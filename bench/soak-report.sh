#!/usr/bin/env bash
# bench/soak-report.sh LOG [--csv FILE] [--image FILE]
# The soak test's figures from its session log (bench/soak.sh writes it; the
# SOAK-* lines come from bench/soak-in-l1.sh): boots, reboots, poweroffs,
# pause/resume cycles, bytes verified on the disk and through the NIC,
# failures, and whether anything leaked. Prints the summary on stdout; with
# --csv writes the fd and RSS samples as CSV, with --image their curve
# (gnuplot PNG, checked before it replaces FILE).
#
# Leak checks, per boot, on the sample taken as the guest's script starts
# (devices set up, no API client connected):
#   - fds: every boot's count equals the first boot's (a reboot in place
#     re-creates the per-boot part of the VM; a new process starts afresh);
#     where the log has SOAK-FDS lines, the first boot that differs is named
#     with the kinds of fd it has more or fewer of than the first boot;
#   - RSS: kestrel's RSS beyond the guest RAM mapping's resident part (the
#     VMM's own memory) may grow by at most 4 MiB over the first boot's. The
#     guest's RAM is not the VMM's leak: it only grows up to --memory, which is
#     checked too. 4 MiB holds what the re-created threads legitimately keep
#     (glibc caches freed thread stacks and keeps per-thread malloc arenas:
#     tens to hundreds of KiB each, a few threads per boot) and is still about
#     twice the VMM's whole measured overhead (1.4-2.4 MiB, docs/benchmarks.md),
#     so a leak of a kernel or initrd copy (megabytes) per boot, or of 100 KiB
#     per boot over an hour's ~50 boots, fails it.
# A log without SOAK-END is a stalled (or killed) level 1: "level 1 stalled at
# T s" and the figures so far.
#
# Exit status: 0 when everything passed; 1 on any failure, leak or stall;
# 2 on bad input (one line "kestrel: soak: ...", nothing written).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/bench/lib.sh"

fail() { echo "kestrel: soak: $1" >&2; exit 2; }
log='' csv='' image=''
while [ $# -gt 0 ]; do
    case $1 in
        --csv|--image)
            [ $# -ge 2 ] && [ -n "$2" ] || fail "$1 needs a value"
            case $1 in --csv) csv=$2 ;; --image) image=$2 ;; esac
            shift 2 ;;
        -*) fail "unknown option '$1' (--csv FILE, --image FILE)" ;;
        *) [ -z "$log" ] || fail "one log only ('$log', then '$1')"; log=$1; shift ;;
    esac
done
[ -n "$log" ] || fail "no log given (usage: bench/soak-report.sh LOG [--csv FILE] [--image FILE])"
[ -f "$log" ] && [ -r "$log" ] || fail "cannot read soak log '$log'"
grep -q '^SOAK-BEGIN ' "$log" || fail "'$log' is not a soak log (no SOAK-BEGIN line)"
for output in "$csv" "$image"; do
    [ -z "$output" ] || [ -d "$(dirname "$output")" ] || fail "no directory for '$output'"
done
[ -z "$image" ] || command -v gnuplot >/dev/null ||
    { echo "kestrel: soak: gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-soak-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The samples: t, run, boot, fds, RSS, guest RAM resident (KiB) and their difference, the VMM's own.
{
    echo "t_s,run,boot,fds,rss_kib,guest_ram_kib,vmm_kib"
    sed -n 's/^SOAK-SAMPLE //p' "$log" | awk -F, 'NF == 6 && $1 ~ /^[0-9]+$/ {
        print $0 "," (($5 ~ /^[0-9]+$/ && $6 ~ /^[0-9]+$/) ? $5 - $6 : "-") }'
} >"$work/samples.csv"

status=0
awk -v samples="$work/samples.csv" -v header="$(grep -m 1 '^# soak: ' "$log" | sed 's/^# soak: //')" \
    -v l1="$(grep -E '^run-in-l1: (not retried|retried|the test host failed)' "$log" | head -n 1 | sed 's/^run-in-l1: //')" '
function value(key,   i, pair) {
    for (i = 2; i <= NF; i++) if (index($i, key "=") == 1) return substr($i, length(key) + 2)
    return ""
}
# kind_diff(A, B): the fd kinds ("2xsocket,1x/dev/kvm,...": SOAK-FDS) that B has more or fewer of than A.
function kind_diff(a, b,   n, i, x, m, in_a, in_b, out, k) {
    n = split(a, x, ","); for (i = 1; i <= n; i++) { m = index(x[i], "x"); in_a[substr(x[i], m + 1)] = substr(x[i], 1, m - 1) + 0 }
    n = split(b, x, ","); for (i = 1; i <= n; i++) { m = index(x[i], "x"); in_b[substr(x[i], m + 1)] = substr(x[i], 1, m - 1) + 0 }
    for (k in in_b) if (in_b[k] != in_a[k]) out = out sprintf(" %+d %s", in_b[k] - in_a[k], k)
    for (k in in_a) if (!(k in in_b)) out = out sprintf(" %+d %s", -in_a[k], k)
    return out
}
function mib(bytes) { return sprintf("%.1f MiB", bytes / 1048576) }
function note(reason) { reasons = reasons (reasons == "" ? "" : "; ") reason }
/^SOAK-/ { t = value("t"); if (t ~ /^[0-9]+$/ && t + 0 > last_t) last_t = t + 0 }
/^SOAK-SAMPLE / { split($2, s, ","); if (s[1] + 0 > last_t) last_t = s[1] + 0; sampled++ }
/^SOAK-BEGIN / {
    duration = value("duration"); mode = value("reboot"); net = value("net"); memory_kib = value("memory_mb") * 1024
    fio_mb = value("fio_mb"); net_mb = value("net_mb"); every = value("sample_s"); per_cycle = value("reboots_per_run")
}
/^SOAK-RUN / { runs++ }
/^SOAK-BOOT / {
    boots++
    split(value("sample"), s, ",")
    fds[boots] = s[1]; rss[boots] = s[2]; guest[boots] = s[3]; boot_t[boots] = value("t"); boot_seconds += value("seconds")
}
/^SOAK-FDS / { kinds[boots] = value("fds") }
/^SOAK-PAUSE / { pauses++; if (value("result") == "ok" && value("during_fio") == "yes") pauses_ok++ }
/^SOAK-FIO / { fio_runs++; if (value("verified_bytes") > 0) { fio_ok++; fio_bytes += value("verified_bytes") } }
/^SOAK-DISK / { if (value("carried") == "ok") { carried++; carried_bytes += value("bytes") } else if (value("carried") == "fail") carried_bad++ }
/^SOAK-NET / {
    net_runs++
    if (value("sent") == "ok") { sent_ok++; sent_bytes += value("bytes") }
    if (value("received") == "ok") { received_ok++; received_bytes += value("bytes") }
}
/^SOAK-REBOOT / { reboots++; if (value("mode") == "restart" && value("result") != "ok") reboots_bad++ }
/^SOAK-POWEROFF / { poweroffs++; if (value("status") == "0") poweroffs_ok++ }
/^SOAK-FAIL / { failures++; sub(/^SOAK-FAIL t=[0-9]+ /, ""); failure_lines = failure_lines "\n  " $0 }
/^SOAK-END / { ended = 1; end_t = value("t") }
/^# session exit status / { session_status = $5 }
END {
    if (header != "") print "soak: " header
    if (!ended) {
        if (l1 != "") {
            printf "level 1 stalled at %d s (%s); the figures so far:\n", last_t, l1
            note("level 1 stalled at " last_t " s")
        } else {
            printf "the session ended at %d s without SOAK-END (stopped, or level 1 died); the figures so far:\n", last_t
            note("the session ended early at " last_t " s")
        }
    }
    printf "asked %d s, ran %d s; reboot %s; NIC %s; %d MiB fio per boot, %d MiB each way per boot\n", duration,
        ended ? end_t : last_t, mode == "reset" ? "in place (--on-reboot reset)" : "by a new kestrel (no --on-reboot)",
        net, fio_mb, net_mb
    printf "boots: %d in %d kestrel processes (%.0f s to the guest script on average)\n", boots, runs, boots ? boot_seconds / boots : 0
    printf "reboots: %d%s; poweroffs: %d, %d with exit status 0\n", reboots,
        reboots_bad ? " (" reboots_bad " did not end kestrel cleanly)" : "", poweroffs, poweroffs_ok
    printf "pause/resume during fio: %d of %d froze the guest and let it go\n", pauses_ok, pauses
    printf "disk: %s written and read back by fio --verify (%d of %d runs clean); %s carried over %d reboots unchanged%s\n",
        mib(fio_bytes), fio_ok, fio_runs, mib(carried_bytes), carried, carried_bad ? " (" carried_bad " changed)" : ""
    printf "net: %s with matching sha256 (%s guest->host in %d of %d, %s host->guest in %d of %d)\n",
        mib(sent_bytes + received_bytes), mib(sent_bytes), sent_ok, net_runs, mib(received_bytes), received_ok, net_runs
    printf "verified: %s in all (disk %s, net %s)\n", mib(fio_bytes + carried_bytes + sent_bytes + received_bytes),
        mib(fio_bytes + carried_bytes), mib(sent_bytes + received_bytes)

    # Leaks, on the post-boot samples.
    same = 1; first_vmm = ""; vmm_max = ""; split_missing = 0; guest_max = 0
    for (b = 1; b <= boots; b++) {
        if (fds[b] != fds[1]) { same = 0; changed = changed " boot " b ": " fds[b] }
        if (guest[b] !~ /^[0-9]+$/ || rss[b] !~ /^[0-9]+$/) { split_missing++; continue }
        vmm = rss[b] - guest[b]
        if (first_vmm == "") first_vmm = vmm
        if (vmm_max == "" || vmm > vmm_max) vmm_max = vmm
        if (guest[b] + 0 > guest_max) guest_max = guest[b] + 0
    }
    if (boots == 0) note("no boot")
    else if (same) printf "fds after each boot: %d at all %d boots\n", fds[1], boots
    else { printf "fds after each boot: LEAK: %d after boot 1, then%s\n", fds[1], changed; note("fd count changed across boots") }
    # Which kinds of fd made the difference, where the log lists them (SOAK-FDS): the first boot that differs.
    for (b = 2; b <= boots && !same; b++)
        if (fds[b] != fds[1] && kinds[1] != "" && kinds[b] != "") {
            printf "fd kinds at boot %d against boot 1:%s\n", b, kind_diff(kinds[1], kinds[b])
            break
        }
    if (boots > 0 && split_missing) { printf "RSS: no guest RAM mapping found in %d post-boot samples\n", split_missing; note("RSS split unavailable") }
    else if (boots > 0) {
        growth = vmm_max - first_vmm
        printf "RSS beyond guest RAM after each boot: %d KiB after boot 1, at most %d KiB (growth %d KiB, bound 4096 KiB)%s\n",
            first_vmm, vmm_max, growth, (growth > 4096 ? ": LEAK" : "")
        if (growth > 4096) note("VMM RSS grew " growth " KiB")
        printf "guest RAM resident: at most %d KiB of %d KiB\n", guest_max, memory_kib
        if (guest_max > memory_kib) note("guest RAM resident above --memory")
    }
    while ((getline line < samples) > 0) {
        if (line ~ /^t_s/) continue
        split(line, s, ",")
        count++
        if (s[4] + 0 > fd_top) fd_top = s[4] + 0
        if (s[5] + 0 > rss_top) rss_top = s[5] + 0
    }
    printf "samples: %d (every %s s); at most %d fds, RSS at most %d KiB\n", count, every, fd_top, rss_top
    if (failures) { printf "failures: %d%s\n", failures, failure_lines; note(failures " failed checks") }
    else print "failures: 0"
    if (boots && fio_ok < fio_runs) note("fio verify")
    if (session_status != "" && session_status != 0 && ended) note("session exit status " session_status)
    if (reasons == "") print "result: PASS"
    else { print "result: FAIL (" reasons ")"; exit 1 }
}' "$log" >"$work/summary.txt" || status=$?
cat "$work/summary.txt"

if [ -n "$csv" ]; then
    cp "$work/samples.csv" "$csv"
fi
if [ -n "$image" ]; then
    if [ "$(wc -l <"$work/samples.csv")" -lt 3 ]; then
        echo "kestrel: soak: too few samples for a chart; $image not written" >&2
        exit 1
    fi
    title=$(sed -n 's/^soak: //p' "$work/summary.txt" | head -n 1)
    png=$work/soak.png
    tail -n +2 "$work/samples.csv" >"$work/plot.csv"
    # Each boot's post-boot sample, marked on the fd panel.
    sed -n 's/^SOAK-BOOT t=\([0-9]*\) .* sample=\([0-9]*\),.*/\1,\2/p' "$log" >"$work/boots.csv"
    gnuplot 2>"$work/gnuplot.err" <<EOF || { echo "kestrel: soak: gnuplot failed: $(head -n 1 "$work/gnuplot.err")" >&2; exit 1; }
set terminal pngcairo size 1000,640 font 'sans,11' background rgb 'white'
set output '$png'
set datafile separator ','
set datafile missing '-'
set multiplot layout 2,1 title "kestrel soak: open fds and RSS (${title:-sample log})"
set grid
set xlabel 'seconds'
set ylabel 'open fds'
set yrange [0:*]
set key bottom right
plot '$work/plot.csv' using 1:4 with steps linewidth 2 linecolor rgb '#1f77b4' title 'open fds', \
     '$work/boots.csv' using 1:2 with points pointtype 7 pointsize 1.2 linecolor rgb '#ff7f0e' notitle, \
     NaN with points pointtype 7 linecolor rgb '#ff7f0e' title 'after each boot'
set ylabel 'MiB'
set key top left opaque
plot '$work/plot.csv' using 1:(\$5 / 1024) with lines linewidth 2 linecolor rgb '#d62728' title 'RSS', \
     '' using 1:(\$6 / 1024) with lines linecolor rgb '#2ca02c' title 'guest RAM resident', \
     '' using 1:(\$7 / 1024) with lines linewidth 2 linecolor rgb '#9467bd' title 'VMM (RSS - guest RAM)'
unset multiplot
EOF
    png_problem=$(bench_png_check "$png" 1000 640 2>&1) || { echo "kestrel: soak: $png_problem" >&2; exit 1; }
    mv -f "$png" "$image"
fi
exit "$status"
