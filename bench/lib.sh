# Shared helpers for the bench scripts. Source it; it defines functions only.

# bench_build_tool NAME: builds bench/NAME.c into build/NAME (when missing or
# older than its source) and prints the binary's path. Run from the repository.
bench_build_tool() {
    local binary=$PWD/build/$1
    if [ ! -x "$binary" ] || [ "bench/$1.c" -nt "$binary" ]; then
        mkdir -p build
        gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o "$binary" "bench/$1.c" >&2 || return 1
    fi
    echo "$binary"
}

# bench_l1_last_attempt LOG MARKER STATUS: the lines of LOG from the last MARKER
# line on (run-in-l1.sh retries a stalled L1 once: only the last attempt counts).
# Fails, with the log's tail on stderr, when the session's STATUS is not 0 or no
# attempt began.
bench_l1_last_attempt() {
    local log=$1 marker=$2 status=$3 begin
    begin=$(grep -n "^$marker" "$log" | tail -1 | cut -d: -f1)
    if [ "$status" -ne 0 ] || [ -z "$begin" ]; then
        echo "test host: the session failed (status $status); log: $log" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    tail -n +"$begin" "$log"
}

# bench_png_check FILE WIDTH HEIGHT: what gnuplot wrote is a PNG (its signature and an IHDR chunk) of
# WIDTH x HEIGHT pixels and 10 KB .. 2 MB (an empty plot is a few KB); else says why on stderr, returns 1.
bench_png_check() {
    local signature dimensions size
    signature=$(od -An -tx1 -N 16 "$1" | tr -d ' \n')
    [ "$signature" = 89504e470d0a1a0a0000000d49484452 ] || { echo "gnuplot's output is not a PNG" >&2; return 1; }
    dimensions=$(od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
    [ "$dimensions" = "$2x$3" ] || { echo "the chart is ${dimensions}, not $2x$3" >&2; return 1; }
    size=$(stat -c %s "$1")
    [ "$size" -ge 10000 ] && [ "$size" -le 2000000 ] ||
        { echo "the chart's PNG is $size bytes (expected 10 KB .. 2 MB)" >&2; return 1; }
}
