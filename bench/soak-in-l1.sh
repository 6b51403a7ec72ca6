#!/bin/sh
# sh bench/soak-in-l1.sh KESTREL SECONDS NET REBOOTS-PER-RUN NET-MB FIO-MB
# The soak test's level-1 side (issue 15), started by bench/soak.sh through
# tests/testhost/run-in-l1.sh. Until SECONDS have passed, in a loop: boot
# KESTREL with a virtio disk, a virtio-net NIC (NET: user, tap or vhost) and
# --name; in the guest, fio --verify on the disk, NET-MB each way through the
# NIC with sha256 at both ends, while level 1 pauses and resumes the VM during
# fio; then the guest reboots (REBOOTS-PER-RUN times per kestrel process) or
# powers off (exit status 0). kestrel's open fds and RSS are sampled every 3 s.
#
# Where kestrel has --on-reboot (`kestrel run --help`), a reboot resets the VM in
# the same process; where not, kestrel exits on the guest's reboot and the
# next boot is a new process. The guest asks level 1 what to do next (port
# 7003) once its checks are done, so level 1 decides from the time left.
#
# Output: SOAK-* lines (their grammar: bench/soak-report.sh, which turns them
# into the figures). Every wait is bounded; a check that fails prints
# SOAK-FAIL and the soak goes on with a new kestrel while time is left.
if [ $# -ne 6 ]; then
    echo "usage: $0 KESTREL SECONDS user|tap|vhost REBOOTS-PER-RUN NET-MB FIO-MB" >&2
    exit 2
fi
kestrel=$1 duration=$2 net_kind=$3 reboots_per_run=$4 net_megabytes=$5 fio_megabytes=$6
repo=$(cd "$(dirname "$0")/.." && pwd)
vmlinuz=$repo/build/guest/vmlinuz
out=$(mktemp -d /tmp/kestrel-soak.XXXXXX)
name=soak
memory_mb=512
cmdline="console=ttyS0 panic=-1 quiet"
# fio's pace: slow enough that the pause lands while it runs, whatever TCG's speed (4K blocks).
fio_rate_iops=200
sample_seconds=3
failed=0
. "$repo/tests/e2e/session-lib.sh"
. "$repo/tests/e2e/net-lib.sh"

started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }
soak_fail() { # soak_fail WHAT: one failure line
    echo "SOAK-FAIL t=$(elapsed) boot=${boot:-0} what=$1"
    failed=$((failed + 1))
}
# alive PID: the process exists and is not a zombie waiting for `wait`.
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

if "$kestrel" run --help 2>&1 | grep -q -- --on-reboot; then
    reboot_mode=reset
    reboot_option="--on-reboot reset"
else
    reboot_mode=restart
    reboot_option=
fi
case $net_kind in
    user) net_spec=user host=10.0.2.2 bind=127.0.0.1 ;;
    tap) net_spec="tap,ifname=ks0,vhost=off" host=192.168.100.1 bind=192.168.100.1 ;;
    vhost) net_spec="tap,ifname=ks0,vhost=on" host=192.168.100.1 bind=192.168.100.1 ;;
    *) echo "soak-in-l1: unknown net kind '$net_kind'" >&2; exit 2 ;;
esac
echo "SOAK-BEGIN t=0 duration=$duration reboot=$reboot_mode net=$net_kind reboots_per_run=$reboots_per_run" \
    "net_mb=$net_megabytes fio_mb=$fio_megabytes memory_mb=$memory_mb sample_s=$sample_seconds" \
    "kernel=$(uname -r) cpus=$(nproc)"

