#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_disk.h"
#include "cli_net.h"
#include "api/api_socket.h"
#include "util/checked_math.h"

/* A bound for the parser alone; the VMM checks KVM's real limit. */
#define CLI_MAX_CPUS_PARSED 1000000u

const char *cli_usage(void)
{
    return "usage: kestrel <command> [options]\n"
           "\n"
           "commands:\n"
           "  run          boot a Linux kernel (see kestrel run --help)\n"
           "  trace-plot   plot or summarise a block I/O trace (see kestrel trace-plot --help)\n"
           "  list         the running VMs (started with --name): name, PID, state, vCPUs, memory, uptime\n"
           "  pause NAME   pause a running VM; resume NAME continues it\n"
           "  stop NAME    ask the VM to power off (ACPI power button), forced after 10 s\n"
           "  ctrl-alt-del NAME  press Ctrl-Alt-Del on the VM's keyboard (a Linux guest reboots, and kestrel\n"
           "               exits on a reboot)\n"
           "  stat NAME    live exits, device exits and virtqueue rates each second, like kvm_stat\n"
           "               (--once: one second's figures and exit; --json: as JSON)\n"
           "\n"
           "options:\n"
           "  --help, -h   show this help\n"
           "  --version    show the version\n";
}

const char *cli_run_usage(void)
{
    return "usage: kestrel run --kernel PATH [options]\n"
           "\n"
           "  --kernel PATH       Linux kernel: a bzImage, or an ELF vmlinux with a PVH entry\n"
           "  --initrd PATH       initial ramdisk\n"
           "  --cmdline STR       kernel command line (default \"" CLI_DEFAULT_CMDLINE "\")\n"
           "  --memory SIZE[,overcommit=on][,hugepages=on]  guest RAM, with a K, M, G or T suffix; a bare\n"
           "                      number is MiB (default 512M). Refused when larger than the host's MemAvailable\n"
           "                      plus free swap, unless overcommit=on (the guest may then run the host out of\n"
           "                      memory). hugepages=on: RAM from the host's hugetlbfs pool (nr_hugepages)\n"
           "  --cpus N            number of vCPUs (default 1)\n"
           "  --console KIND      serial console: stdio (default; Ctrl-A x quits), none, file:PATH\n"
           "  --kernel-entry KIND for a bzImage: auto (default: the host-decompressed, cached vmlinux through\n"
           "                      PVH when it has a PVH note, else the bzImage), bzimage, or pvh (never the bzImage)\n"
           "  --disk PATH[,KEY=VALUE...]  a virtio-blk disk on a raw image or block device; repeat for more\n"
           "                      (up to 8). Keys: readonly=on|off (off), cache=writeback|none (writeback;\n"
           "                      none is O_DIRECT), queues=N (one per vCPU, at most 64), iothreads=N (one\n"
           "                      per queue), serial=STR (up to 20 bytes, no comma), packed=on|off (on),\n"
           "                      poll_us=N (0: no polling), trace=PATH (a block I/O trace file; see kestrel\n"
           "                      trace-plot). A comma in a path is written ,, ; the image is\n"
           "                      locked: shared with readonly=on, else exclusive\n"
           "  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC][,iothreads=1]\n"
           "                      a virtio-net NIC on user-mode networking (libslirp, no root): the guest is\n"
           "                      10.0.2.15 by DHCP, the host 10.0.2.2. hostfwd (repeatable, up to 16) forwards\n"
           "                      a host port to the guest; HOSTADDR defaults to 127.0.0.1, GUESTADDR to 10.0.2.15\n"
           "  --net tap[,ifname=NAME][,vhost=on|off][,queues=N][,iothreads=N][,mac=MAC]\n"
           "                      a virtio-net NIC on a tap device: ifname (up to 15 bytes) attaches to or creates\n"
           "                      that tap (default: the kernel names a new one); vhost=on needs /dev/vhost-net\n"
           "                      (default: on when it opens); queues=N queue pairs, 1..16 (default: one per\n"
           "                      vCPU, at most 16). Each --net is one NIC, up to 8; mac=52:54:00:12:34:56 (a\n"
           "                      unicast address; default: one derived from the VM); iothreads=N (both\n"
           "                      backends): N threads serve the queue pairs, 1..pairs (default: one per pair;\n"
           "                      with vhost-net the kernel moves the frames and only the control queue's\n"
           "                      thread is kestrel's)\n"
           "  --api-sock PATH     serve the control API (HTTP on a Unix socket; docs/api.md) at PATH\n"
           "  --name NAME         name the VM: its API socket goes in the runtime directory, for kestrel list,\n"
           "                      pause, resume and stop (NAME: 1..64 of letters, digits, . _ -)\n"
           "  --on-reboot ACTION  a guest reboot (the i8042 reset line, a KVM reset event): reset (default: the VM\n"
           "                      resets and boots the kernel again) or exit (kestrel exits, status 0)\n"
           "  --stats             print KVM exit counts per reason and per device, startup time and memory at exit\n"
           "  --seccomp on|off    a system call filter per kestrel thread (docs/seccomp.md); off warns once\n"
           "  --landlock on|off   confine kestrel's file access to the VM's own files once set up (default on;\n"
           "                      off is for debugging and says so; docs/security.md)\n"
           "  --help, -h          show this help\n"
           "\n"
           "exit status: 0 guest powered off, rebooted with --on-reboot exit, or Ctrl-A x; 1 guest panic or\n"
           "error; 2 bad usage\n";
}

