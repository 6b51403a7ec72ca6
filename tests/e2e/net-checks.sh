# virtio-net checks for a real guest (issue 13, "In the test host"), sourced by
# tests/e2e/net-session.sh (any VMM: QEMU validates the guest side, then
# kestrel). POSIX sh, so guest-session.sh can source it too. Uses
# session-lib.sh's helpers and $out, $repo, $vmlinuz, $boots; $net_vmm is the
# VMM for tests/e2e/net-vmm.sh (a kestrel binary or "qemu"). The guest is
# build/guest/initrd-net.img (tests/testhost/build-guest-net.sh: iperf3,
# ethtool, net_rtt); its init asks for eth0's address by DHCP. Must run as
# root in level 1: it makes taps.
#
# Every transfer is started by the guest (net_copy) against socat servers
# in level 1, so neither side waits for the other: port 7001 takes a file and
# appends its sha256 to RUN-ADDRESS.received, port 7002 sends a file. A
# level-1 client reaches the guest's own server (port 7080) by hostfwd (user)
# or the guest's address (tap), retrying until the guest listens.
# Boots: 4 (3 under QEMU).
#
# Boot net-user, 1 vCPU, --net user,hostfwd: 10.0.2.15 by DHCP, the route and
#   DNS server, ping 10.0.2.2, the file both ways, hostfwd.
# Boot net-tap, 2 vCPUs, tap (vhost=off, 2 queue pairs on one I/O thread, a tap level 1 made
#   with udhcpd on its side): the address by DHCP, ping, offloads negotiated,
#   the file both ways with offloads and again after ethtool -K turns the
#   guest's off, a level-1 client reaches the guest, both queue pairs carry
#   packets, no vhost worker in level 1.
# Boot net-vhost: the same with vhost=on (level 1 runs vhost workers), and a
#   second NIC (a second tap, one queue pair, vhost=off): its own MAC, ping and
#   a smaller file both ways over it; then the driver reload (issue 13 item 3):
#   rmmod virtio_net, the vhost workers idle meanwhile, insmod, and the address,
#   ping and 10 MB both ways over vhost again; then (kestrel only: QEMU runs with -no-reboot) a guest reboot,
#   which resets the VM with vhost-net in use (issue 15), and the second boot's address, features, ping and
#   10 MB both ways over vhost.
#
# KESTREL_NET_CHECK_MB sets the file's size (100 MB by default); KESTREL_NET_CHECK_BOOTS a subset of the
# boots ("net-user net-tap net-vhost", all by default).
net_initrd=$repo/build/guest/initrd-net.img
net_cmdline="console=ttyS0 panic=-1 quiet"
net_megabytes=${KESTREL_NET_CHECK_MB:-100}
net_boot_timeout=${KESTREL_NET_BOOT_TIMEOUT:-900}
net_vmm=${net_vmm:-$kestrel}
net_hostfwd_port=17080
net_boots=${KESTREL_NET_CHECK_BOOTS:-net-user net-tap net-vhost}
. "$repo/tests/e2e/net-lib.sh"
net_nonce=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

# net_boot RUN CPUS NET-SPEC...: boots the guest with $out/initrd-RUN.img in the background while
# net_reach_guest tries the guest's server at $net_reach (ADDRESS:PORT); status in $out/RUN.status.
net_boot() {
    run=$1 cpus=$2
    shift 2
    boots=$((boots + 1))
    start=$(date +%s)
    echo "# $run: booting at $(date -u +%H:%M:%S)"
    net_reach_guest "$run" &
    reach_pid=$!
    # The guest's lines as they come: minutes of transfers in silence would look like a stalled test host.
    {
        timeout -k 10 "$net_boot_timeout" bash "$repo/tests/e2e/net-vmm.sh" "$net_vmm" "$vmlinuz" \
            "$out/initrd-$run.img" "$cpus" 1G "$net_cmdline" "$@" </dev/null 2>"$out/$run.stderr"
        echo $? >"$out/$run.status"
    } | tee "$out/$run.console" | sed -u -n -e 's/\r$//' -e "s/^\(E2E-NET-\|kestrel guest: \)/# $run: &/p"
    kill "$reach_pid" 2>/dev/null
    wait "$reach_pid" 2>/dev/null
    echo "# $run: status $(cat "$out/$run.status") after $(($(date +%s) - start)) s"
}

