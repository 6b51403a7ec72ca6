# Inner part of bench/startup-phases.sh (POSIX sh; natively or in the test host):
#   sh startup-phases-run.sh LAUNCHER KESTREL KERNEL INITRD RUNS CPUS STOP_MS [KESTREL_OPTIONS]
# (KESTREL_OPTIONS: extra words for `kestrel run`, e.g. "--kernel-entry bzimage").
# RUNS times (after one unrecorded warm-up run): kestrel run under
# `strace -f -ttt -T`, started by LAUNCHER (bench/exec_launcher, which sets
# KESTREL_EXEC_TIME_NS) and stopped with SIGTERM after STOP_MS (--stats is
# printed at any stop). Prints for each run:
#   PHASE <run> <phase> <ms>      the time between two syscalls that bound the phase
#   CALL <run> <ioctl> <ms>       strace -T duration of a VM-setup ioctl
#   STARTUP <run> <ms>            kestrel's own --stats figure (exec -> first KVM_RUN) under strace
#   PLAIN <run> <ms>              the same figure in the next run, without strace
# The phase boundaries are the first syscalls, in order, matching:
#   execve                           -> exec -> guest RAM mmap: dynamic loading, libc, arguments
#   mmap(... MAP_NORESERVE)          -> guest RAM reservation (mmap, madvise) until /dev/kvm
#   openat "/dev/kvm"                -> /dev/kvm checks (API version, capabilities)
#   openat KERNEL                    -> read the kernel file
#   openat INITRD                    -> read the initrd file
#   the close() after that           -> load the images into guest RAM (copy, first touch), free buffers
#   KVM_GET_SUPPORTED_CPUID          -> supported CPUID and MSR lists
#   KVM_CREATE_VM                    -> VM, identity map/TSS, in-kernel irqchip and PIT
#   KVM_SET_USER_MEMORY_REGION       -> the memory slot
#   the next syscall                 -> devices, signal and stop plumbing
#   KVM_CREATE_VCPU                  -> vCPU creation and register setup, thread start
#   the first KVM_RUN                   (end)
launcher=$1 kestrel=$2 kernel=$3 initrd=$4 runs=$5 cpus=$6 stop_ms=$7 options=${8:-}
work=$(mktemp -d /tmp/startup-phases.XXXXXX)
plain_run() {  # prints kestrel's --stats startup figure of one run without strace
    "$launcher" --term-after "$stop_ms" -- "$kestrel" run $options --kernel "$kernel" --initrd "$initrd" --memory 512M --cpus "$cpus" \
        --console none --stats </dev/null >/dev/null 2>"$work/plain.err"
    sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$work/plain.err"
}
run=0
while [ "$run" -le "$runs" ]; do
    strace -f -ttt -T -o "$work/trace" "$launcher" --term-after "$stop_ms" -- "$kestrel" run $options --kernel "$kernel" --initrd "$initrd" \
        --memory 512M --cpus "$cpus" --console none --stats </dev/null >/dev/null 2>"$work/stats.err"
    if [ "$run" -gt 0 ]; then
        startup=$(sed -n 's/^startup: first KVM_RUN \([0-9.]*\) ms after exec$/\1/p' "$work/stats.err")
        echo "STARTUP $run ${startup:--}"
        # Say why a traced run gave no figure (strace missing, stopped before the first KVM_RUN, ...).
        [ -n "$startup" ] || echo "NOTE $run: $(tail -n 2 "$work/stats.err" | tr '\n' ' ' | cut -c1-200) (trace: $(wc -l <"$work/trace" 2>/dev/null || echo no) lines)"
        plain=$(plain_run)
        echo "PLAIN $run ${plain:--}"
        # strace follows the launcher too: only kestrel's process and threads count,
        # from its execve on.
        awk -v run="$run" -v kestrel="$kestrel" -v kernel="$kernel" -v initrd="$initrd" '
            BEGIN {
                n = split("execve(|MAP_NORESERVE|\"/dev/kvm\"|\"" kernel "\"|\"" initrd "\"|close(|KVM_GET_SUPPORTED_CPUID|KVM_CREATE_VM|KVM_SET_USER_MEMORY_REGION|.|KVM_CREATE_VCPU|KVM_RUN", pattern, "|")
                split("exec -> guest RAM mmap (dynamic loading, libc, arguments)|guest RAM reservation (mmap, madvise)|/dev/kvm open and capability checks|read the kernel file|read the initrd file|load the images into guest RAM, free the buffers|supported CPUID and MSR lists|VM, identity map, TSS, irqchip, PIT|KVM_SET_USER_MEMORY_REGION|devices, signal and stop plumbing|vCPU creation and setup, thread start", label, "|")
                next_boundary = 1
                timed = "KVM_CREATE_VM KVM_CREATE_IRQCHIP KVM_CREATE_PIT2 KVM_SET_USER_MEMORY_REGION KVM_CREATE_VCPU KVM_SET_CPUID2"
            }
            # strace follows the launcher too: kestrel counts from its execve on.
            !started && index($0, "execve(\"" kestrel "\"") { started = 1; ours[$1] = 1 }
            !started || !($1 in ours) { next }
            /clone3?\(|clone3? resumed>/ && match($0, /= [0-9]+ <[0-9.]+>$/) { split(substr($0, RSTART + 2), words, " "); ours[words[1]] = 1 }
            {
                pid = $1
                if (index($0, "resumed>")) {
                    # A call another thread interrupted: its name is on the "unfinished" line.
                    name = pending[pid]; delete pending[pid]
                } else {
                    name = ""
                    if (match($0, /KVM_[A-Z0-9_]+/)) name = substr($0, RSTART, RLENGTH)
                    if (next_boundary <= n && (pattern[next_boundary] == "." || index($0, pattern[next_boundary]) > 0))
                        at[next_boundary++] = $2
                    if (index($0, "<unfinished ...>")) { pending[pid] = name; next }
                }
                if (name != "" && index(" " timed " ", " " name " ") && match($0, /<[0-9.]+>$/))
                    printf "CALL %s %s %.3f\n", run, name, substr($0, RSTART + 1, RLENGTH - 2) * 1000
            }
            END {
                for (b = 1; b < n; b++)
                    if ((b in at) && ((b + 1) in at)) printf "PHASE %s %d %.3f %s\n", run, b, (at[b + 1] - at[b]) * 1000, label[b]
                if ((1 in at) && (n in at)) printf "PHASE %s %d %.3f %s\n", run, n, (at[n] - at[1]) * 1000, "exec -> first KVM_RUN (under strace)"
            }' "$work/trace"
    fi
    run=$((run + 1))
done
rm -rf "$work"