int cli_parse_size(const char *text, uint64_t *size)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long number = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    uint64_t multiplier;
    switch (toupper((unsigned char)end[0])) {
    case '\0':
        multiplier = 1ull << 20;
        break;
    case 'K':
        multiplier = 1ull << 10;
        break;
    case 'M':
        multiplier = 1ull << 20;
        break;
    case 'G':
        multiplier = 1ull << 30;
        break;
    case 'T':
        multiplier = 1ull << 40;
        break;
    default:
        return -1;
    }
    if (end[0] != '\0' && end[1] != '\0')
        return -1;
    return checked_mul_u64(number, multiplier, size) ? 0 : -1;
}

static int parse_cpus(const char *text, unsigned *cpus, struct error *error)
{
    if (!isdigit((unsigned char)text[0]))
        return error_set(error, EXIT_STATUS_USAGE, "--cpus: '%s' is not a number", text);
    errno = 0;
    char *end;
    unsigned long long number = strtoull(text, &end, 10);
    if (*end != '\0')
        return error_set(error, EXIT_STATUS_USAGE, "--cpus: '%s' is not a number", text);
    if (number == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--cpus must be at least 1");
    if (errno == ERANGE || number > CLI_MAX_CPUS_PARSED)
        return error_set(error, EXIT_STATUS_USAGE, "--cpus: %s vCPUs is more than any KVM supports", text);
    *cpus = (unsigned)number;
    return 0;
}

/* ",overcommit=on|off" and ",hugepages=on|off" after the size. */
static int parse_memory_options(char *options, struct vm_config *config, struct error *error)
{
    const struct {
        const char *key;
        bool *value;
    } switches[] = {{"overcommit", &config->memory_overcommit}, {"hugepages", &config->memory_huge_pages}};
    bool seen[2] = {false, false};
    char *saved = NULL;
    for (char *option = strtok_r(options, ",", &saved); option; option = strtok_r(NULL, ",", &saved)) {
        char *value = strchr(option, '=');
        unsigned i = 0;
        while (value && i < 2 &&
               ((size_t)(value - option) != strlen(switches[i].key) ||
                memcmp(option, switches[i].key, (size_t)(value - option)) != 0))
            i++;
        if (!value || i == 2)
            return error_set(error, EXIT_STATUS_USAGE,
                             "--memory: unknown option '%s' (known: overcommit=on|off, hugepages=on|off)", option);
        value++;
        if (seen[i])
            return error_set(error, EXIT_STATUS_USAGE, "--memory: %s= given twice", switches[i].key);
        seen[i] = true;
        if (strcmp(value, "on") == 0)
            *switches[i].value = true;
        else if (strcmp(value, "off") == 0)
            *switches[i].value = false;
        else
            return error_set(error, EXIT_STATUS_USAGE, "--memory: %s must be on or off, not '%s'", switches[i].key,
                             value);
    }
    return 0;
}

static int parse_memory(const char *text, struct vm_config *config, struct error *error)
{
    char copy[128];
    if (strlen(text) >= sizeof(copy))
        return error_set(error, EXIT_STATUS_USAGE, "--memory: '%.32s...' is too long", text);
    strcpy(copy, text);
    char *options = strchr(copy, ',');
    if (options) {
        *options++ = '\0';
        if (*options == '\0')
            return error_set(error, EXIT_STATUS_USAGE, "--memory: nothing after the comma");
        if (parse_memory_options(options, config, error) < 0)
            return -1;
    }
    if (cli_parse_size(copy, &config->memory_size) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "--memory: '%s' is not a size (try 512M or 2G)", copy);
    if (config->memory_size == 0)
        return error_set(error, EXIT_STATUS_USAGE, "--memory must be greater than 0");
    if (config->memory_size & 0xfff)
        return error_set(error, EXIT_STATUS_USAGE, "--memory must be a multiple of 4K");
    return 0;
}

static bool option_matches(char *argument, const char *name, char **inline_value)
{
    size_t length = strlen(name);
    if (strncmp(argument, name, length) != 0)
        return false;
    if (argument[length] == '\0') {
        *inline_value = NULL;
        return true;
    }
    if (argument[length] == '=') {
        *inline_value = argument + length + 1;
        return true;
    }
    return false;
}

static int parse_kernel_entry(const char *text, enum boot_kernel_entry *entry, struct error *error)
{
    static const struct {
        const char *name;
        enum boot_kernel_entry entry;
    } kinds[] = {
        {"auto", BOOT_KERNEL_ENTRY_AUTO},
        {"bzimage", BOOT_KERNEL_ENTRY_BZIMAGE},
        {"pvh", BOOT_KERNEL_ENTRY_PVH},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(text, kinds[i].name) == 0) {
            *entry = kinds[i].entry;
            return 0;
        }
    }
    return error_set(error, EXIT_STATUS_USAGE, "--kernel-entry: '%s' is not auto, bzimage or pvh", text);
}