# net_reach_guest RUN: connects to the guest's server at $net_reach once a second until it answers with
# the nonce; then records level 1's vhost worker threads (kernel threads named vhost-PID) while the
# guest runs.
net_reach_guest() {
    deadline=$(($(date +%s) + net_boot_timeout))
    # Not before the guest has its address (its server already listens then): with user networking
    # libslirp accepts a forwarded connection at once and keeps trying the guest after the client gave
    # up, so an early attempt could reach the one-shot server later and use it up unseen.
    while [ "$(date +%s)" -lt "$deadline" ] && ! grep -q '^E2E-NET-ADDR' "$out/$1.console" 2>/dev/null; do
        sleep 1
    done
    while [ "$(date +%s)" -lt "$deadline" ]; do
        answer=$(timeout 10 socat -u "TCP:$net_reach,connect-timeout=2" STDOUT 2>/dev/null)
        if [ "$answer" = "$net_nonce" ]; then
            echo reached >"$out/$1.reached"
            cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^vhost-' >"$out/$1.vhost-threads"
            return 0
        fi
        # What a failing client got, for the report (empty: nothing, or the connection closed first).
        echo "$(date -u +%H:%M:%S) '$answer'" >>"$out/$1.answers"
        sleep 1
    done
}

# The guest's steps, written into each boot's /test.sh. net_guest_head HOST: the address, route, DNS,
# ping, the guest's server for net_reach_guest, the random file (net_guest_transfers: net-lib.sh).
net_guest_head() {
    cat <<GUEST
PATH=/usr/sbin:/usr/bin:/bin
echo "$net_nonce" >/tmp/nonce
nc -l -p 7080 </tmp/nonce &
server_pid=\$!
echo "E2E-NET-ADDR \$(ip -4 -o addr show dev eth0 | awk '{ print \$4 }' | head -n 1)"
echo "E2E-NET-ROUTE \$(ip route show default | awk '{ print \$3 }' | head -n 1)"
echo "E2E-NET-DNS \$(awk '/^nameserver/ { print \$2; exit }' /etc/resolv.conf 2>/dev/null)"
echo "E2E-NET-MAC \$(cat /sys/class/net/eth0/address)"
echo "E2E-NET-FEATURES \$(cat /sys/class/net/eth0/device/features)"
ping -c 3 -W 5 $1 >/tmp/ping.log 2>&1
echo "E2E-NET-PING \$?"
start=\$(date +%s)
head -c $((net_megabytes * 1048576)) /dev/urandom >/tmp/guest.bin
echo "E2E-NET-GUEST-SUM \$(sha256sum /tmp/guest.bin | cut -c1-64)"
echo "E2E-NET-TIME-random-file \$((\$(date +%s) - start)) s"
GUEST
}
# The guest's server must have answered level 1 before the guest powers off (or unloads its driver).
net_guest_served() {
    cat <<'GUEST'
waited=0
while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 120 ]; do sleep 1; waited=$((waited + 1)); done
echo "E2E-NET-SERVED $(kill -0 "$server_pid" 2>/dev/null && echo no || echo yes)"
GUEST
}
net_guest_tail() {
    net_guest_served
    cat <<'GUEST'
grep -E 'virtio|input|output' /proc/interrupts | sed 's/^/E2E-NET-INTERRUPTS /'
poweroff -f
GUEST
}
net_guest_initrd() { # net_guest_initrd RUN: $out/RUN-guest.sh -> $out/initrd-RUN.img
    bash "$repo/tests/testhost/add-test-script.sh" "$net_initrd" "$out/$1-guest.sh" "$out/initrd-$1.img" \
        >"$out/$1-initrd.log" 2>&1 || { sed 's/^/# /' "$out/$1-initrd.log"; return 1; }
}

