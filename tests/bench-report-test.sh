#!/usr/bin/env bash
# make check's test of bench/report.sh on committed logs (no test host): the
# guest-versus-host table, the chart and the doc section from a sample session
# (tests/bench-report/sample-fio.log, the 07:58 session whose table
# docs/benchmarks.md published by hand), the overhead tables from a synthetic
# three-round session whose medians and ratios were worked out by hand, and
# bad input. TAP output.
set -uo pipefail
cd "$(dirname "$0")/.."
data=tests/bench-report
work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
count=0 failed=0
. tests/numbered-check.sh
echo 1..13

# A doc shaped like docs/benchmarks.md: text around both marker pairs, and a stale section to replace.
fresh_doc() {
    printf '%s\n' '# Benchmarks' 'before' '<!-- report:fio:begin (generated) -->' 'a stale table' \
        '<!-- report:fio:end -->' 'between' '<!-- report:overhead:begin (generated) -->' \
        '<!-- report:overhead:end -->' 'after' >"$1"
}
fresh_doc "$work/doc.md"
mkdir -p "$work/images"
bash bench/report.sh --log "$data/sample-fio.log" --doc "$work/doc.md" --image "$work/images/fio-report.png" \
    >"$work/table.md" 2>"$work/report.err"
status=$?

check "report.sh on the sample log succeeds" test "$status" -eq 0
check "the table matches the expected one (guest/host in %, exits and interrupts per I/O)" \
    diff -u "$data/expected-report.md" "$work/table.md"
# The expected table agrees with the one docs/benchmarks.md published for that session (ratios 0.019 / 0.018 ...).
check "the table's 4K randread QD32 row is the published session's" \
    grep -qxF '| 4K randread QD32 | 19 554 IOPS | 888 | 1 055 | 4.5 % | 5.4 % | 3.02 | 2.29 | 0.49 | 0.35 |' "$work/table.md"
check "the chart data matches (label, kestrel %, QEMU %)" \
    diff -u "$data/expected-chart.tsv" <(bash bench/fio-report.sh --format chart "$data/sample-fio.log")

png_ok() { # the PNG's signature, IHDR size and byte size
    [ "$(od -An -tx1 -N 16 "$1" | tr -d ' \n')" = 89504e470d0a1a0a0000000d49484452 ] &&
        [ "$(od -An -tu1 -j 16 -N 8 "$1" | tr -s ' ' | sed 's/^ //')" = "0 0 3 232 0 0 2 48" ] &&
        [ "$(stat -c %s "$1")" -ge 10000 ]
}
check "the chart is a 1000x560 PNG of at least 10 KB" png_ok "$work/images/fio-report.png"

