#ifndef KESTREL_CLI_H
#define KESTREL_CLI_H

/*
 * The command line:
 *   kestrel --help | --version
 *   kestrel run --kernel PATH [--initrd PATH] [--cmdline STR] [--memory SIZE[,overcommit=on][,hugepages=on]]
 *               [--cpus N] [--console stdio|none|file:PATH] [--stats]
 *               [--kernel-entry auto|bzimage|pvh] [--disk PATH[,key=value...]]...
 *               [--net user|tap[,key=value...]]... [--landlock on|off] [--seccomp on|off]
 *
 * A pure parser: it checks syntax and ranges that need no host knowledge.
 * Files, the host's memory and KVM's vCPU limit are checked by the VMM.
 * Every error is one line in `error` with EXIT_STATUS_USAGE.
 */

#include <stdbool.h>
#include <stdint.h>

#include "backends/disk_image.h"
#include "backends/net_backend.h"
#include "boot/boot.h"
#include "devices/console.h"
#include "util/error.h"

enum cli_command {
    CLI_COMMAND_RUN,
    CLI_COMMAND_HELP,     /* kestrel --help */
    CLI_COMMAND_RUN_HELP, /* kestrel run --help */
    CLI_COMMAND_VERSION,
    CLI_COMMAND_CONTROL, /* kestrel list | pause|resume|stop NAME: a client of a running kestrel (control.c) */
};

#define CLI_DEFAULT_MEMORY   (512ull << 20)
#define CLI_DEFAULT_CPUS     1u
#define CLI_DEFAULT_CMDLINE  "console=ttyS0"

/*
 * One --disk PATH[,readonly=on|off][,cache=none|writeback][,queues=N][,iothreads=N]
 * [,serial=STR][,packed=on|off][,poll_us=N][,trace=PATH]: a virtio-blk device.
 * A comma in PATH (either) is written ",,"; a serial cannot hold one.
 */
#define CLI_MAX_DISKS 8
#define CLI_DISK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES: GET_ID answers at most this many bytes */
/*
 * VIRTIO_PCI_MAX_QUEUES, the transport's limit (one ioeventfd per queue),
 * repeated here because the parser sits above the virtio layer and must not
 * include it; vmm.c asserts that the two are equal.
 */
#define CLI_DISK_MAX_QUEUES 64u
#define CLI_DISK_MAX_POLL_US 1000000u /* a second: past that polling is only burning a core */

struct disk_spec {
    const char *path;
    bool read_only;
    enum disk_cache_mode cache; /* default DISK_CACHE_WRITEBACK */
    unsigned queues;            /* 0: one per vCPU */
    unsigned io_threads;        /* 0: one per queue */
    const char *serial;         /* NULL: none; at most CLI_DISK_SERIAL_MAX bytes */
    bool packed;                /* offer VIRTIO_F_RING_PACKED; default true */
    unsigned poll_us;           /* adaptive polling of the queues before re-enabling kicks; 0: off */
    const char *trace_path;     /* trace=PATH: a block I/O trace (docs/trace-format.md); NULL: none */
};

/*
 * One --net user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC]
 * or --net tap[,ifname=NAME][,vhost=on|off][,queues=N][,mac=MAC] (both also
 * [,iothreads=N]): a virtio-net device (docs/virtio-net.md). hostfwd may repeat; HOSTADDR defaults to
 * 127.0.0.1 (not every address: a forwarded port is reachable by whoever can
 * reach that address), GUESTADDR to the guest's DHCP address 10.0.2.15.
 */
#define CLI_MAX_NETS 8
#define CLI_NET_MAX_HOSTFWDS 16
#define CLI_NET_MAX_QUEUE_PAIRS 16u /* 2 * 16 + the control queue: within the transport's 64 queues */
#define CLI_NET_IFNAME_MAX 15       /* IFNAMSIZ - 1 */

enum net_backend_kind {
    NET_BACKEND_USER, /* libslirp, no root */
    NET_BACKEND_TAP,
};

enum net_vhost_mode {
    NET_VHOST_AUTO, /* on when /dev/vhost-net opens, else user space (one line says so) */
    NET_VHOST_ON,   /* required: an error when unavailable */
    NET_VHOST_OFF,
};

struct net_spec {
    enum net_backend_kind backend;
    const char *ifname;     /* tap: NULL lets the kernel name it; at most CLI_NET_IFNAME_MAX bytes */
    enum net_vhost_mode vhost; /* tap only */
    unsigned queue_pairs;   /* tap only; 0: one per vCPU (at most CLI_NET_MAX_QUEUE_PAIRS) */
    unsigned io_threads;    /* 0: one per queue pair; else 1 .. the pairs (pair i on thread i mod N) */
    bool mac_given;
    uint8_t mac[6];         /* unicast and not all zero when given */
    struct net_hostfwd hostfwds[CLI_NET_MAX_HOSTFWDS]; /* user only (net_backend.h) */
    unsigned hostfwd_count;
};

struct vm_config {
    const char *kernel_path;
    const char *initrd_path; /* NULL: none */
    const char *cmdline;
    uint64_t memory_size;
    bool memory_overcommit; /* --memory SIZE,overcommit=on: no check against the host's free memory */
    bool memory_huge_pages; /* --memory SIZE,hugepages=on: RAM from the host's default hugetlbfs pool */
    unsigned cpu_count;
    struct console_spec console;
    bool stats;
    bool seccomp_off; /* --seccomp off: no system call filters (docs/seccomp.md); default on */
    enum boot_kernel_entry kernel_entry;
    bool exit_on_reboot; /* --on-reboot exit: a guest reboot ends kestrel (status 0) rather than resetting the VM */
    struct disk_spec disks[CLI_MAX_DISKS];
    unsigned disk_count;
    struct net_spec nets[CLI_MAX_NETS];
    unsigned net_count;
    /* The control API (docs/api.md): --api-sock PATH, or --name NAME (the socket in the runtime directory). */
    const char *api_socket_path;
    const char *name;
    bool landlock_off; /* --landlock off: no Landlock sandbox (debugging; a warning says so) */
};

/*
 * Pointers in `config` point into argv. A --disk or --net value is split in
 * place (its separating commas become NULs), so argv's strings must be
 * writable, as main's are.
 */
int cli_parse(int argc, char *const argv[], enum cli_command *command, struct vm_config *config,
              struct error *error);

/*
 * "512M", "2G", "4096K", "1T", or a bare number of MiB (as QEMU's -m);
 * suffixes are binary and case-insensitive. 0 on success, -1 when `text`
 * is not a size or overflows 64 bits.
 */
int cli_parse_size(const char *text, uint64_t *size);

const char *cli_usage(void);
const char *cli_run_usage(void);

#endif