# feature_bit RUN BIT: the negotiated virtio feature bit (the features file has one character per bit).
feature_bit() { console_value "$1" E2E-NET-FEATURES | cut -c$(($2 + 1)); }
# net_transfer_checks RUN LABEL ADDRESS LINE: the file crossed both ways (LINE: the sink's line for it).
net_transfer_checks() {
    guest_sum=$(console_value "$1" E2E-NET-GUEST-SUM)
    received=$(sed -n "$4p" "$out/$1-$3.received")
    check "$1: ${net_megabytes} MB guest->host over TCP ($2): the sha256 matches" \
        test "$(console_value "$1" "E2E-NET-SENT-$2"):$received" = "0:${guest_sum:-missing}"
    check "$1: ${net_megabytes} MB host->guest over TCP ($2): the sha256 matches" \
        test "$(console_value "$1" "E2E-NET-RECEIVED-$2")" = "$net_host_sum"
}
net_common_checks() { # net_common_checks RUN ADDRESS HOST
    check "$1: exits with status 0 on poweroff" status_is "$1" 0
    check "$1: the guest gets $2 by DHCP" test "$(console_value "$1" E2E-NET-ADDR)" = "$2"
    check "$1: the guest's default route is $3" test "$(console_value "$1" E2E-NET-ROUTE)" = "$3"
    check "$1: the guest pings $3" test "$(console_value "$1" E2E-NET-PING)" = 0
}
net_reach_checks() { # net_reach_checks RUN WHAT
    check "$1: $2" test -f "$out/$1.reached"
    [ -f "$out/$1.reached" ] || tail -n 5 "$out/$1.answers" 2>/dev/null | sed "s/^/# $1: the client got at /"
    check "$1: the guest's server saw the connection" test "$(console_value "$1" E2E-NET-SERVED)" = yes
}
net_report() { # net_report RUN: the end of the console and the VMM's messages when the VM failed
    status_is "$1" 0 || show_tail "$1"
}

# Steps of the tap boots: offloads on, then off; the per-queue counters. ethtool -K changes what the
# guest's stack hands the device (checksums, TSO/GSO), not what was negotiated.
net_guest_tap_steps() { # net_guest_tap_steps HOST
    net_guest_transfers offloads "$1" /tmp/guest.bin
    cat <<'GUEST'
ethtool -K eth0 tx off sg off tso off gso off >/tmp/ethtool.log 2>&1
echo "E2E-NET-ETHTOOL-K $?"
echo "E2E-NET-OFFLOADS-AFTER $(ethtool -k eth0 | awk '/^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):/ { printf "%s%s%s", separator, $1, $2; separator = " " }')"
GUEST
    net_guest_transfers no-offloads "$1" /tmp/guest.bin
    cat <<GUEST
echo "E2E-NET-RX-QUEUES \$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
echo "E2E-NET-COMBINED \$(ethtool -l eth0 | awk '/^Combined:/ { value = \$2 } END { print value }')"
# A connection started on CPU 0 leaves by TX queue 0 (XPS), and the tap returns its packets on the queue
# they came from; on CPU 1 queue 1. Each moves 1 MB.
for mask in 1 2 1 2; do
    head -c 1048576 /tmp/guest.bin | taskset \$mask net_copy send $1 7001
done
ethtool -S eth0 | awk '/[rt]x_queue_[0-9]+_packets:/ { sub(":", "", \$1); print "E2E-NET-QUEUE-STAT", \$1, \$2 }'
GUEST
}
queue_packets() { tr -d '\r' <"$out/$1.console" | awk -v name="$2" '$1 == "E2E-NET-QUEUE-STAT" && $2 == name { print $3 }'; }
net_tap_checks() { # net_tap_checks RUN ADDRESS
    check "$1: VIRTIO_NET_F_CSUM and HOST_TSO4 negotiated (offloads on the tap)" \
        test "$(feature_bit "$1" 0)$(feature_bit "$1" 11)" = 11
    check "$1: VIRTIO_NET_F_MQ negotiated" test "$(feature_bit "$1" 22)" = 1
    net_transfer_checks "$1" offloads "$2" 1
    check "$1: ethtool -K turns the guest's TX offloads off" test \
        "$(console_value "$1" E2E-NET-ETHTOOL-K)/$(console_value "$1" E2E-NET-OFFLOADS-AFTER)" = \
        "0/tx-checksumming:off tcp-segmentation-offload:off generic-segmentation-offload:off"
    net_transfer_checks "$1" no-offloads "$2" 2
    check "$1: 2 queue pairs in use with 2 vCPUs" \
        test "$(console_value "$1" E2E-NET-RX-QUEUES)/$(console_value "$1" E2E-NET-COMBINED)" = 2/2
    for stat in rx_queue_0_packets rx_queue_1_packets tx_queue_0_packets tx_queue_1_packets; do
        count=$(queue_packets "$1" "$stat")
        check "$1: $stat carries traffic (${count:-none})" test "${count:-0}" -gt 0
    done
}

