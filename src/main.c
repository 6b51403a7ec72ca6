#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trace_plot_command.h"
#include "control.h"
#include "util/error.h"
#include "util/log.h"
#include "util/startup_clock.h"
#include "vmm.h"

int main(int argc, char *argv[])
{
    /* First of all: --stats reports the first KVM_RUN relative to this when no launcher gave an exec time. */
    uint64_t main_ns = startup_clock_now_ns();
    /* A command of its own, with its own arguments: it reads a trace file and never starts a VM. */
    if (argc >= 2 && strcmp(argv[1], "trace-plot") == 0)
        return trace_plot_command(argc - 1, argv + 1);
    enum cli_command command;
    static struct vm_config config;
    struct error error = {0};
    if (cli_parse(argc, argv, &command, &config, &error) < 0) {
        log_error("%s", error.message);
        return error.exit_status;
    }
    switch (command) {
    case CLI_COMMAND_HELP:
        fputs(cli_usage(), stdout);
        return EXIT_STATUS_OK;
    case CLI_COMMAND_RUN_HELP:
        fputs(cli_run_usage(), stdout);
        return EXIT_STATUS_OK;
    case CLI_COMMAND_VERSION:
        printf("kestrel %s\n", KESTREL_VERSION);
        return EXIT_STATUS_OK;
    case CLI_COMMAND_CONTROL:
        return control_main(argc, argv);
    case CLI_COMMAND_RUN:
        break;
    }
    struct startup_origin origin;
    if (startup_origin_resolve(main_ns, config.stats ? getenv(STARTUP_EXEC_TIME_VARIABLE) : NULL, &origin,
                               &error) < 0) {
        log_error("%s", error.message);
        return error.exit_status;
    }
    return vmm_run(&config, &origin);
}
