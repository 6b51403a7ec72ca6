# Level 1's side of a guest's network, shared by tests/e2e/net-checks.sh,
# bench/net-bench-in-l1.sh and bench/soak-in-l1.sh, and the guest's side of
# a transfer; sourced, defines functions only (POSIX sh). They
# use $out (a work directory) and add the processes they start to
# $net_server_pids, which net_servers_stop ends.

# net_tap_make NAME ADDRESS/PREFIX QUEUES: a persistent tap for the VMM to attach to by name (multi_queue
# for QUEUES above 1, vnet_hdr always), up, with level 1's address.
net_tap_make() {
    flags=vnet_hdr
    [ "$3" -le 1 ] || flags="multi_queue vnet_hdr"
    ip link del "$1" 2>/dev/null
    # shellcheck disable=SC2086 # one or two flags
    ip tuntap add dev "$1" mode tap $flags && ip addr add "$2" dev "$1" && ip link set "$1" up
}

# net_udhcpd_start TAP ADDRESS ROUTER: busybox udhcpd on level 1's side of TAP, leasing ADDRESS only.
net_udhcpd_start() {
    cat >"$out/udhcpd-$1.conf" <<CONF
start $2
end $2
max_leases 1
interface $1
lease_file $out/udhcpd-$1.leases
pidfile $out/udhcpd-$1.pid
opt subnet 255.255.255.0
opt router $3
opt dns $3
opt lease 3600
CONF
    : >"$out/udhcpd-$1.leases"
    busybox udhcpd -f "$out/udhcpd-$1.conf" >"$out/udhcpd-$1.log" 2>&1 &
    net_server_pids="${net_server_pids:-} $!"
}

net_servers_stop() {
    for pid in ${net_server_pids:-}; do kill "$pid" 2>/dev/null; done
    for pid in ${net_server_pids:-}; do wait "$pid" 2>/dev/null; done
    net_server_pids=
}

# net_servers_start RUN ADDRESS FILE: the sink (7001) and source of FILE (7002) at ADDRESS.
net_servers_start() {
    : >"$out/$1-$2.received"
    socat -u "TCP-LISTEN:7001,bind=$2,reuseaddr,fork" \
        SYSTEM:"sha256sum | cut -c1-64 >>$out/$1-$2.received" 2>>"$out/$1.socat" &
    net_server_pids="${net_server_pids:-} $!"
    socat -U "TCP-LISTEN:7002,bind=$2,reuseaddr,fork" "OPEN:$3" 2>>"$out/$1.socat" &
    net_server_pids="$net_server_pids $!"
}

# net_guest_transfers LABEL HOST FILE: the guest's side of one round (written into its /test.sh): FILE to
# HOST's sink (7001), then HOST's source (7002) to a sha256, each with its time.
net_guest_transfers() {
    cat <<GUEST
start=\$(date +%s)
net_copy send $2 7001 <$3
echo "E2E-NET-SENT-$1 \$?"
echo "E2E-NET-TIME-$1 guest-to-host \$((\$(date +%s) - start)) s"
start=\$(date +%s)
echo "E2E-NET-RECEIVED-$1 \$(net_copy receive $2 7002 | sha256sum | cut -c1-64)"
echo "E2E-NET-TIME-$1 host-to-guest \$((\$(date +%s) - start)) s"
GUEST
}