# The driver reload under vhost-net (boot net-vhost): rmmod virtio_net resets both NICs (the device stops
# vhost), the guest stays without a driver while level 1 looks at the vhost workers (net_watch_unload),
# then insmod starts the device again: a new driver, new rings, vhost started again. The address by
# DHCP, ping, 10 MB each way over the vhost NIC (port 7003 serves second.bin).
net_guest_reload_steps() { # net_guest_reload_steps HOST
    net_guest_served
    cat <<GUEST
rmmod virtio_net
echo "E2E-NET-UNLOADED \$? \$(echo \$(ls /sys/class/net))"
sleep 15
insmod /modules/virtio_net.ko
echo "E2E-NET-RELOADED \$?"
ip link set eth0 up
udhcpc -i eth0 -f -q -n -t 10 -T 1 -s /etc/udhcpc/default.script >/dev/null 2>&1
echo "E2E-NET-ADDR-reload \$(ip -4 -o addr show dev eth0 | awk '{ print \$4 }' | head -n 1)"
echo "E2E-NET-MAC-reload \$(cat /sys/class/net/eth0/address)"
echo "E2E-NET-FEATURES-reload \$(cat /sys/class/net/eth0/device/features)"
ping -c 3 -W 5 $1 >/tmp/ping-again.log 2>&1
echo "E2E-NET-PING-reload \$?"
start=\$(date +%s)
net_copy send $1 7001 </tmp/second.bin
echo "E2E-NET-SENT-reload \$?"
echo "E2E-NET-RECEIVED-reload \$(net_copy receive $1 7003 | sha256sum | cut -c1-64)"
echo "E2E-NET-TIME-reload both ways \$((\$(date +%s) - start)) s"
GUEST
}

