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
ctrl_alt_del_check() { # ctrl_alt_del_check VMM NAME RUN: `VMM ctrl-alt-del NAME` must answer 204 (status 0)
    "$1" ctrl-alt-del "$2" 2>"$out/$3-client.stderr"
    cad_status=$?
    sed "s/^/# $3 ctrl-alt-del stderr: /" "$out/$3-client.stderr"
    check "$3: kestrel ctrl-alt-del NAME answers 204 (status $cad_status)" test "$cad_status" = 0
}
wait_for_console_line() { # wait_for_console_line FILE PREFIX PID: up to 200 s for a console line, while PID lives
    console_waited=0
    while ! tr -d '\r' <"$1" | grep -q "^$2" && [ "$console_waited" -lt 200 ]; do
        kill -0 "$3" 2>/dev/null || break
        sleep 1
        console_waited=$((console_waited + 1))
    done
}
