#include <stdio.h>

#include "cli.h"
#include "util/error.h"
#include "util/log.h"
#include "vmm.h"

int main(int argc, char *argv[])
{
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
    case CLI_COMMAND_RUN:
        break;
    }
    return vmm_run(&config);
}