# The count of level 1's vhost workers (kernel threads vhost-OWNER) and their CPU time in ticks.
vhost_workers() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 ~ /^\(vhost-/ { count++; ticks += $14 + $15 } END { print count + 0, ticks + 0 }'; }
# net_watch_unload RUN TAP ADDRESS: once the guest has unloaded its driver, the vhost workers before and
# after 3 s of UDP sent to the guest's MAC through TAP (a stopped vhost must not pick them up) in
# $out/RUN.unloaded: "COUNT TICKS COUNT TICKS", and the tap's dropped frames in $out/RUN.unloaded-drops.
net_watch_unload() {
    deadline=$(($(date +%s) + net_boot_timeout))
    until grep -q '^E2E-NET-UNLOADED' "$out/$1.console" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || return 0
        sleep 0.5
    done
    mac=$(console_value "$1" E2E-NET-MAC)
    ip neigh replace "$3" lladdr "$mac" dev "$2" nud permanent 2>/dev/null
    before=$(vhost_workers)
    drops=$(cat "/sys/class/net/$2/statistics/tx_dropped")
    timeout 3 socat -u OPEN:/dev/zero "UDP-SENDTO:$3:9" 2>/dev/null
    sleep 1
    echo "$before $(vhost_workers)" >"$out/$1.unloaded"
    echo "$(($(cat "/sys/class/net/$2/statistics/tx_dropped") - drops))" >"$out/$1.unloaded-drops"
    ip neigh del "$3" dev "$2" 2>/dev/null
}
# net_vhost_again_checks RUN WHAT ADDRESS HOST LINE SUM: what the guest printed as E2E-NET-*-WHAT after WHAT (a
# driver reload, a reboot): ADDRESS by DHCP, the features it negotiated first, a ping to HOST, 10 MB each way over
# vhost (its file with sha256 SUM on HOST's sink's line LINE; second.bin back).
net_vhost_again_checks() {
    check "$1: $2: the guest gets $3 by DHCP again" test "$(console_value "$1" "E2E-NET-ADDR-$2")" = "$3"
    check "$1: $2: the driver negotiates the same features" test \
        "$(console_value "$1" "E2E-NET-FEATURES-$2")" = "$(console_value "$1" E2E-NET-FEATURES)"
    check "$1: $2: the guest pings $4 again" test "$(console_value "$1" "E2E-NET-PING-$2")" = 0
    check "$1: $2: 10 MB guest->host over vhost: the sha256 matches" test \
        "$(console_value "$1" "E2E-NET-SENT-$2"):$(sed -n "$5p" "$out/$1-$4.received")" = "0:${6:-missing}"
    check "$1: $2: 10 MB host->guest over vhost: the sha256 matches" test \
        "$(console_value "$1" "E2E-NET-RECEIVED-$2")" = "$(sha256sum "$out/second.bin" | cut -c1-64)"
}
net_reload_checks() { # net_reload_checks RUN ADDRESS HOST
    check "$1: reload: rmmod virtio_net takes both NICs away" \
        test "$(console_value "$1" E2E-NET-UNLOADED)" = "0 lo"
    read -r count_before ticks_before count_after ticks_after <<SAMPLES
$(cat "$out/$1.unloaded" 2>/dev/null)
SAMPLES
    threads=$(cat "$out/$1.vhost-threads" 2>/dev/null)
    check "$1: reload: without a driver level 1 keeps the VM's ${threads:-?} vhost workers (${count_before:-none}, the vhost fds stay open across a reset)" \
        test "${count_before:-x}" = "${threads:-y}" -a "${count_after:-x}" = "${threads:-y}"
    echo "# $1: reload: frames dropped by the tap while the driver was away: $(cat "$out/$1.unloaded-drops" 2>/dev/null)"
    check "$1: reload: the vhost workers stay idle while frames arrive for the unloaded NIC (${ticks_before:-?} -> ${ticks_after:-?} ticks)" \
        test -n "${ticks_before:-}" -a "${ticks_before:-0}" = "${ticks_after:-1}"
    check "$1: reload: insmod virtio_net brings eth0 back with its MAC" test \
        "$(console_value "$1" E2E-NET-RELOADED)/$(console_value "$1" E2E-NET-MAC-reload)" = \
        "0/$(console_value "$1" E2E-NET-MAC)"
    net_vhost_again_checks "$1" reload "$2" "$3" 7 "$(console_value "$1" E2E-NET-SECOND-SUM)"
}

# The reboot under vhost-net (boot net-vhost, kestrel): the guest asks level 1 which boot it is (port 7004
# answers "first" once, then "second"); the first goes on as above and ends with `reboot -f` instead of a
# poweroff, so kestrel resets the VM with the vhost backend in use; the second checks the NIC over vhost
# again (port 7003 serves second.bin) and powers off.
net_guest_boot_switch() { # net_guest_boot_switch HOST
    cat <<GUEST
PATH=/usr/sbin:/usr/bin:/bin
if [ "\$(net_copy receive $1 7004 2>/dev/null)" = second ]; then
    echo "E2E-NET-ADDR-reboot \$(ip -4 -o addr show dev eth0 | awk '{ print \$4 }' | head -n 1)"
    echo "E2E-NET-FEATURES-reboot \$(cat /sys/class/net/eth0/device/features)"
    ping -c 3 -W 5 $1 >/tmp/ping-reboot.log 2>&1
    echo "E2E-NET-PING-reboot \$?"
    head -c 10485760 /dev/urandom >/tmp/reboot.bin
    echo "E2E-NET-SUM-reboot \$(sha256sum /tmp/reboot.bin | cut -c1-64)"
    net_copy send $1 7001 </tmp/reboot.bin
    echo "E2E-NET-SENT-reboot \$?"
    echo "E2E-NET-RECEIVED-reboot \$(net_copy receive $1 7003 | sha256sum | cut -c1-64)"
    poweroff -f
fi
GUEST
}
net_guest_reboot_tail() {
    net_guest_served
    cat <<'GUEST'
grep -E 'virtio|input|output' /proc/interrupts | sed 's/^/E2E-NET-INTERRUPTS /'
echo E2E-NET-REBOOTING
reboot -f
GUEST
}
net_boot_server_start() { # net_boot_server_start RUN ADDRESS: port 7004, "first" once, then "second"
    socat -U "TCP-LISTEN:7004,bind=$2,reuseaddr,fork" \
        SYSTEM:"if [ -e $out/$1.first-boot ]; then echo second; else touch $out/$1.first-boot; echo first; fi" \
        2>>"$out/$1.socat" &
    net_server_pids="$net_server_pids $!"
}
net_reboot_checks() { # net_reboot_checks RUN ADDRESS HOST
    rebooting=$(tr -d '\r' <"$out/$1.console" | grep -c '^E2E-NET-REBOOTING$')
    check "$1: reboot: the guest reboots once with vhost-net in use" test "$rebooting" = 1
    net_vhost_again_checks "$1" reboot "$2" "$3" 8 "$(console_value "$1" E2E-NET-SUM-reboot)"
}

if [ ! -f "$net_initrd" ] || ! command -v socat >/dev/null || ! command -v ip >/dev/null; then
    not_ok "net: the net guest's initrd ($net_initrd; build-guest-net.sh), socat and ip exist"
else
    net_host_file=$out/host.bin
    head -c $((net_megabytes * 1048576)) /dev/urandom >"$net_host_file"
    net_host_sum=$(sha256sum "$net_host_file" | cut -c1-64)
    head -c 10485760 "$net_host_file" >"$out/second.bin"
    check "net: /dev/vhost-net and /dev/net/tun exist in the test host" test -c /dev/vhost-net -a -c /dev/net/tun

# --- boot net-user ---------------------------------------------------------------------------------
    case " $net_boots " in *" net-user "*) net_user=yes ;; *) net_user=no ;; esac
    [ "$net_user" = yes ] && {
        net_guest_head 10.0.2.2
        net_guest_transfers plain 10.0.2.2 /tmp/guest.bin
        net_guest_tail
    } >"$out/net-user-guest.sh"
    if [ "$net_user" = no ]; then
        echo "# net-user: left out (KESTREL_NET_CHECK_BOOTS)"
    elif net_guest_initrd net-user; then
        # User networking reaches level 1's loopback as 10.0.2.2.
        net_servers_start net-user 127.0.0.1 "$net_host_file"
        net_reach=127.0.0.1:$net_hostfwd_port
        net_boot net-user 1 "user,hostfwd=tcp:127.0.0.1:$net_hostfwd_port-:7080"
        net_servers_stop
        net_common_checks net-user 10.0.2.15/24 10.0.2.2
        check "net-user: the guest gets the DNS server 10.0.2.3" test "$(console_value net-user E2E-NET-DNS)" = 10.0.2.3
        net_transfer_checks net-user plain 127.0.0.1 1
        net_reach_checks net-user "hostfwd: a level-1 client reaches the guest's server"
        net_report net-user
    else
        not_ok "net-user: add-test-script.sh builds the guest's initrd"
    fi

