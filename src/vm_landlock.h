#ifndef KESTREL_VM_LANDLOCK_H
#define KESTREL_VM_LANDLOCK_H

/*
 * Landlock for one VM (docs/security.md): applied on the main thread once
 * the input is checked and loaded and before the first thread starts, so
 * every thread kestrel runs is confined. Afterwards kestrel can open only:
 * the kernel and initrd (read: a reboot loads them again), the kernel cache
 * directory (a reboot reads its entry, and may rebuild it), the disk images
 * (as opened), the console file (write), /dev/kvm, the trace files'
 * directories (a trace is published by a rename and a failed one unlinked),
 * the API socket's directory (the socket is unlinked at exit) and, with
 * --net user, /etc/resolv.conf (libslirp reads it to answer the guest's
 * DNS). TCP bind and connect are refused too unless a --net user NIC needs
 * them. Everything else is refused with EACCES.
 */

#include <stdio.h>

#include "cli.h"
#include "sandbox/landlock.h"

enum vm_landlock_state {
    VM_LANDLOCK_OFF,         /* --landlock off */
    VM_LANDLOCK_UNAVAILABLE, /* the kernel has none, or it is disabled */
    VM_LANDLOCK_ON,
};

struct vm_landlock {
    enum vm_landlock_state state;
    int abi;
    int unavailable_errno;
    char state_text[48]; /* "ABI 4, on", "not available (ENOSYS)", "off (--landlock off)": --stats and GET /stats */
    struct landlock_sandbox sandbox; /* its rules' paths held while the VM lives (landlock.h says why) */
};

/*
 * api_socket_path: the API socket kestrel listens on, or NULL. Once per process: the sandbox is the process's
 * (a reboot keeps it), and a second call would stack another one.
 */
int vm_landlock_apply(const struct vm_config *config, const char *api_socket_path, struct vm_landlock *landlock,
                      struct error *error);

/* Lets go of the held paths, at exit; the sandbox itself cannot be lifted. */
void vm_landlock_close(struct vm_landlock *landlock);

/* One line for --stats: "landlock: " and state_text. */
void vm_landlock_print(const struct vm_landlock *landlock, FILE *out);

#endif