# The guest's side, run by its init on every boot (a reboot in place runs it again).
fio_bytes=$((fio_megabytes * 1048576))
{
    cat <<GUEST
PATH=/usr/sbin:/usr/bin:/bin
echo "SOAK-BOOTED \$(cut -d' ' -f1 /proc/uptime)"
disk_sum() { blockdev --flushbufs /dev/vda; head -c $fio_bytes /dev/vda | sha256sum | cut -c1-64; }
# The region fio writes, as the last boot left it: a reboot or a new kestrel must not lose a byte of it.
echo "SOAK-DISK-AT-BOOT \$(disk_sum)"
(while :; do echo "SOAK-CLOCK \$(cut -d' ' -f1 /proc/uptime)"; sleep 1; done) &
clock=\$!
echo SOAK-FIO-START
fio --name=soak --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=4 \\
    --size=${fio_megabytes}M --rate_iops=$fio_rate_iops --verify=crc32c --verify_fatal=1 \\
    --randseed=\$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') --minimal >/tmp/fio.out 2>/tmp/fio.err
# fio's terse fields 5, 6 and 47: the error, the KiB read back (the verify) and the KiB written.
echo "SOAK-FIO-RESULT \$? \$(tail -n 1 /tmp/fio.out | cut -d';' -f5,6,47)"
head -n 3 /tmp/fio.err | sed 's/^/SOAK-FIO-ERR /'
echo "SOAK-DISK-AT-END \$(disk_sum)"
head -c $((net_megabytes * 1048576)) /dev/urandom >/tmp/guest.bin
echo "SOAK-NET-GUEST-SUM \$(sha256sum /tmp/guest.bin | cut -c1-64)"
GUEST
    net_guest_transfers soak "$host" /tmp/guest.bin
    cat <<GUEST
echo SOAK-DONE
waited=0
action=
while [ -z "\$action" ] && [ "\$waited" -lt 300 ]; do
    action=\$(net_copy receive $host 7003 2>/dev/null)
    [ -n "\$action" ] || { sleep 1; waited=\$((waited + 1)); }
done
echo "SOAK-ACTION \${action:-none}"
kill \$clock
if [ "\$action" = reboot ]; then reboot -f; else poweroff -f; fi
GUEST
} >"$out/soak-guest.sh"

# The guest's initrd: the disk guest (fio), the net guest's own archive (net_copy) after it, then the script.
base=$repo/build/guest/initrd.img
base_size=$(stat -c %s "$base")
if ! cmp -s -n "$base_size" "$base" "$repo/build/guest/initrd-net.img"; then
    echo "soak-in-l1: build/guest/initrd-net.img does not start with build/guest/initrd.img (rebuild the guests)" >&2
    exit 1
fi
{ cat "$repo/build/guest/initrd-disk.img"; tail -c +$((base_size + 1)) "$repo/build/guest/initrd-net.img"; } \
    >"$out/initrd-disk-net.img"
bash "$repo/tests/testhost/add-test-script.sh" "$out/initrd-disk-net.img" "$out/soak-guest.sh" \
    "$out/initrd-soak.img" >"$out/initrd.log" 2>&1 || { sed 's/^/# /' "$out/initrd.log"; exit 1; }

# Level 1's side of the network: the sink and source of net-lib.sh, and the guest's next action.
if [ "$net_kind" != user ]; then
    net_tap_make ks0 192.168.100.1/24 1 >"$out/tap.log" 2>&1 || { sed 's/^/# /' "$out/tap.log"; exit 1; }
    net_udhcpd_start ks0 192.168.100.15 192.168.100.1
fi
head -c $((net_megabytes * 1048576)) /dev/urandom >"$out/host.bin"
host_sum=$(sha256sum "$out/host.bin" | cut -c1-64)
net_servers_start soak "$bind" "$out/host.bin"
received=$out/soak-$bind.received
: >"$out/action"
# -U: from the command to the connection (with -u the file went to level 1's stdout, and the guest got nothing).
socat -U "TCP-LISTEN:7003,bind=$bind,reuseaddr,fork" SYSTEM:"cat $out/action" 2>>"$out/soak.socat" &
net_server_pids="$net_server_pids $!"

truncate -s $((fio_megabytes * 2))M "$out/soak.img"
expected_disk=$(head -c "$fio_bytes" "$out/soak.img" | sha256sum | cut -c1-64)

