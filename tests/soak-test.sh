#!/usr/bin/env bash
# make check's test of the soak bench's own logic (no test host): bench/soak-report.sh on committed sample
# logs (tests/soak/sample-*.log; their figures were worked out by hand: see each expected-*.txt), its CSV
# and chart, and bad input to bench/soak-report.sh and bench/soak.sh. TAP output.
#   sample-pass.log   5 boots in 2 processes, reboots in place, nothing lost or leaked: PASS
#   sample-leak.log   3 processes: fds 31 -> 33, the VMM's RSS +5000 KiB, a fio verify error, a host->guest
#                     sha256 mismatch, the disk changed across a restart, a poweroff with status 1: FAIL
#   sample-stall.log  level 1 went silent at 129 s during the second boot: "stalled", the figures so far
#   sample-real.log   the short run in the test host of docs/benchmarks.md's Soak section
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
data=tests/soak
work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-soak-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
count=0 failed=0
. tests/numbered-check.sh
samples=(pass leak stall)
[ -f "$data/sample-real.log" ] && samples+=(real)
echo "1..$((${#samples[@]} + 8))"

# report_is NAME STATUS: the summary of sample-NAME.log is expected-NAME.txt and the exit status STATUS.
report_is() {
    local status=0
    bash bench/soak-report.sh "$data/sample-$1.log" >"$work/$1.txt" 2>"$work/$1.err" || status=$?
    diff -u "$data/expected-$1.txt" "$work/$1.txt" && [ "$status" = "$2" ] && [ ! -s "$work/$1.err" ] ||
        { echo "status $status, expected $2"; cat "$work/$1.err"; return 1; }
}
for sample in "${samples[@]}"; do
    case $sample in pass) expected=0 ;; real) expected=$(sed -n 's/^result: PASS$/0/p; s/^result: FAIL.*/1/p' "$data/expected-real.txt") ;; *) expected=1 ;; esac
    check "the $sample sample's figures and result (status $expected)" report_is "$sample" "$expected"
done
check "a stall is named with its time and the figures so far" \
    grep -qx 'level 1 stalled at 129 s (not retried (--no-retry): no output for 240s (L1 or the script stalled)); the figures so far:' "$work/stall.txt"
check "the leaks are named: the fd count and the VMM's RSS growth over the 4 MiB bound" eval \
    'grep -qx "fds after each boot: LEAK: 31 after boot 1, then boot 2: 33 boot 3: 33" "$work/leak.txt" &&
     grep -qx "fd kinds at boot 2 against boot 1: +2 socket" "$work/leak.txt" &&
     grep -q "(growth 5000 KiB, bound 4096 KiB): LEAK$" "$work/leak.txt"'

# The CSV and the chart.
bash bench/soak-report.sh "$data/sample-pass.log" --csv "$work/pass.csv" --image "$work/pass.png" >/dev/null 2>"$work/chart.err"
csv_ok() { # the header, one row per sample, the VMM column = RSS - guest RAM on every row
    [ "$(head -n 1 "$work/pass.csv")" = t_s,run,boot,fds,rss_kib,guest_ram_kib,vmm_kib ] &&
        [ "$(tail -n +2 "$work/pass.csv" | wc -l)" = "$(grep -c '^SOAK-SAMPLE ' "$data/sample-pass.log")" ] &&
        tail -n +2 "$work/pass.csv" | awk -F, 'NF != 7 || $7 != $5 - $6 { bad = 1 } END { exit bad }' &&
        grep -qx '31,1,1,31,50400,22000,28400' "$work/pass.csv"
}
check "--csv: every sample, with the VMM's own RSS" csv_ok
check "--image: a 1000x640 PNG of 10 KB .. 2 MB" eval 'cat "$work/chart.err"; bench_png_check "$work/pass.png" 1000 640'
bash bench/soak-report.sh "$data/sample-leak.log" --image "$work/leak.png" >/dev/null 2>&1
check "the chart shows the data (the leak sample's differs)" eval '[ -s "$work/leak.png" ] && ! cmp -s "$work/pass.png" "$work/leak.png"'

# Bad input: one line "kestrel: soak: ...", status 2, nothing written.
bad_input() { # bad_input SCRIPT ARGS...
    local status=0
    bash "$@" >"$work/bad.out" 2>"$work/bad.err" || status=$?
    [ "$status" -eq 2 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] && grep -q '^kestrel: soak: ' "$work/bad.err" &&
        [ ! -s "$work/bad.out" ] && [ ! -e "$work/out.csv" ] && [ ! -e "$work/out.png" ] ||
        { echo "$* -> status $status"; cat "$work/bad.err" "$work/bad.out"; return 1; }
}
printf 'SOAK-SAMPLE 1,1,1,2,3,4\nnot a soak log\n' >"$work/garbage.log"
check "soak-report.sh: a missing log, a log that is not a soak log, no log: one line, status 2" eval \
    'bad_input bench/soak-report.sh "$work/no-such.log" --csv "$work/out.csv" &&
     bad_input bench/soak-report.sh "$work/garbage.log" --csv "$work/out.csv" --image "$work/out.png" &&
     bad_input bench/soak-report.sh --csv "$work/out.csv"'
check "soak-report.sh: an unknown option, a missing value, two logs, an output in a missing directory" eval \
    'bad_input bench/soak-report.sh "$data/sample-pass.log" --frobnicate &&
     bad_input bench/soak-report.sh "$data/sample-pass.log" --csv &&
     bad_input bench/soak-report.sh "$data/sample-pass.log" "$data/sample-leak.log" &&
     bad_input bench/soak-report.sh "$data/sample-pass.log" --image "$work/no/such/dir.png"'
# soak.sh checks its arguments before it builds or starts anything: no log appears.
logs_before=$(ls docs/bench-logs | wc -l)
soak_bad_ok() {
    local args
    for args in "--frobnicate" "--duration" "--duration abc" "--duration 0" "--duration 59" "--duration 86401" \
        "--duration 1e3" "--duration -5" "--duration 0000000060" "--net foo" "--reboots 101" "--net-mb 0" \
        "--fio-mb 257" "--fio-mb x"; do
        # shellcheck disable=SC2086 # the words of one case
        bad_input bench/soak.sh $args || return 1
    done
    [ "$(ls docs/bench-logs | wc -l)" = "$logs_before" ]
}
check "soak.sh: unknown options, bad or out-of-range numbers, a bad --net: one line, status 2, nothing run" soak_bad_ok
exit "$failed"
