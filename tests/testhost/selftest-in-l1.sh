# Runs inside L1 (see selftest.sh): sh selftest-in-l1.sh VMLINUZ INITRD
vmlinuz=$1
initrd=$2
failed=0
check() {  # check DESCRIPTION COMMAND...
    description=$1; shift
    if "$@"; then echo "ok - $description"; else echo "not ok - $description"; failed=1; fi
}

check "/dev/kvm is a character device in L1" test -c /dev/kvm
ls -l /dev/kvm | sed 's/^/# /'
check "/dev/net/tun and /dev/vhost-net exist in L1" test -c /dev/net/tun -a -c /dev/vhost-net

start=$(date +%s.%N)
timeout 180 qemu-system-x86_64 -enable-kvm -M pc -cpu host -m 512 -nographic -nodefaults \
    -serial stdio -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
    -append 'console=ttyS0 panic=-1 quiet' </dev/null >/tmp/guest.log 2>&1
status=$?
end=$(date +%s.%N)
tr -d '\r' </tmp/guest.log >/tmp/guest.txt
sed 's/^/# guest: /' /tmp/guest.txt
echo "# L2 boot to power-off: $(echo "$end - $start" | awk '{ print $1 - $3 }' 2>/dev/null || echo '?')s"

check "QEMU (KVM) in L1 exited normally" test "$status" -eq 0
check "the guest init printed KESTREL-GUEST-INIT" grep -q 'KESTREL-GUEST-INIT' /tmp/guest.txt
check "the guest ran /test.sh and reported nproc 1" grep -q '^SELFTEST-NPROC 1$' /tmp/guest.txt
check "the guest reported a date" grep -qE '^SELFTEST-DATE 20[0-9][0-9]-' /tmp/guest.txt
check "the guest powered off after /test.sh" grep -q '^SELFTEST-GUEST-DONE' /tmp/guest.txt
exit $failed