# Decode the PNG and measure the tallest bar of each colour: their heights must be in the ratio of the largest
# kestrel and QEMU figures (29.006 % and 23.007 %, 512K seq read), so a chart of the wrong data fails.
bars_ok() {
    python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, chunks = 8, {}
width = height = 0
raw = b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and colour in (2, 6), (depth, colour)
        channels = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        raw += body
    pos += 12 + length
pixels = zlib.decompress(raw)
stride = width * channels
rows, previous = [], bytearray(stride)
for y in range(height):
    kind = pixels[y * (stride + 1)]
    line = bytearray(pixels[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - channels] if x >= channels else 0
        b = previous[x]
        c = previous[x - channels] if x >= channels else 0
        if kind == 1: line[x] = (line[x] + a) & 255
        elif kind == 2: line[x] = (line[x] + b) & 255
        elif kind == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    previous = line
def tallest(is_colour):
    best = 0
    for x in range(width):
        run = 0
        for y in range(height):
            r, g, b = rows[y][x * channels:x * channels + 3]
            run = run + 1 if is_colour(r, g, b) else 0
            best = max(best, run)
    return best
blue = tallest(lambda r, g, b: b > r + 60 and b > 150)
red = tallest(lambda r, g, b: r > g + 80 and r > b + 80)
expected = 29.006 / 23.007
print("tallest bars: kestrel %d px, QEMU %d px, ratio %.3f (expected %.3f)" % (blue, red, blue / max(red, 1), expected))
sys.exit(0 if red > 50 and abs(blue / red - expected) < 0.04 else 1)
PY
}
check "the chart's tallest bars are in the data's ratio (decoded PNG)" bars_ok "$work/images/fio-report.png"

doc_ok() { # outside the markers unchanged; inside: date, commit, log, table, image
    sed -n '/report:fio:begin/,/report:fio:end/p' "$work/doc.md" >"$work/section.md"
    grep -qxF '**Latest: 2026-11-30 07:58 UTC, commit 132ad81**, one test-host session (log `tests/bench-report/sample-fio.log`).' "$work/section.md" &&
        grep -qxF '![guest/host in % per row, kestrel and QEMU](images/fio-report.png)' "$work/section.md" &&
        grep '^|' "$work/section.md" | cmp -s - "$data/expected-report.md" && ! grep -q 'a stale table' "$work/doc.md" &&
        [ "$(grep -c -xE 'before|between|after|# Benchmarks' "$work/doc.md")" = 4 ]
}
check "the doc section holds the date, commit, log, table and image, and nothing else changed" doc_ok
cp "$work/doc.md" "$work/doc-once.md"
bash bench/report.sh --log "$data/sample-fio.log" --doc "$work/doc.md" --image "$work/images/fio-report.png" >/dev/null 2>&1
check "a second run replaces the section (same doc)" cmp "$work/doc-once.md" "$work/doc.md"

bash bench/report.sh --overhead --log "$data/sample-rounds.log" --doc "$work/doc.md" >"$work/rounds.md" 2>/dev/null
check "the overhead tables: medians, spread and same-round ratios as worked out by hand" \
    diff -u "$data/expected-rounds.md" "$work/rounds.md"
check "the overhead section holds the three rounds' table, the fio section stays" \
    grep -q '^| 4K randread QD32 | kestrel / kestrel-nostats (the queue counters) | 0.972 1.015 1.027 | 1.015 |' "$work/doc.md"

# Bad input: one line "kestrel: report: ...", status 2, the doc and the image untouched.
bad_input() { # bad_input ARGS...: with a fresh doc and image
    cp "$work/doc.md" "$work/before.md"
    cp "$work/images/fio-report.png" "$work/before.png"
    local status=0
    bash bench/report.sh "$@" --doc "$work/doc.md" --image "$work/images/fio-report.png" >"$work/bad.out" 2>"$work/bad.err" || status=$?
    [ "$status" -eq 2 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] && grep -q '^kestrel: report: ' "$work/bad.err" &&
        [ ! -s "$work/bad.out" ] && cmp -s "$work/before.md" "$work/doc.md" && cmp -s "$work/before.png" "$work/images/fio-report.png" ||
        { echo "status $status"; cat "$work/bad.err" "$work/bad.out"; return 1; }
}
printf 'FIO-TERSE host randread-4k-qd1 garbage\nnot a log\n' >"$work/garbage.log"
printf '# bench-fio: 2026-11-30 20:00 UTC, commit 0123abc\nFIO-TERSE kestrel randread-4k-qd1 x;y\n' >"$work/empty.log"
check "a missing log: one line, status 2, nothing written" bad_input --log "$work/no-such.log"
check "a garbage log (no header; a header but no results): one line, status 2, nothing written" \
    eval 'bad_input --log "$work/garbage.log" && bad_input --log "$work/empty.log" && bad_input --overhead --log "$work/empty.log"'
printf 'no markers here\n' >"$work/plain.md"
check "an unknown option, a bad --rounds, a doc without markers: one line, status 2" \
    eval 'bad_input --frobnicate && bad_input --overhead --rounds 0 --log "$data/sample-rounds.log" &&
        ! bash bench/report.sh --log "$data/sample-fio.log" --doc "$work/plain.md" --image "$work/x.png" 2>"$work/e" &&
        [ "$(wc -l <"$work/e")" -eq 1 ] && [ ! -e "$work/x.png" ] && [ "$(cat "$work/plain.md")" = "no markers here" ]'
exit "$failed"
