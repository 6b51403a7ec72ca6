# Sourced by tests/e2e/run.sh (its expect_failure, ok, not_ok, note, $work, $vmlinuz, $initrd, $KESTREL):
# --memory against the host: the guest's physical address width, MemAvailable plus free swap (overcommit=on),
# what a process can map, and hugepages=on against the host's hugetlbfs pool.
expect_failure "usage: --memory beyond the guest's physical address width" 2 "physical address space" \
    run --kernel "$vmlinuz" --memory 100000T,overcommit=on
# More than MemAvailable plus free swap by 3-4 GiB (room for the host to free some meanwhile): refused
# unless overcommit=on, which then goes on to the next check.
backable_gib=$(awk '/^MemAvailable:/ {a = $2} /^SwapFree:/ {s = $2} END {print int((a + s) / 1048576) + 4}' /proc/meminfo)
expect_failure "usage: --memory beyond what the host can back" 2 "more than this host can back now" \
    run --kernel "$vmlinuz" --memory "${backable_gib}G"
expect_failure "usage: --memory beyond the host with overcommit=on is let through" 2 "cannot open kernel" \
    run --kernel /nonexistent/bzImage --memory "${backable_gib}G,overcommit=on"
expect_failure "usage: --memory with an unknown option" 2 "unknown option 'huge=1'" \
    run --kernel "$vmlinuz" --memory 512M,huge=1
physical_bits=$(awk '/^address sizes/ {print $4; exit}' /proc/cpuinfo)
if [ "${physical_bits:-0}" -ge 48 ]; then
    # Inside a 48-bit guest address space, but beyond the 128 TiB a process can map.
    expect_failure "usage: --memory beyond what the host can map" 2 "cannot map" \
        run --kernel "$vmlinuz" --memory 200T,overcommit=on
else
    ok "usage: --memory beyond what the host can map # SKIP few-address-bits: the host has ${physical_bits:-?}"
fi

# hugepages=on: the default pool's free, unreserved pages decide, whatever MemAvailable says.
huge_page_kib=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
huge_pages_usable() { awk '/^HugePages_Free:/ {f = $2} /^HugePages_Rsvd:/ {r = $2} END {print f - r}' /proc/meminfo; }
if [ -z "$huge_page_kib" ]; then
    not_ok "hugepages=on: /proc/meminfo has no Hugepagesize (a kernel without hugetlbfs)"
else
    short_kib=$((($(huge_pages_usable) + 64) * huge_page_kib))
    expect_failure "usage: --memory ...,hugepages=on beyond the free huge pages" 2 "raise /proc/sys/vm/nr_hugepages" \
        run --kernel "$vmlinuz" --memory "${short_kib}K,hugepages=on"
    expect_failure "usage: --memory ...,hugepages=on not a whole number of huge pages" 2 "not a multiple" \
        run --kernel "$vmlinuz" --memory "$((huge_page_kib + 4))K,hugepages=on"
fi
# A real run from the pool: natively, where the PVM override lets kestrel map RAM and run vCPUs (the guest
# never boots there), as root so the test can grow the pool by 64 pages for the run and shrink it back.
if [ ! -d /sys/module/kvm_pvm ]; then
    ok "hugepages=on: guest RAM from the pool # SKIP not-pvm: the native run needs the PVM override"
elif [ "$(id -u)" -ne 0 ]; then
    ok "hugepages=on: guest RAM from the pool # SKIP not-root: only root can grow /proc/sys/vm/nr_hugepages"
elif [ "$have_guest" = 0 ] || [ -z "$huge_page_kib" ]; then
    not_ok "hugepages=on: guest RAM from the pool (no guest kernel or no hugetlbfs)"
else
    pool_before=$(cat /proc/sys/vm/nr_hugepages)
    usable_before=$(huge_pages_usable)
    echo $((pool_before + 64)) >/proc/sys/vm/nr_hugepages
    usable_grown=$(huge_pages_usable)
    guest_kib=$((64 * huge_page_kib))
    if [ "$usable_grown" -lt $((usable_before + 64)) ]; then
        not_ok "hugepages=on: the pool grew by 64 pages (only $((usable_grown - usable_before)); memory too fragmented?)"
    else
        KESTREL_ALLOW_PVM=1 timeout --preserve-status -s TERM 2 "$KESTREL" run --kernel "$vmlinuz" --initrd "$initrd" \
            --console none --stats --memory "${guest_kib}K,hugepages=on" </dev/null >"$work/stdout" 2>"$work/stderr" &
        runner=$!
        sleep 1
        usable_during=$(huge_pages_usable)
        wait "$runner"
        status=$?
        usable_after=$(huge_pages_usable)
        # The mapping reserves (or takes) all 64 pages at once, and gives them back at exit.
        if [ "$status" -eq 1 ] && [ "$usable_during" -eq "$usable_before" ] && [ "$usable_after" -eq "$usable_grown" ]; then
            ok "hugepages=on: $guest_kib KiB of guest RAM came from the pool and went back at exit"
        else
            not_ok "hugepages=on: status $status, usable pages $usable_grown before, $usable_during during, $usable_after after"
        fi
        if grep -qE '^memory: RSS [0-9]+ KiB = guest RAM touched [1-9][0-9]* KiB \+ VMM overhead [0-9]+ KiB$' \
                "$work/stderr"; then
            ok "hugepages=on: --stats counts the huge pages the guest touched (smaps' Private_Hugetlb)"
        else
            not_ok "hugepages=on: --stats' memory line"
        fi
        note <"$work/stderr"
    fi
    echo "$pool_before" >/proc/sys/vm/nr_hugepages
fi