# sample_values PID: "FDS,RSS_KB,GUEST_KB"; GUEST_KB is the guest RAM's resident part: the mappings kestrel
# marks MADV_DONTDUMP (guest RAM only; src/util/process_memory.h), which MADV_HUGEPAGE on parts of it
# splits into several, with their hugetlbfs pages; "-" when there is none.
sample_values() {
    fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    guest=$(awk '
        /^[0-9a-f]+-[0-9a-f]+ / { resident = 0; next }
        $1 == "Rss:" || $1 == "Private_Hugetlb:" || $1 == "Shared_Hugetlb:" { resident += $2; next }
        $1 == "VmFlags:" { for (i = 2; i <= NF; i++) if ($i == "dd") { guest += resident; found = 1 } }
        END { print found ? guest : "-" }' "/proc/$1/smaps" 2>/dev/null)
    echo "$fds,${rss:--},${guest:--}"
}
# fd_kinds PID: what kestrel's fds are, as sorted "COUNTxKIND" items ("3xsocket,2xanon_inode:[eventfd],..."):
# numbers dropped, so that a boot's set compares with another's and a step in the count names its kind.
fd_kinds() {
    for fd in /proc/"$1"/fd/*; do readlink "$fd" 2>/dev/null; done |
        sed -e 's/\[[0-9]*\]$//' -e 's/:[0-9]*$//' -e 's|^/dev/pts/.*|/dev/pts|' | sort | uniq -c |
        awk '{ printf "%s%dx%s", (NR > 1 ? "," : ""), $1, $2 }'
}
current_set() { echo "$pid $run $boot" >"$out/current.new" && mv "$out/current.new" "$out/current"; }
sampler() {
    while [ -f "$out/sampling" ]; do
        read -r sampled_pid sampled_run sampled_boot <"$out/current"
        if [ "$sampled_pid" != - ] && alive "$sampled_pid"; then
            echo "SOAK-SAMPLE $(elapsed),$sampled_run,$sampled_boot,$(sample_values "$sampled_pid")"
            # Where the RSS is: anonymous (guest RAM and the VMM's heap, stacks and arenas) and file-backed
            # (library text and data): a growth of the second is pages of code faulted in, not a leak.
            echo "SOAK-MEMORY $(elapsed),$sampled_run,$sampled_boot,$(awk '$1 == "RssAnon:" { a = $2 }
                $1 == "RssFile:" { f = $2 } END { print a "," f }' "/proc/$sampled_pid/status" 2>/dev/null)"
        fi
        sleep "$sample_seconds"
    done
}

# The console lines of boot K of the current process (a reboot in place goes on in the same file).
boot_lines() { tr -d '\r' <"$console" | awk -v k="$1" '/^SOAK-BOOTED / { n++ } n == k'; }
boot_value() { boot_lines "$boot_in_run" | sed -n "s/^$1 //p" | head -n 1; }
# wait_for PATTERN SECONDS [SILENCE]: until this boot's lines hold PATTERN (0), or kestrel ended, time is up or,
# with SILENCE, the console has not grown for SILENCE seconds (1): once the guest's clock loop runs it prints
# every second, so a silent console is a hung guest, not a slow one.
wait_for() {
    waited=0 quiet=0 size=-1
    while [ "$waited" -lt "$2" ]; do
        boot_lines "$boot_in_run" | grep -q "$1" && return 0
        alive "$pid" || break
        if [ -n "${3:-}" ]; then
            [ "$(stat -c %s "$console")" = "$size" ] && quiet=$((quiet + 1)) || quiet=0
            size=$(stat -c %s "$console")
            [ "$quiet" -lt "$3" ] || { echo "# soak: the console has been silent for $3 s"; break; }
        fi
        sleep 1
        waited=$((waited + 1))
    done
    boot_lines "$boot_in_run" | grep -q "$1"
}
# run_end SECONDS: waits up to SECONDS for kestrel to exit (then SIGKILL); its status in $run_status.
run_end() {
    waited=0
    while alive "$pid" && [ "$waited" -lt "$1" ]; do
        sleep 1
        waited=$((waited + 1))
    done
    alive "$pid" && kill -9 "$pid" 2>/dev/null
    wait "$pid"
    run_status=$?
    pid=-
    current_set
}
run_start() {
    run=$((run + 1))
    boot_in_run=0
    console=$out/run-$run.console
    : >"$console"
    # shellcheck disable=SC2086 # $reboot_option is empty or two words
    "$kestrel" run --kernel "$vmlinuz" --initrd "$out/initrd-soak.img" --cpus 1 --memory "${memory_mb}M" \
        --cmdline "$cmdline" --disk "$out/soak.img" --net "$net_spec" --name "$name" $reboot_option \
        </dev/null >"$console" 2>"$out/run-$run.stderr" &
    pid=$!
    echo "SOAK-RUN t=$(elapsed) run=$run pid=$pid"
    current_set
}
clock_lines() { boot_lines "$boot_in_run" | grep -c '^SOAK-CLOCK '; }
api_client() { # api_client COMMAND: kestrel COMMAND NAME, its stderr shown
    "$kestrel" "$1" "$name" >/dev/null 2>"$out/api-$1.stderr"
    api_status=$?
    sed "s/^/# soak $1 stderr: /" "$out/api-$1.stderr"
    return "$api_status"
}

# pause_resume: while fio runs, kestrel pause; the guest's clock loop must print nothing for 5 s; resume, and
# it prints again.
pause_resume() {
    if ! wait_for '^SOAK-FIO-START' 120; then
        soak_fail "the guest did not start fio within 120 s"
        return 1
    fi
    sleep 2
    during=yes
    boot_lines "$boot_in_run" | grep -q '^SOAK-FIO-RESULT' && during=no
    api_client pause
    pause_status=$api_status
    sleep 1
    clock_before=$(clock_lines)
    sleep 5
    clock_after=$(clock_lines)
    api_client resume
    resume_status=$api_status
    # The guest runs again: its clock loop prints within a minute even in a crawling test host.
    waited=0
    while [ "$(clock_lines)" = "$clock_after" ] && [ "$waited" -lt 60 ]; do
        sleep 1
        waited=$((waited + 1))
    done
    clock_resumed=$(clock_lines)
    result=ok
    [ "$pause_status/$resume_status" = 0/0 ] && [ "$clock_after" = "$clock_before" ] &&
        [ "$clock_resumed" -gt "$clock_after" ] || result=fail
    echo "SOAK-PAUSE t=$(elapsed) boot=$boot result=$result during_fio=$during pause=$pause_status" \
        "resume=$resume_status clock=$clock_before,$clock_after,$clock_resumed"
    [ "$result" = ok ] || { soak_fail "pause/resume (pause $pause_status, resume $resume_status, guest clock lines $clock_before -> $clock_after while paused, $clock_resumed after resume)"; show_tail "run-$run"; }
    [ "$during" = yes ] || soak_fail "the pause came after fio had finished (fio too fast for the pause)"
}

# boot_checks RECEIVED-BEFORE: fio, the disk carried over, the net transfers of this boot.
boot_checks() {
    # shellcheck disable=SC2046 # the fields of one line, split on purpose
    set -- "$1" $(boot_value SOAK-FIO-RESULT | tr ';' ' ')
    fio_status=${2:-missing} fio_error=${3:-missing} fio_read_kb=${4:-0} fio_write_kb=${5:-0}
    verified=0
    if [ "$fio_status/$fio_error" = 0/0 ] && [ "$fio_read_kb" = "$fio_write_kb" ] && [ "$fio_read_kb" -gt 0 ]; then
        verified=$((fio_read_kb * 1024))
    else
        soak_fail "fio --verify: status $fio_status, error $fio_error, $fio_read_kb KiB verified of $fio_write_kb written"
        boot_lines "$boot_in_run" | grep '^SOAK-FIO-ERR' | sed 's/^/# /'
    fi
    echo "SOAK-FIO t=$(elapsed) boot=$boot status=$fio_status error=$fio_error verified_bytes=$verified"
    at_boot=$(boot_value SOAK-DISK-AT-BOOT)
    carried=fail
    [ "$at_boot" = "$expected_disk" ] && carried=ok
    [ "$boot" -gt 1 ] || carried=first
    echo "SOAK-DISK t=$(elapsed) boot=$boot carried=$carried bytes=$fio_bytes"
    [ "$carried" != fail ] || soak_fail "the disk's first $fio_megabytes MiB changed across the reboot (sha256 ${at_boot:-missing}, expected $expected_disk)"
    expected_disk=$(boot_value SOAK-DISK-AT-END)
    guest_sum=$(boot_value SOAK-NET-GUEST-SUM)
    sink_sum=$(sed -n "$(($1 + 1))p" "$received")
    sent=fail received_ok=fail
    [ "$(boot_value E2E-NET-SENT-soak)" = 0 ] && [ -n "$guest_sum" ] && [ "$sink_sum" = "$guest_sum" ] && sent=ok
    [ "$(boot_value E2E-NET-RECEIVED-soak)" = "$host_sum" ] && received_ok=ok
    echo "SOAK-NET t=$(elapsed) boot=$boot sent=$sent received=$received_ok bytes=$((net_megabytes * 1048576))" \
        "$(boot_lines "$boot_in_run" | sed -n 's/^E2E-NET-TIME-soak \([a-z-]*\) \([0-9]*\) s$/\1=\2s/p' | paste -sd' ')"
    [ "$sent" = ok ] || soak_fail "guest->host: sha256 ${sink_sum:-none} at level 1, ${guest_sum:-none} in the guest"
    [ "$received_ok" = ok ] || soak_fail "host->guest: sha256 $(boot_value E2E-NET-RECEIVED-soak) in the guest, $host_sum at level 1"
}

run=0 boot=0 pid=- since_poweroff=0 broken=0
current_set
touch "$out/sampling"
sampler &
sampler_pid=$!
stop=no
while [ "$stop" = no ]; do
    run_start
    while :; do
        boot=$((boot + 1))
        boot_in_run=$((boot_in_run + 1))
        boot_started=$(date +%s)
        current_set
        if ! wait_for '^SOAK-BOOTED ' 300; then
            soak_fail "no guest boot within 300 s (kestrel $(alive "$pid" && echo running || echo exited))"
            show_tail "run-$run"
            run_end 0
            broken=$((broken + 1))
            break
        fi
        echo "SOAK-BOOT t=$(elapsed) run=$run boot=$boot boot_in_run=$boot_in_run seconds=$(($(date +%s) - boot_started))" \
            "sample=$(sample_values "$pid")"
        echo "SOAK-FDS t=$(elapsed) run=$run boot=$boot boot_in_run=$boot_in_run fds=$(fd_kinds "$pid")"
        received_before=$(wc -l <"$received")
        pause_resume
        if ! wait_for '^SOAK-DONE' 900 120; then
            soak_fail "the guest did not finish its checks (900 s at most, the console silent 120 s at most)"
            show_tail "run-$run"
            run_end 0
            broken=$((broken + 1))
            break
        fi
        broken=0
        boot_checks "$received_before"
        # A cycle is a boot, REBOOTS-PER-RUN reboots and a poweroff; another boot only if it fits (this
        # one's time again) before the end.
        action=poweroff
        if [ $(($(date +%s) + $(date +%s) - boot_started - started)) -lt "$duration" ]; then
            [ "$since_poweroff" -ge "$reboots_per_run" ] || action=reboot
        else
            stop=yes
        fi
        since_poweroff=$((since_poweroff + 1))
        [ "$action" = reboot ] || since_poweroff=0
        echo "$action" >"$out/action"
        wait_for '^SOAK-ACTION ' 330 || soak_fail "the guest did not fetch its next action (port 7003)"
        : >"$out/action"
        if [ "$action" = reboot ] && [ "$reboot_mode" = reset ]; then
            echo "SOAK-REBOOT t=$(elapsed) boot=$boot mode=reset"
            continue
        fi
        run_end 120
        if [ "$action" = reboot ]; then
            # Without --on-reboot, kestrel ends on the guest's reboot, with status 0 and its line.
            how=fail
            [ "$run_status" = 0 ] && grep -q 'guest requested a reset' "$out/run-$run.stderr" && how=ok
            echo "SOAK-REBOOT t=$(elapsed) boot=$boot mode=restart status=$run_status result=$how"
            [ "$how" = ok ] || { soak_fail "the guest's reboot ended kestrel with status $run_status"; show_tail "run-$run"; }
        else
            echo "SOAK-POWEROFF t=$(elapsed) run=$run boot=$boot status=$run_status"
            [ "$run_status" = 0 ] || { soak_fail "poweroff: kestrel exited with status $run_status"; show_tail "run-$run"; }
        fi
        break
    done
    [ "$(elapsed)" -lt "$duration" ] || stop=yes
    # A kestrel that could not get a guest through its checks three times in a row will not start to now.
    [ "$broken" -lt 3 ] || stop=yes
done
rm -f "$out/sampling"
wait "$sampler_pid"
net_servers_stop
[ "$net_kind" = user ] || ip link del ks0 2>/dev/null
echo "SOAK-END t=$(elapsed) failures=$failed"
rm -rf "$out"
[ "$failed" = 0 ]
