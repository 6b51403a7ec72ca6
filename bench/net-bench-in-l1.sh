#!/bin/sh
# net-bench-in-l1.sh WORK SECONDS COLUMN... : the virtio-net bench's
# measurements, run by bench/net-bench.sh in the test host (as root: it makes
# a tap). COLUMN is VMM:MODE, VMM "qemu" or a kestrel binary, MODE user, tap
# (vhost=off) or vhost (tap, vhost=on). Each column boots the net guest
# (build/guest/initrd-net.img, 2 vCPUs, 1G; a tap has 2 queue pairs), whose
# script runs everything as the client of servers in level 1, so nothing
# waits on the guest: iperf3 -c for SECONDS guest->host and host->guest (-R)
# with 1 and 4 streams (-P), then net_rtt's 1,000 round trips of 64 bytes.
# Prints raw lines that bench/net-bench.sh tabulates:
#   NET-COLUMN NAME COMMAND              how the column ran
#   NET-IPERF NAME DIRECTION STREAMS MBIT  iperf3's receiver rate (Mbit/s)
#   NET-RTT NAME count=... median_us=... p99_us=...
#   NET-STATUS NAME STATUS SECONDS       the VMM's exit status and the column's time
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$1 seconds=$2
shift 2
mkdir -p "$work"
out=$work
. "$repo/tests/e2e/net-lib.sh"
vmlinuz=$repo/build/guest/vmlinuz
rtt=$repo/build/guest/net_rtt

for column in "$@"; do
    vmm=${column%:*} mode=${column##*:}
    name=$(basename "$vmm")-$mode
    case $mode in
        user) host=10.0.2.2 bind=127.0.0.1 spec=user ;;
        tap) host=192.168.100.1 bind=$host spec="tap,ifname=kb0,vhost=off,queues=2" ;;
        vhost) host=192.168.100.1 bind=$host spec="tap,ifname=kb0,vhost=on,queues=2" ;;
        *) echo "net-bench-in-l1: unknown mode '$mode' in '$column'"; continue ;;
    esac
    cat >"$work/$name-guest.sh" <<GUEST
PATH=/usr/sbin:/usr/bin:/bin
for streams in 1 4; do
    for direction in guest-to-host host-to-guest; do
        reverse=
        [ \$direction = host-to-guest ] && reverse=-R
        iperf3 -c $host -t $seconds -P \$streams \$reverse -f m >/tmp/iperf.log 2>&1
        # The last receiver line is the sum over the streams.
        rate=\$(grep receiver /tmp/iperf.log | tail -n 1 | awk '{ for (i = 1; i < NF; i++) if (\$(i + 1) == "Mbits/sec") print \$i }')
        echo "NET-BENCH-IPERF \$direction \$streams \${rate:-failed}"
        [ -n "\$rate" ] || sed 's/^/NET-BENCH-LOG /' /tmp/iperf.log | tail -n 5
    done
done
net_rtt client $host 7003 1000 64 >/tmp/rtt.log 2>&1
sed 's/^/NET-BENCH-/' /tmp/rtt.log
poweroff -f
GUEST
    if ! bash "$repo/tests/testhost/add-test-script.sh" "$repo/build/guest/initrd-net.img" "$work/$name-guest.sh" \
            "$work/$name.img" >"$work/$name-initrd.log" 2>&1; then
        sed 's/^/# /' "$work/$name-initrd.log"
        continue
    fi
    if [ "$mode" != user ]; then
        net_tap_make kb0 192.168.100.1/24 2 || { echo "# $name: cannot make the tap"; continue; }
        net_udhcpd_start kb0 192.168.100.15 192.168.100.1
    fi
    iperf3 -s -B "$bind" >"$work/$name-iperf3-server.log" 2>&1 &
    net_server_pids="$net_server_pids $!"
    "$rtt" server 7003 &
    net_server_pids="$net_server_pids $!"
    echo "NET-COLUMN $name $(bash "$repo/tests/e2e/net-vmm.sh" "$vmm" "$vmlinuz" "$work/$name.img" 2 1G \
        'console=ttyS0 panic=-1 quiet' --print "$spec")"
    start=$(date +%s)
    # Each result as it comes: minutes in silence would look like a stalled test host.
    {
        timeout -k 10 $((seconds * 8 + 240)) bash "$repo/tests/e2e/net-vmm.sh" "$vmm" "$vmlinuz" "$work/$name.img" \
            2 1G 'console=ttyS0 panic=-1 quiet' "$spec" </dev/null 2>"$work/$name.stderr"
        echo $? >"$work/$name.status"
    } | tr -d '\r' | tee "$work/$name.console" |
        sed -u -n -e "s/^NET-BENCH-IPERF /NET-IPERF $name /p" -e "s/^NET-BENCH-NET-RTT /NET-RTT $name /p" \
            -e "s/^NET-BENCH-LOG /# $name iperf3: /p" -e "s/^NET-BENCH-net_rtt: /# $name net_rtt: /p"
    echo "NET-STATUS $name $(cat "$work/$name.status") $(($(date +%s) - start))"
    [ "$(cat "$work/$name.status")" = 0 ] || tail -n 20 "$work/$name.console" "$work/$name.stderr" | sed "s/^/# $name: /"
    net_servers_stop
    [ "$mode" = user ] || ip link del kb0 2>/dev/null
done
