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
