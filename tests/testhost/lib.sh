# Shared helpers for the test-host scripts. Source it; it defines functions only.

# modules_resolve MODULES_DIR NAME... : prints the .ko paths (relative to
# MODULES_DIR) needed to load NAMEs, dependencies first, each once, in an order
# insmod can follow. A name that the kernel does not have is reported on
# stderr and skipped, so optional modules (pvpanic-mmio) can be asked for.
modules_resolve() {
    local modules_dir=$1; shift
    awk -v wanted="$*" '
        function canon(name) { gsub(/-/, "_", name); return name }
        function name_of(path,   n) { n = path; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); return canon(n) }
        function visit(name,   i, count, parts) {
            if (name in done) return
            done[name] = 1
            count = split(deps[name], parts, " ")
            # modules.dep lists the deepest dependency last: load from the end.
            for (i = count; i >= 1; i--) visit(name_of(parts[i]))
            print path[name]
        }
        {
            sub(/:$/, "", $1)
            n = name_of($1)
            path[n] = $1
            line = ""
            for (i = 2; i <= NF; i++) line = line " " $i
            deps[n] = line
        }
        END {
            count = split(wanted, names, " ")
            for (i = 1; i <= count; i++) {
                n = canon(names[i])
                if (n in path) visit(n)
                else print "modules_resolve: no module " names[i] > "/dev/stderr"
            }
        }' "$modules_dir/modules.dep"
}

# kernel_version KERNEL_DIR : the kernel release (uname -r) extracted by fetch-kernel.sh.
kernel_version() {
    cat "$1/.extracted"
}

# kernel_package KERNEL_DIR : "PACKAGE VERSION" of that kernel, the key of every cache built from it.
kernel_package() {
    cat "$1/.package"
}

# cpio_pack DIR OUT : packs DIR into a gzip'd newc archive with root-owned
# files; OUT appears whole or not at all.
cpio_pack() {
    local partial
    partial=$(mktemp "$2.XXXXXX")
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$partial"
    chmod 644 "$partial"
    mv "$partial" "$2"
}

# lock_build FILE : holds an exclusive lock on FILE until the calling script
# exits, so concurrent runs (several tests at once) build a cache only once.
lock_build() {
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    flock 9
}

# libraries_copy LIBDIR TOOL... : copies into LIBDIR the shared libraries the TOOLs load, following
# DT_NEEDED from each tool and resolving each soname as ldd resolves it for the tools; prints each copy's
# path. The dynamic loader is left to the caller, and so is every soname in the array
# libraries_skipped (set by the caller, may be empty), whose own dependencies are not followed either.
libraries_copy() {
    local libdir=$1 tool object soname arrow path skipped
    shift
    local -A library_path=() copied=()
    local queue=()
    for tool in "$@"; do
        while read -r soname arrow path _; do
            [ "$arrow" = "=>" ] && [ -f "$path" ] && library_path[$soname]=$path
        done < <(ldd "$tool")
        queue+=("$tool")
    done
    while [ ${#queue[@]} -gt 0 ]; do
        object=${queue[0]}
        queue=("${queue[@]:1}")
        for soname in $(readelf -d "$object" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            for skipped in ld-linux-x86-64.so.2 ${libraries_skipped[@]+"${libraries_skipped[@]}"}; do
                [ "$soname" = "$skipped" ] && continue 2
            done
            [ -n "${copied[$soname]:-}" ] && continue
            path=${library_path[$soname]:-}
            [ -n "$path" ] || { echo "libraries_copy: ldd does not resolve $soname for $object" >&2; return 1; }
            copied[$soname]=1
            cp -L "$path" "$libdir/$soname"
            echo "$libdir/$soname"
            queue+=("$path")
        done
    done
}

# libraries_check ROOT LIBDIR TOOL FLAG LOG : TOOL (an absolute path under ROOT) runs with FLAG through
# ROOT's copied loader, confined to LIBDIR; on failure prints LOG's content on stderr.
libraries_check() {
    if ! "$1/lib64/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$2" "$1$3" "$4" >"$5" 2>&1; then
        echo "$(basename "$0"): $3 does not load with the copied libraries:" >&2
        cat "$5" >&2
        return 1
    fi
}