static int parse_on_reboot(const char *text, bool *exit_on_reboot, struct error *error)
{
    if (strcmp(text, "reset") == 0 || strcmp(text, "exit") == 0) {
        *exit_on_reboot = strcmp(text, "exit") == 0;
        return 0;
    }
    return error_set(error, EXIT_STATUS_USAGE, "--on-reboot: '%s' is not reset or exit", text);
}

static const char *const value_options[] = {"--kernel", "--initrd",       "--cmdline", "--memory", "--cpus",
                                            "--console", "--kernel-entry", "--disk",    "--net",
                                            "--api-sock", "--name",   "--on-reboot", "--landlock", "--seccomp"};

static int parse_disk(char *text, struct vm_config *config, struct error *error)
{
    if (config->disk_count >= CLI_MAX_DISKS)
        return error_set(error, EXIT_STATUS_USAGE, "--disk: at most %u disks", CLI_MAX_DISKS);
    if (cli_disk_parse(text, &config->disks[config->disk_count], error) < 0)
        return -1;
    config->disk_count++;
    return 0;
}

static int parse_net(char *text, struct vm_config *config, struct error *error)
{
    if (config->net_count >= CLI_MAX_NETS)
        return error_set(error, EXIT_STATUS_USAGE, "--net: at most %u NICs", CLI_MAX_NETS);
    if (cli_net_parse(text, &config->nets[config->net_count], error) < 0)
        return -1;
    config->net_count++;
    return 0;
}

/* After every option: --cpus may come after --disk and --net. */
static int check_against_cpus(const struct vm_config *config, struct error *error)
{
    for (unsigned i = 0; i < config->disk_count; i++) {
        if (cli_disk_check_against_cpus(&config->disks[i], config->cpu_count, error) < 0)
            return -1;
    }
    for (unsigned i = 0; i < config->net_count; i++) {
        if (cli_net_check_against_cpus(&config->nets[i], config->cpu_count, error) < 0)
            return -1;
    }
    return 0;
}

