# Shared helpers of the guest sessions (guest-session.sh, disk-session.sh); sourced,
# defines functions only. They use $out (the session's work directory, one
# RUN.console, RUN.stderr and RUN.status per boot) and set $failed.

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
check() { # check NAME COMMAND...
    name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
show_tail() { # show_tail RUN: the end of the console and kestrel's stderr, for a failure's context
    tail -n 15 "$out/$1.console" | tr -d '\r' | sed "s/^/# $1 console: /"
    tail -n 25 "$out/$1.stderr" | sed "s/^/# $1 stderr: /"
}
status_is() { [ "$(cat "$out/$1.status")" = "$2" ]; }
console_value() { tr -d '\r' <"$out/$1.console" | sed -n "s/^$2 //p" | head -n 1; }
