#!/usr/bin/env bash
# stub-libraries.sh BINARY OUT_DIR KEPT_LIBRARY... -- STUBBED_SONAME...
# Writes OUT_DIR/SONAME for each STUBBED_SONAME: a small shared library that
# defines every function BINARY imports and no KEPT_LIBRARY defines, with the
# symbol versions BINARY asks of that soname. Each function prints its name and
# aborts.
#
# Why: Debian's fio links the libraries of its rbd, gluster, nbd, RDMA and pmem
# engines (about 80 MB with their own dependencies). The disk guest only uses
# the libaio, psync and io_uring engines, and an 80 MB initramfs would take
# longer to unpack in the nested guest than the tests themselves. fio is linked
# with BIND_NOW, so every import must resolve at load time; a stub that is ever
# called says so and aborts instead of misbehaving.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 BINARY OUT_DIR KEPT_LIBRARY... -- STUBBED_SONAME..." >&2
    exit 2
fi
binary=$1 out_dir=$2
shift 2
kept=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    kept+=("$1")
    shift
done
[ "${1:-}" = -- ] || { echo "stub-libraries: no -- before the stubbed sonames" >&2; exit 2; }
shift
stubbed=("$@")

work=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-stubs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# version -> soname, from the binary's version references.
objdump -p "$binary" | awk '
    /^Version References:/ { inside = 1; next }
    inside && /required from/ { soname = $3; sub(/:$/, "", soname); next }
    inside && NF == 4 { print $4, soname }
    inside && NF == 0 { inside = 0 }' >"$work/versions"
nm -D --defined-only "${kept[@]}" 2>/dev/null | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$work/defined"
# Undefined functions: "VERSION NAME" ("Base" when unversioned).
objdump -T "$binary" | awk '/\*UND\*/ && / DF / { version = $(NF - 1); gsub(/[()]/, "", version); print version, $NF }' |
    sort -u >"$work/imports"

mkdir -p "$out_dir"
for soname in "${stubbed[@]}"; do
    : >"$work/$soname.c"
    : >"$work/$soname.map"
    {
        echo '#include <stdio.h>'
        echo '#include <stdlib.h>'
        echo 'static void stub_called(const char *name) { fprintf(stderr, "stub of %s called (not in the disk guest)\n", name); abort(); }'
    } >"$work/$soname.c"
    # Versioned imports go to the soname the binary names for their version;
    # unversioned ones into every stub (the first loaded one wins; harmless).
    awk -v soname="$soname" -v versions="$work/versions" -v defined="$work/defined" '
        BEGIN {
            while ((getline line < versions) > 0) { split(line, f, " "); owner[f[1]] = f[2] }
            while ((getline line < defined) > 0) have[line] = 1
        }
        $2 in have { next }
        $1 == "Base" || owner[$1] == soname { print }' "$work/imports" >"$work/$soname.symbols"
    awk '{ printf "void %s(void) { stub_called(\"%s\"); }\n", $2, $2 }' "$work/$soname.symbols" >>"$work/$soname.c"
    awk '$1 != "Base" { list[$1] = list[$1] " " $2 ";" }
         END { for (v in list) printf "%s {\n  global:%s\n};\n", v, list[v] }' "$work/$soname.symbols" >"$work/$soname.map"
    linker_flags=(-Wl,-soname,"$soname")
    [ -s "$work/$soname.map" ] && linker_flags+=(-Wl,--version-script="$work/$soname.map")
    cc -shared -fPIC -O1 -fno-builtin -w "${linker_flags[@]}" -o "$out_dir/$soname" "$work/$soname.c"
done