static int parse_run(int argc, char *const argv[], int first, enum cli_command *command, struct vm_config *config,
                     struct error *error)
{
    for (int i = first; i < argc; i++) {
        char *argument = argv[i];
        char *value = NULL;
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            *command = CLI_COMMAND_RUN_HELP;
            return 0;
        }
        char *inline_value;
        if (option_matches(argument, "--stats", &inline_value)) {
            if (inline_value)
                return error_set(error, EXIT_STATUS_USAGE, "--stats takes no value");
            config->stats = true;
            continue;
        }
        const char *option = NULL;
        for (size_t j = 0; j < sizeof(value_options) / sizeof(value_options[0]); j++) {
            if (option_matches(argument, value_options[j], &inline_value)) {
                option = value_options[j];
                break;
            }
        }
        if (!option) {
            if (argument[0] == '-')
                return error_set(error, EXIT_STATUS_USAGE, "unknown option '%s' (see kestrel run --help)", argument);
            return error_set(error, EXIT_STATUS_USAGE, "unexpected argument '%s' (see kestrel run --help)",
                             argument);
        }
        if (inline_value) {
            value = inline_value;
        } else {
            if (i + 1 >= argc)
                return error_set(error, EXIT_STATUS_USAGE, "%s needs a value", option);
            value = argv[++i];
        }
        if (strcmp(option, "--kernel") == 0) {
            if (value[0] == '\0')
                return error_set(error, EXIT_STATUS_USAGE, "--kernel needs a path");
            config->kernel_path = value;
        } else if (strcmp(option, "--initrd") == 0) {
            if (value[0] == '\0')
                return error_set(error, EXIT_STATUS_USAGE, "--initrd needs a path");
            config->initrd_path = value;
        } else if (strcmp(option, "--cmdline") == 0) {
            config->cmdline = value;
        } else if (strcmp(option, "--memory") == 0) {
            if (parse_memory(value, config, error) < 0)
                return -1;
        } else if (strcmp(option, "--cpus") == 0) {
            if (parse_cpus(value, &config->cpu_count, error) < 0)
                return -1;
        } else if (strcmp(option, "--kernel-entry") == 0) {
            if (parse_kernel_entry(value, &config->kernel_entry, error) < 0)
                return -1;
        } else if (strcmp(option, "--on-reboot") == 0) {
            if (parse_on_reboot(value, &config->exit_on_reboot, error) < 0)
                return -1;
        } else if (strcmp(option, "--disk") == 0) {
            if (parse_disk(value, config, error) < 0)
                return -1;
        } else if (strcmp(option, "--net") == 0) {
            if (parse_net(value, config, error) < 0)
                return -1;
        } else if (strcmp(option, "--api-sock") == 0) {
            if (value[0] == '\0')
                return error_set(error, EXIT_STATUS_USAGE, "--api-sock needs a path");
            config->api_socket_path = value;
        } else if (strcmp(option, "--name") == 0) {
            if (api_name_check(value, error) < 0)
                return -1;
            config->name = value;
        } else if (strcmp(option, "--landlock") == 0) {
            if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
                return error_set(error, EXIT_STATUS_USAGE, "--landlock: '%s' is not on or off", value);
            config->landlock_off = strcmp(value, "off") == 0;
        } else if (strcmp(option, "--seccomp") == 0) {
            if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
                return error_set(error, EXIT_STATUS_USAGE, "--seccomp: '%s' is not on or off", value);
            config->seccomp_off = strcmp(value, "off") == 0;
        } else if (console_parse_spec(value, &config->console, error) < 0) {
            return -1;
        }
    }
    if (!config->kernel_path)
        return error_set(error, EXIT_STATUS_USAGE, "run needs --kernel PATH (see kestrel run --help)");
    if (check_against_cpus(config, error) < 0 || cli_net_check_distinct(config->nets, config->net_count, error) < 0)
        return -1;
    *command = CLI_COMMAND_RUN;
    return 0;
}

int cli_parse(int argc, char *const argv[], enum cli_command *command, struct vm_config *config,
              struct error *error)
{
    *config = (struct vm_config){
        .cmdline = CLI_DEFAULT_CMDLINE,
        .memory_size = CLI_DEFAULT_MEMORY,
        .cpu_count = CLI_DEFAULT_CPUS,
        .console = {.kind = CONSOLE_STDIO},
        .kernel_entry = BOOT_KERNEL_ENTRY_AUTO,
    };
    if (argc < 2)
        return error_set(error, EXIT_STATUS_USAGE, "no command given (see kestrel --help)");
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        *command = CLI_COMMAND_HELP;
        return 0;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "version") == 0) {
        *command = CLI_COMMAND_VERSION;
        return 0;
    }
    if (strcmp(first, "run") == 0)
        return parse_run(argc, argv, 2, command, config, error);
    if (strcmp(first, "list") == 0 || strcmp(first, "pause") == 0 || strcmp(first, "resume") == 0 ||
        strcmp(first, "stop") == 0 || strcmp(first, "stat") == 0 || strcmp(first, "ctrl-alt-del") == 0) {
        *command = CLI_COMMAND_CONTROL;
        return 0;
    }
    if (first[0] == '-')
        return error_set(error, EXIT_STATUS_USAGE, "unknown option '%s' (see kestrel --help)", first);
    return error_set(error, EXIT_STATUS_USAGE, "unknown command '%s' (see kestrel --help)", first);
}
