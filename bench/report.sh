#!/usr/bin/env bash
# bench/report.sh (`make report`): the guest-versus-host report of issue 14.
#
#   bench/report.sh [--log SESSION-LOG] [--doc FILE] [--image FILE]
#       The seed's fio table (4K random read and write at QD1 and QD32, 512K
#       sequential read and write at QD4) in ONE test-host session: the level-1
#       host, the guest under kestrel and the guest under QEMU (bench/fio-table.sh
#       measures; serialize: flock /work/l1.lock make report). Writes the
#       Markdown table (bench/fio-report.sh --format report) to stdout, the chart
#       of guest/host in % per row and VMM (gnuplot) to FILE (docs/images/fio-report.png),
#       and both, with the date, commit and log, between the "report:fio" markers of
#       FILE (docs/benchmarks.md). With --log, no session: the same from a saved log.
#   bench/report.sh --overhead [--rounds N] [--log SESSION-LOG] [--doc FILE]
#       The counters' and tracing's cost in the test host against QEMU: 4K
#       randread QD32 in columns kestrel, kestrel-nostats (the queue counters
#       compiled out), kestrel-trace (trace= on) and qemu, N rounds (3) in one
#       session with the order rotated each round; medians, spread and
#       same-round ratios (fio-report.sh --format rounds) between the
#       "report:overhead" markers.
#
# Bad input (an unknown option, a missing or unreadable log, a log with no fio
# results, a doc without its markers): one line "kestrel: report: ..." on
# stderr, status 2, no file written. A session that failed part-way still gets
# its rows reported ("-" for the missing), and the status is the session's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. bench/lib.sh

fail() { echo "kestrel: report: $1" >&2; exit 2; }
# no_results WHAT: a saved log without results is bad input; a session of ours that produced none is a failure.
no_results() {
    [ "$ran_session" = 1 ] || fail "'$log' has no $1"
    echo "kestrel: report: the session (status $session_status) produced no $1; log $log" >&2
    exit 1
}

overhead=0 rounds=3 log= doc=docs/benchmarks.md image=docs/images/fio-report.png
while [ $# -gt 0 ]; do
    case $1 in
        --overhead) overhead=1; shift ;;
        --rounds|--log|--doc|--image)
            [ $# -ge 2 ] && [ -n "$2" ] || fail "$1 needs a value"
            case $1 in --rounds) rounds=$2 ;; --log) log=$2 ;; --doc) doc=$2 ;; --image) image=$2 ;; esac
            shift 2 ;;
        *) fail "unknown option '$1' (--log, --doc, --image, --overhead, --rounds)" ;;
    esac
done
case $rounds in ''|*[!0-9]*|0) fail "--rounds '$rounds' is not a positive number" ;; esac
section=fio
[ "$overhead" = 0 ] || section=overhead

# Everything that can be wrong with the input is checked before any session or write.
[ -f "$doc" ] && [ -r "$doc" ] && [ -w "$doc" ] || fail "cannot update '$doc' (not a writable file)"
markers=$(grep -c -E "^<!-- report:$section:(begin|end) " "$doc" || true)
awk -v section="$section" '
    $0 ~ "^<!-- report:" section ":begin " { begin++; if (end) bad = 1 }
    $0 ~ "^<!-- report:" section ":end " { end++; if (!begin) bad = 1 }
    END { exit (begin == 1 && end == 1 && !bad) ? 0 : 1 }' "$doc" ||
    fail "'$doc' needs one '<!-- report:$section:begin ... -->' line and one '<!-- report:$section:end ... -->' line after it (found $markers)"
if [ -n "$log" ]; then
    [ -f "$log" ] && [ -r "$log" ] || fail "cannot read session log '$log'"
fi
command -v gnuplot >/dev/null || { echo "kestrel: report: gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox)" >&2; exit 1; }

session_status=0 ran_session=0
if [ -z "$log" ]; then
    ran_session=1
    stamp=$(date -u +%Y-%m-%dT%H%MZ)
    if [ "$overhead" = 1 ]; then
        log=docs/bench-logs/fio-overhead-$stamp.log
        KESTREL_BENCH_FIO_COLUMNS="kestrel kestrel-nostats kestrel-trace qemu" KESTREL_BENCH_FIO_ROWS=randread-4k-qd32 \
            KESTREL_BENCH_FIO_ROUNDS=$rounds KESTREL_BENCH_FIO_LOG=$log bash bench/fio-table.sh >&2 || session_status=$?
    else
        log=docs/bench-logs/fio-report-$stamp.log
        env -u KESTREL_BENCH_FIO_ROWS -u KESTREL_BENCH_FIO_ROUNDS KESTREL_BENCH_FIO_COLUMNS="host kestrel qemu" \
            KESTREL_BENCH_FIO_LOG=$log bash bench/fio-table.sh >&2 || session_status=$?
    fi
    [ -f "$log" ] || { echo "kestrel: report: the session wrote no log ($log)" >&2; exit 1; }
fi