# --- boots net-tap and net-vhost -------------------------------------------------------------------
    for run in net-tap net-vhost; do
        case " $net_boots " in *" $run "*) ;; *) echo "# $run: left out (KESTREL_NET_CHECK_BOOTS)"; continue ;; esac
        vhost=off
        [ "$run" = net-vhost ] && vhost=on
        reboot=no
        [ "$run" = net-vhost ] && [ "$net_vmm" != qemu ] && reboot=yes
        {
            [ "$reboot" = no ] || net_guest_boot_switch 192.168.100.1
            net_guest_head 192.168.100.1
            net_guest_tap_steps 192.168.100.1
            if [ "$run" = net-vhost ]; then
                cat <<'GUEST'
ip addr add 192.168.101.2/24 dev eth1 && ip link set eth1 up
echo "E2E-NET-ETH1-MAC $(cat /sys/class/net/eth1/address)"
ping -c 3 -W 5 192.168.101.1 >/tmp/ping1.log 2>&1
echo "E2E-NET-ETH1-PING $?"
head -c 10485760 /tmp/guest.bin >/tmp/second.bin
echo "E2E-NET-SECOND-SUM $(sha256sum /tmp/second.bin | cut -c1-64)"
GUEST
                net_guest_transfers eth1 192.168.101.1 /tmp/second.bin
                net_guest_reload_steps 192.168.100.1
            fi
            if [ "$reboot" = yes ]; then net_guest_reboot_tail; else net_guest_tail; fi
        } >"$out/$run-guest.sh"
        if ! net_guest_initrd "$run"; then
            not_ok "$run: add-test-script.sh builds the guest's initrd"
            continue
        fi
        if ! net_tap_make kn0 192.168.100.1/24 2 >"$out/$run.tap" 2>&1 ||
           { [ "$run" = net-vhost ] && ! net_tap_make kn1 192.168.101.1/24 1 >>"$out/$run.tap" 2>&1; }; then
            sed 's/^/# /' "$out/$run.tap"
            not_ok "$run: ip tuntap makes the taps in the test host"
            continue
        fi
        net_udhcpd_start kn0 192.168.100.15 192.168.100.1
        net_servers_start "$run" 192.168.100.1 "$net_host_file"
        net_reach=192.168.100.15:7080
        if [ "$run" = net-vhost ]; then
            net_servers_start "$run" 192.168.101.1 "$out/second.bin"
            [ "$reboot" = no ] || { net_boot_server_start "$run" 192.168.100.1; boots=$((boots + 1)); }
            socat -U "TCP-LISTEN:7003,bind=192.168.100.1,reuseaddr,fork" "OPEN:$out/second.bin" \
                2>>"$out/$run.socat" &
            net_server_pids="$net_server_pids $!"
            net_watch_unload "$run" kn0 192.168.100.15 &
            watch_pid=$!
            net_boot "$run" 2 "tap,ifname=kn0,vhost=on,queues=2" "tap,ifname=kn1,vhost=off,queues=1"
            kill "$watch_pid" 2>/dev/null
            wait "$watch_pid" 2>/dev/null
        else
            net_boot "$run" 2 "tap,ifname=kn0,vhost=off,queues=2,iothreads=1"
        fi
        net_servers_stop
        ip link del kn0 2>/dev/null
        ip link del kn1 2>/dev/null
        net_common_checks "$run" 192.168.100.15/24 192.168.100.1
        net_tap_checks "$run" 192.168.100.1
        net_reach_checks "$run" "a level-1 client reaches the guest's server at 192.168.100.15"
        threads=$(cat "$out/$run.vhost-threads" 2>/dev/null)
        if [ "$vhost" = on ]; then
            check "$run: vhost=on: level 1 runs vhost workers for the VM (${threads:-none})" test "${threads:-0}" -gt 0
            check "$run: two NICs: eth1 has its own MAC" test "$(console_value "$run" E2E-NET-ETH1-MAC)" != \
                "$(console_value "$run" E2E-NET-MAC)" -a -n "$(console_value "$run" E2E-NET-ETH1-MAC)"
            check "$run: two NICs: the guest pings 192.168.101.1 over eth1" \
                test "$(console_value "$run" E2E-NET-ETH1-PING)" = 0
            second_sum=$(console_value "$run" E2E-NET-SECOND-SUM)
            check "$run: two NICs: 10 MB guest->host over eth1: the sha256 matches" test \
                "$(sed -n 1p "$out/$run-192.168.101.1.received")" = "${second_sum:-missing}"
            check "$run: two NICs: host->guest over eth1: the sha256 matches" test \
                "$(console_value "$run" E2E-NET-RECEIVED-eth1)" = "$(sha256sum "$out/second.bin" | cut -c1-64)"
            net_reload_checks "$run" 192.168.100.15/24 192.168.100.1
            if [ "$reboot" = yes ]; then
                net_reboot_checks "$run" 192.168.100.15/24 192.168.100.1
            else
                echo "# $run: no reboot under QEMU (-no-reboot)"
            fi
        else
            check "$run: vhost=off: no vhost worker in level 1" test "${threads:-x}" = 0
        fi
        net_report "$run"
    done
fi