header=$(grep -m 1 '^# bench-fio: ' "$log" || true)
[ -n "$header" ] || fail "'$log' is not a bench-fio session log (no '# bench-fio:' line)"
when=${header#\# bench-fio: }
when=${when%%, commit *}
commit=${header##*, commit }
[ "$commit" != "$header" ] || fail "'$log' has no commit in its '# bench-fio:' line"
# The log's path as the doc shows it: relative to the repository when inside it.
shown_log=$(realpath -m "$log")
shown_log=${shown_log#"$repo"/}
notes=$(sed -n -e 's/^# session exit status \([1-9][0-9]*\)$/the session ended with status \1 (rows it did not finish show "-")/p' \
    -e 's/^.*run-in-l1: retried: \(.*\)$/level 1 was retried once (\1)/p' "$log" | sort -u | paste -sd ';' - | sed 's/;/; /g')

work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
body=$work/body.md

if [ "$overhead" = 1 ]; then
    bash bench/fio-report.sh --format rounds "$log" >"$work/table.md"
    grep -q '^| [^|]* | kestrel |' "$work/table.md" || no_results "kestrel results to compare"
    rounds_seen=$(grep -c '^FIO-ROUND ' "$log" || true)
    {
        echo "**Latest: $when, commit $commit**, one test-host session, ${rounds_seen:-1} rounds (log \`$shown_log\`)${notes:+; $notes}."
        echo
        cat "$work/table.md"
        if grep -q '^FIO-TRACE [^ ]* trace: ' "$log"; then
            echo
            echo "The traces' own account (\`kestrel trace-plot --summary\` of each round's trace, whole guest run):"
            echo
            grep '^FIO-TRACE [^ ]* \(trace\|duration\): ' "$log" | sed 's/^FIO-TRACE [^ ]* /    /'
        fi
    } >"$body"
else
    bash bench/fio-report.sh --format report "$log" >"$work/table.md"
    bash bench/fio-report.sh --format chart "$log" >"$work/chart.tsv"
    awk -F'\t' '$2 ~ /^[0-9.]+$/ || $3 ~ /^[0-9.]+$/ { found = 1 } END { exit !found }' "$work/chart.tsv" ||
        no_results "fio results of a guest against the host"

    # The chart: one cluster per row, one bar per VMM, the value above each bar.
    mkdir -p "$(dirname "$image")"
    png=$work/chart.png
    gnuplot 2>"$work/gnuplot.err" <<EOF || { echo "kestrel: report: gnuplot failed: $(head -n 1 "$work/gnuplot.err")" >&2; exit 1; }
set terminal pngcairo size 1000,560 font 'sans,11' background rgb 'white'
set output '$png'
set title "fio in the guest as % of the level-1 host ($when, commit $commit)"
set datafile separator '\t'
set datafile missing '-'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border rgb 'black'
set boxwidth 1
set ylabel 'guest / host (%)'
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid ytics
set key top left
set xtics nomirror
set bmargin 4
# "4K randread QD32" on two lines: the workload, then the depth.
tick(label) = label[1:strstrt(label, ' QD') - 1] . "\n" . label[strstrt(label, ' QD') + 1:]
plot '$work/chart.tsv' using 2:xtic(tick(strcol(1))) title 'kestrel' linecolor rgb '#1f77b4', \
     '' using 3 title 'QEMU' linecolor rgb '#d62728', \
     '' using (\$0 - 1.0/6):2:(sprintf('%.1f', \$2)) with labels offset 0,0.7 notitle, \
     '' using (\$0 + 1.0/6):3:(sprintf('%.1f', \$3)) with labels offset 0,0.7 notitle
EOF
    # Check what gnuplot wrote before it replaces the committed image.
    png_problem=$(bench_png_check "$png" 1000 560 2>&1) || { echo "kestrel: report: $png_problem" >&2; exit 1; }
    image_link=$(realpath -m --relative-to="$(dirname "$(realpath -m "$doc")")" "$(realpath -m "$image")")
    {
        echo "**Latest: $when, commit $commit**, one test-host session (log \`$shown_log\`)${notes:+; $notes}."
        echo
        cat "$work/table.md"
        echo
        echo "![guest/host in % per row, kestrel and QEMU]($image_link)"
    } >"$body"
fi

# The doc: everything outside the markers stays as it was; the section between them is replaced.
awk -v section="$section" -v body="$body" '
    $0 ~ "^<!-- report:" section ":begin " { print; while ((getline line < body) > 0) print line; skipping = 1; next }
    $0 ~ "^<!-- report:" section ":end " { skipping = 0 }
    !skipping { print }' "$doc" >"$work/doc.md"
[ "$overhead" = 1 ] || cp "$png" "$work/image.png"
[ "$overhead" = 1 ] || mv -f "$work/image.png" "$image"
cat "$work/doc.md" >"$doc"
cat "$work/table.md"
echo "report: $section section of $doc from $shown_log${notes:+ ($notes)}" >&2
exit "$session_status"
